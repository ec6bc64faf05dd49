package packer

import (
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// blobFiler is a layer whose blob is a whole file (fileLayer).
type blobFiler interface {
	blobFile() string
}

// linkBlobs hard-links into the OCI layout dir the blobs of a's layers that
// are files already (written by WriteLayer, or in the cache), so that
// layout's writer, which skips blobs present with the right size, does not
// copy them. Where a link cannot be made (another file system) the writer
// copies, as it would have.
func linkBlobs(dir string, a mutate.Appendable) {
	var layers []v1.Layer
	collectLayers(a, &layers, 0)
	for _, l := range layers {
		bf, ok := l.(blobFiler)
		if !ok {
			continue
		}
		h, err := l.Digest()
		if err != nil {
			continue
		}
		to := filepath.Join(dir, "blobs", h.Algorithm, h.Hex)
		if os.MkdirAll(filepath.Dir(to), 0o777) == nil {
			_ = os.Link(bf.blobFile(), to)
		}
	}
}

// collectLayers appends the layers of an image, or of every image of an
// index, to out.
func collectLayers(a mutate.Appendable, out *[]v1.Layer, depth int) {
	switch a := a.(type) {
	case v1.Image:
		ls, err := a.Layers()
		if err == nil {
			*out = append(*out, ls...)
		}
	case v1.ImageIndex:
		if depth > 8 {
			return
		}
		im, err := a.IndexManifest()
		if err != nil {
			return
		}
		for _, d := range im.Manifests {
			switch {
			case d.MediaType.IsImage():
				if img, err := a.Image(d.Digest); err == nil {
					collectLayers(img, out, depth+1)
				}
			case d.MediaType.IsIndex():
				if idx, err := a.ImageIndex(d.Digest); err == nil {
					collectLayers(idx, out, depth+1)
				}
			}
		}
	}
}
