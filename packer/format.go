package packer

import (
	"errors"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Format is the manifest format of the images Build and BuildIndex make.
type Format int

const (
	// FormatOCI is the OCI image manifest and index (the zero value).
	FormatOCI Format = iota
	// FormatV2S2 is Docker's image manifest v2 schema 2 and manifest list
	// (skopeo's v2s2), which some registries and older runtimes want.
	// Its layers are gzip or uncompressed tars: zstd is OCI's only.
	FormatV2S2
)

var formatNames = map[Format]string{FormatOCI: "oci", FormatV2S2: "v2s2"}

// ErrFormat is wrapped when an image cannot be written in the format asked for.
var ErrFormat = errors.New("manifest format")

func (f Format) String() string {
	if s, ok := formatNames[f]; ok {
		return s
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// ParseFormat reads a format by the names skopeo gives them: oci or v2s2.
func ParseFormat(s string) (Format, error) {
	for f, n := range formatNames {
		if n == s {
			return f, nil
		}
	}
	return 0, fmt.Errorf("%w %q: want oci or v2s2", ErrFormat, s)
}

// v2s2Layers are the Docker media types of the layer media types a v2s2
// manifest can hold.
var v2s2Layers = map[types.MediaType]types.MediaType{
	types.OCILayer:                types.DockerLayer,
	types.DockerLayer:             types.DockerLayer,
	types.OCIUncompressedLayer:    types.DockerUncompressedLayer,
	types.DockerUncompressedLayer: types.DockerUncompressedLayer,
}

// inFormat returns img in format f: for FormatV2S2, the same configuration
// and layer blobs under a Docker v2s2 manifest (manifest annotations, which
// it does not have, are dropped, as skopeo drops them).
func inFormat(img v1.Image, f Format) (v1.Image, error) {
	if f != FormatV2S2 {
		return img, nil
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	ls, err := img.Layers()
	if err != nil {
		return nil, err
	}
	adds := make([]mutate.Addendum, len(ls))
	for i, l := range ls {
		mt, ok := v2s2Layers[m.Layers[i].MediaType]
		if !ok {
			return nil, fmt.Errorf("%w: layer %d is %s, which a Docker v2s2 manifest cannot hold (gzip or uncompressed tars only); "+
				"write the OCI format, or use gzip layers", ErrFormat, i+1, m.Layers[i].MediaType)
		}
		adds[i] = mutate.Addendum{Layer: &typedLayer{Layer: l, mt: mt}, MediaType: mt}
	}
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.DockerManifestSchema2), types.DockerConfigJSON)
	out, err := mutate.Append(base, adds...)
	if err != nil {
		return nil, err
	}
	return mutate.ConfigFile(out, cf)
}

// typedLayer is a layer under another media type: the same blob.
type typedLayer struct {
	v1.Layer
	mt types.MediaType
}

var _ v1.Layer = (*typedLayer)(nil)

// MediaType implements v1.Layer.
func (l *typedLayer) MediaType() (types.MediaType, error) { return l.mt, nil }

// indexType is the media type of an index in format f.
func indexType(f Format) types.MediaType {
	if f == FormatV2S2 {
		return types.DockerManifestList
	}
	return types.OCIImageIndex
}
