package packer

import (
	"bytes"
	"errors"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/scratchpack/scratchpack/layercache"
)

// ociImage is an OCI image of one layer of each media type of mts.
func ociImage(t *testing.T, mts ...types.MediaType) v1.Image {
	t.Helper()
	var adds []mutate.Addendum
	for _, mt := range mts {
		l, err := random.Layer(512, mt)
		if err != nil {
			t.Fatal(err)
		}
		adds = append(adds, mutate.Addendum{Layer: l, MediaType: mt})
	}
	img, err := mutate.Append(mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON), adds...)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestInFormatV2S2(t *testing.T) {
	img := ociImage(t, types.OCILayer, types.OCIUncompressedLayer)
	got, err := inFormat(img, FormatV2S2)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(got); err != nil {
		t.Fatalf("validate.Image: %v", err)
	}
	m, err := got.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.MediaType != types.DockerManifestSchema2 || m.Config.MediaType != types.DockerConfigJSON ||
		len(m.Layers) != 2 || m.Layers[0].MediaType != types.DockerLayer || m.Layers[1].MediaType != types.DockerUncompressedLayer {
		t.Errorf("manifest %+v, want v2s2 with a gzip and an uncompressed layer", m)
	}
	// The same configuration and layer blobs.
	wantCfg, _ := img.RawConfigFile()
	gotCfg, _ := got.RawConfigFile()
	if !bytes.Equal(wantCfg, gotCfg) {
		t.Errorf("configuration changed:\n%s\n%s", wantCfg, gotCfg)
	}
	om, _ := img.Manifest()
	for i := range om.Layers {
		if om.Layers[i].Digest != m.Layers[i].Digest {
			t.Errorf("layer %d: %s, want %s", i, m.Layers[i].Digest, om.Layers[i].Digest)
		}
	}
	if same, _ := inFormat(img, FormatOCI); same != img {
		t.Error("FormatOCI changed the image")
	}
	if _, err := inFormat(ociImage(t, types.OCILayerZStd), FormatV2S2); !errors.Is(err, ErrFormat) {
		t.Errorf("a zstd layer in v2s2: %v, want ErrFormat", err)
	}
}

func TestFormatValidate(t *testing.T) {
	err := Spec{Program: "p", Format: FormatV2S2, Compression: layercache.Zstd}.Validate()
	if ses := SpecErrors(err); len(ses) != 1 || ses[0].Field != "Format" {
		t.Errorf("v2s2 with zstd: %v, want one error of Format", err)
	}
	if err := (Spec{Program: "p", Format: FormatV2S2}).Validate(); err != nil {
		t.Errorf("v2s2 with gzip: %v", err)
	}
	if _, err := ParseFormat("v2s1"); !errors.Is(err, ErrFormat) {
		t.Errorf("ParseFormat(v2s1): %v, want ErrFormat", err)
	}
}
