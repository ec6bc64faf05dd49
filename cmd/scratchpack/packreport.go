package main

import (
	"fmt"
	"io"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/scratchpack/scratchpack/packer"
	"github.com/scratchpack/scratchpack/release"
	"github.com/scratchpack/scratchpack/transfer"
)

// printPackReport tells, on stderr, what went into the image and why.
func printPackReport(w io.Writer, res *packer.Result) {
	entries := res.Files.Entries()
	files := 0
	for _, e := range entries {
		if e.Type == packer.TypeFile {
			files++
		}
	}
	var size int64
	for _, l := range res.Layers {
		n, _ := l.Layer.Size()
		size += n
	}
	arch := res.Report.Arch
	if res.Report.Variant != "" {
		arch += "/" + res.Report.Variant
	}
	fmt.Fprintf(w, "packed %s (%s %s): %d files, %s (%s compressed)\n", res.Report.Path, res.Report.Kind, arch,
		files, sizeOf(res.Files.Size()), sizeOf(size))
	if res.Sysroot != "/" && res.Sysroot != "" {
		fmt.Fprintf(w, "  libraries from the sysroot %s\n", res.Sysroot)
	}
	printLayers(w, res.Layers)
	for _, l := range entryLines(entries) {
		fmt.Fprintln(w, l)
	}
	if len(res.FromBase) > 0 {
		fmt.Fprintf(w, "  from the base: %s\n", strings.Join(res.FromBase, ", "))
	}
	printNeeds(w, res.Needs, res.Notes)
}

// packResult is pack --json.
type packResult struct {
	Digest       string              `json:"digest"`
	ImageID      string              `json:"image_id"` // the config's digest: what Docker calls the image ID
	Destinations []string            `json:"destinations,omitempty"`
	References   []string            `json:"references,omitempty"` // the destinations, pinned by digest where they can be
	Platform     string              `json:"platform"`
	Sysroot      string              `json:"sysroot"`    // where the libraries were taken from
	Size         int64               `json:"size"`       // bytes of the files in the new layers
	ImageSize    int64               `json:"image_size"` // bytes a registry stores: compressed layers, config, manifest
	LayerSize    int64               `json:"layer_size"` // the new layers, compressed
	Layers       []layerJSON         `json:"layers"`     // the new layers, bottom first
	Files        []string            `json:"files"`
	FromBase     []string            `json:"from_base"`
	Needs        []packer.NeedStatus `json:"runtime_needs"`
	Trace        *packer.Trace       `json:"trace,omitempty"`
}

func packJSON(res *packer.Result, digest v1.Hash, dsts []transfer.Ref) packResult {
	out := packResult{Digest: digest.String(), ImageID: imageID(res.Image), Size: res.Files.Size(), Files: []string{}, FromBase: res.FromBase, Sysroot: res.Sysroot, Needs: res.Needs, Trace: res.Trace}
	if out.Needs == nil {
		out.Needs = []packer.NeedStatus{}
	}
	if out.FromBase == nil {
		out.FromBase = []string{}
	}
	for _, d := range dsts {
		out.Destinations = append(out.Destinations, d.String())
	}
	out.References = release.References(dsts, digest)
	if cf, err := res.Image.ConfigFile(); err == nil {
		out.Platform = cf.Platform().String()
	}
	out.Layers = layersJSON(res.Layers)
	for _, l := range out.Layers {
		out.LayerSize += l.Size
	}
	if m, err := res.Image.Manifest(); err == nil {
		out.ImageSize = m.Config.Size
		for _, l := range m.Layers {
			out.ImageSize += l.Size
		}
		if raw, err := res.Image.RawManifest(); err == nil {
			out.ImageSize += int64(len(raw))
		}
	}
	for _, e := range res.Files.Entries() {
		if e.Type != packer.TypeDir {
			out.Files = append(out.Files, e.Path)
		}
	}
	return out
}

// imageID is what Docker calls an image: its config's digest.
func imageID(img v1.Image) string {
	h, err := img.ConfigName()
	if err != nil {
		return ""
	}
	return h.String()
}

// onlyDaemons reports whether every destination is a Docker daemon: then
// the image ID, which docker run takes, is more use on stdout than the
// manifest digest, which no daemon knows the image by.
func onlyDaemons(dsts []transfer.Ref) bool {
	for _, d := range dsts {
		if d.Transport != transfer.DockerDaemon {
			return false
		}
	}
	return len(dsts) > 0
}

// wroteLine is the report line for a destination written.
func wroteLine(d transfer.Ref, img v1.Image) string {
	if d.Transport == transfer.DockerDaemon {
		return fmt.Sprintf("wrote %s (image ID %s)", d, imageID(img))
	}
	if d.Transport == transfer.Tarball && d.Name != nil {
		return fmt.Sprintf("wrote %s (named %s)", d, d.Name)
	}
	return "wrote " + d.String()
}
