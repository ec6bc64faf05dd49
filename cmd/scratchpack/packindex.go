package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/urfave/cli/v2"

	"github.com/scratchpack/scratchpack/packer"
	"github.com/scratchpack/scratchpack/transfer"
)

// runPackIndex builds one image per platform and writes them as one index.
func runPackIndex(c *cli.Context, specs []packer.Spec, dsts []transfer.Ref, work string, opts []transfer.Option, popts []packer.Option) error {
	for i := range specs {
		specs[i].WorkDir = work
	}
	res, err := packer.BuildIndex(c.Context, specs, popts...)
	if err != nil {
		return classify(err)
	}
	for _, r := range res.Results {
		printPackReport(c.App.ErrWriter, r)
	}
	if err := smokeIndex(c, res.Results, work); err != nil {
		return err
	}
	writeOpts, waitProgress := pushProgress(c.App.ErrWriter, dsts, opts)
	digest, err := transfer.WriteIndex(c.Context, res.Index, dsts, writeOpts...)
	waitProgress()
	if err != nil {
		return classify(err)
	}
	for _, d := range dsts {
		fmt.Fprintf(c.App.ErrWriter, "wrote %s (an index of %d platforms)\n", d, len(res.Results))
	}
	if f := c.String("sbom"); f != "" {
		files, err := writeSBOMs(c.Context, sbomJob{name: imageName(specs[0], dsts), file: f, results: res.Results, dsts: dsts, created: specs[0].Created}, opts...)
		if err != nil {
			return classify(err)
		}
		fmt.Fprintf(c.App.ErrWriter, "wrote the SBOMs %s\n", strings.Join(files, ", "))
	}
	if f := c.String("digest-file"); f != "" {
		if err := os.WriteFile(f, []byte(digest.String()+"\n"), 0o644); err != nil {
			return withCode(exitRegistry, err)
		}
	}
	if c.Bool("json") {
		return json.NewEncoder(c.App.Writer).Encode(packIndexJSON(res, digest, dsts))
	}
	fmt.Fprintln(c.App.Writer, digest)
	return nil
}

// packIndexResult is pack --json for an index.
type packIndexResult struct {
	Digest       string       `json:"digest"`
	MediaType    string       `json:"media_type"`
	Destinations []string     `json:"destinations"`
	Manifests    []packResult `json:"manifests"` // one per platform, digest the image's
}

func packIndexJSON(res *packer.IndexResult, digest v1.Hash, dsts []transfer.Ref) packIndexResult {
	out := packIndexResult{Digest: digest.String(), Destinations: []string{}, Manifests: []packResult{}}
	if mt, err := res.Index.MediaType(); err == nil {
		out.MediaType = string(mt)
	}
	for _, d := range dsts {
		out.Destinations = append(out.Destinations, d.String())
	}
	for _, r := range res.Results {
		d, err := r.Image.Digest()
		if err != nil {
			continue
		}
		m := packJSON(r, d, nil)
		m.Destinations = nil
		out.Manifests = append(out.Manifests, m)
	}
	return out
}
