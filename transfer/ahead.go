package transfer

import (
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/scratchpack/scratchpack/layercache"
)

// NewAhead is a layercache.Ahead for the destinations of dsts whose
// outputs are staged as a layout beside their path (oci:, oci-archive:,
// FILE.tar), where a base's blob is copied as it is; nil if there is none.
func NewAhead(dsts []Ref) *layercache.Ahead {
	var paths []string
	for _, d := range dsts {
		switch d.Transport {
		case OCI, OCIArchive, Tarball:
			paths = append(paths, d.Path)
		}
	}
	return layercache.NewAhead(paths...)
}

// WithCopyAhead has OpenBase copy the blobs of the base that a pass
// checks in place (uncompressed layers kept in local files: docker save
// archives, uncompressed layers of layouts) to the outputs of a: at once
// if the base's index is in the cache, else each once the pass has read
// its tar's headers, while its hash goes on (see layercache.Ahead). An
// output written WithAhead(a) takes a copy if the pass found it right.
func WithCopyAhead(a *layercache.Ahead) IndexOption {
	return func(o *indexOptions) { o.ahead = a }
}

// copyAhead starts copying those of layers to a; yield, while they are
// hashed (see layercache.Ahead.Copy).
func copyAhead(a *layercache.Ahead, layers []v1.Layer, yield bool) {
	if a == nil {
		return
	}
	for _, l := range layers {
		vl, ok := l.(*verifiedLayer)
		if !ok {
			continue
		}
		s, ok := vl.plainSection()
		if !ok {
			continue // compressed, or remote: a pass reads it through
		}
		d, err := vl.Digest()
		if err != nil {
			continue
		}
		a.Copy(d, s, yield)
	}
}

// WithAhead has local outputs take the base blobs copied ahead by a.
func WithAhead(a *layercache.Ahead) Option {
	return func(o *options) error {
		o.ahead = a
		return nil
	}
}
