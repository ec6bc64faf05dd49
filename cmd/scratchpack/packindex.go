package main

import (
	"github.com/scratchpack/scratchpack/release"
	"github.com/scratchpack/scratchpack/transfer"
)

// packIndexResult is pack --json for an index.
type packIndexResult struct {
	Digest       string       `json:"digest"`
	MediaType    string       `json:"media_type"`
	Destinations []string     `json:"destinations"`
	Manifests    []packResult `json:"manifests"` // one per platform, digest the image's
}

func packIndexJSON(res *release.Result, dsts []transfer.Ref) packIndexResult {
	out := packIndexResult{Digest: res.Digest.String(), Destinations: []string{}, Manifests: []packResult{}}
	if mt, err := res.Index.MediaType(); err == nil {
		out.MediaType = string(mt)
	}
	for _, d := range dsts {
		out.Destinations = append(out.Destinations, d.String())
	}
	for _, r := range res.Builds {
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
