package main

import (
	"fmt"
	"io"

	"github.com/scratchpack/scratchpack/packer"
)

// printLayers tells, when there is something to tell, how each new layer was
// made: taken from the cache, or rebuilt because its cache entry was corrupt.
// With one layer, written, it prints nothing.
func printLayers(w io.Writer, layers []packer.NewLayer) {
	if len(layers) == 1 && !layers[0].Cached && layers[0].Rebuilt == nil {
		return
	}
	for _, l := range layersJSON(layers) {
		how := "written"
		if l.Cached {
			how = "from the cache"
		}
		fmt.Fprintf(w, "  layer %s  %9s %s, %s: %s\n", l.Digest[:19], sizeOf(l.Size), l.MediaType, how, l.Holds)
	}
	for _, l := range layers {
		if l.Rebuilt != nil {
			fmt.Fprintf(w, "  rebuilt a corrupt cache entry: %v\n", l.Rebuilt)
		}
	}
}

// layerJSON is one new layer in pack --json.
type layerJSON struct {
	Digest           string `json:"digest"`
	DiffID           string `json:"diff_id"`
	MediaType        string `json:"media_type"`
	Size             int64  `json:"size"`              // compressed
	UncompressedSize int64  `json:"uncompressed_size"` // the tar
	Cached           bool   `json:"cached"`            // taken from the cache
	Holds            string `json:"holds"`
}

func layersJSON(layers []packer.NewLayer) []layerJSON {
	out := []layerJSON{}
	for _, l := range layers {
		d, _ := l.Layer.Digest()
		id, _ := l.Layer.DiffID()
		mt, _ := l.Layer.MediaType()
		size, _ := l.Layer.Size()
		j := layerJSON{Digest: d.String(), DiffID: id.String(), MediaType: string(mt), Size: size, Cached: l.Cached, Holds: l.Comment}
		if u, ok := l.Layer.(interface{ UncompressedSize() int64 }); ok {
			j.UncompressedSize = u.UncompressedSize()
		}
		out = append(out, j)
	}
	return out
}
