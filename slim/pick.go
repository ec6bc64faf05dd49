package slim

import (
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/scratchpack/scratchpack/transfer"
)

// srcImage is the image or index to make smaller, and where it was read.
type srcImage struct {
	a   mutate.Appendable
	ref transfer.Ref
}

// picked is one platform's image of the source.
type picked struct {
	img      v1.Image
	platform v1.Platform
	digest   v1.Hash
}

// pick returns the images of src for the platforms asked for (all of an
// index's by default; a single image must be one of them), and whether the
// result is an index: the source is one, and more than one platform is
// made from it.
func pick(src srcImage, want []v1.Platform) ([]picked, bool, error) {
	if img, ok := src.a.(v1.Image); ok {
		cf, err := img.ConfigFile()
		if err != nil {
			return nil, false, fmt.Errorf("reading the image's configuration: %w", err)
		}
		p := v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}
		if len(want) > 0 && !matchesAny(p, want) {
			return nil, false, &transfer.PlatformError{Want: want[0], Have: []v1.Platform{p}}
		}
		d, err := img.Digest()
		if err != nil {
			return nil, false, err
		}
		return []picked{{img, p, d}}, false, nil
	}
	idx, ok := src.a.(v1.ImageIndex)
	if !ok {
		return nil, false, fmt.Errorf("neither an image nor an index")
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, false, err
	}
	var out []picked
	var have []v1.Platform
	for _, d := range im.Manifests {
		if d.Platform == nil || !d.MediaType.IsImage() || d.Platform.OS == "unknown" {
			continue // attestations, nested indexes
		}
		have = append(have, *d.Platform)
		if len(want) > 0 && !matchesAny(*d.Platform, want) {
			continue
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			return nil, false, err
		}
		out = append(out, picked{img, *d.Platform, d.Digest})
	}
	if len(out) == 0 {
		w := v1.Platform{OS: "linux"}
		if len(want) > 0 {
			w = want[0]
		}
		return nil, false, &transfer.PlatformError{Want: w, Have: have}
	}
	return out, len(out) > 1, nil
}

// matchesAny reports whether p is one of want: the same OS and
// architecture, and the same variant where want names one.
func matchesAny(p v1.Platform, want []v1.Platform) bool {
	for _, w := range want {
		os := w.OS
		if os == "" {
			os = "linux"
		}
		if p.OS == os && p.Architecture == w.Architecture && (w.Variant == "" || strings.EqualFold(w.Variant, p.Variant)) {
			return true
		}
	}
	return false
}
