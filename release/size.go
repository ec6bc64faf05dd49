package release

import (
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/scratchpack/scratchpack/packer"
	"github.com/scratchpack/scratchpack/transfer"
)

// References names what was written, pinned by digest where the transport
// can be: REGISTRY/REPO:TAG@sha256:... for registries.
func References(dsts []transfer.Ref, digest v1.Hash) []string {
	out := []string{}
	for _, d := range dsts {
		if d.Transport == transfer.Registry {
			out = append(out, strings.TrimPrefix(d.String(), "docker://")+"@"+digest.String())
		} else {
			out = append(out, d.String())
		}
	}
	return out
}

// storedSize is what a registry stores for the images (and the index):
// manifests, configs and each distinct layer once.
func storedSize(idx v1.ImageIndex, results []*packer.Result) int64 {
	var n int64
	seen := map[v1.Hash]bool{}
	if idx != nil {
		if s, err := idx.Size(); err == nil {
			n += s
		}
	}
	for _, res := range results {
		m, err := res.Image.Manifest()
		if err != nil {
			continue
		}
		if s, err := res.Image.Size(); err == nil {
			n += s
		}
		for _, d := range append([]v1.Descriptor{m.Config}, m.Layers...) {
			if !seen[d.Digest] {
				seen[d.Digest] = true
				n += d.Size
			}
		}
	}
	return n
}
