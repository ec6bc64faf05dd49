package transfer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// emptyConfig is the OCI 1.1 empty descriptor's content, the config of an
// artifact that has none.
var emptyConfig = []byte("{}")

// mediaTypeEmpty is the media type of emptyConfig.
const mediaTypeEmpty types.MediaType = "application/vnd.oci.empty.v1+json"

// NewArtifact returns an OCI 1.1 artifact manifest, as an image: one blob of
// mediaType (and artifactType) holding data, an empty config, and subject as
// the manifest it refers to. Pushed with its subject, it is found through the
// referrers API, or on registries without it through the sha256-HEX tag that
// go-containerregistry maintains (the OCI distribution spec's tag schema).
func NewArtifact(mediaType types.MediaType, data []byte, subject v1.Descriptor, annotations map[string]string) (v1.Image, error) {
	blob, _, err := v1.SHA256(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	cfg, _, err := v1.SHA256(bytes.NewReader(emptyConfig))
	if err != nil {
		return nil, err
	}
	subject = v1.Descriptor{MediaType: subject.MediaType, Size: subject.Size, Digest: subject.Digest}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  string(mediaType),
		Config:        v1.Descriptor{MediaType: mediaTypeEmpty, Size: int64(len(emptyConfig)), Digest: cfg},
		Layers:        []v1.Descriptor{{MediaType: mediaType, Size: int64(len(data)), Digest: blob}},
		Subject:       &subject,
		Annotations:   annotations,
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return partial.CompressedToImage(&artifact{raw: raw, data: data, layer: m.Layers[0]})
}

// artifact is the partial.CompressedImageCore of NewArtifact.
type artifact struct {
	raw   []byte
	data  []byte
	layer v1.Descriptor
}

func (a *artifact) RawManifest() ([]byte, error)        { return a.raw, nil }
func (a *artifact) RawConfigFile() ([]byte, error)      { return emptyConfig, nil }
func (a *artifact) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

func (a *artifact) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	if h != a.layer.Digest {
		return nil, fmt.Errorf("artifact has no blob %s", h)
	}
	return blobLayer{a.layer, a.data}, nil
}

// blobLayer is an artifact's blob, stored as it is.
type blobLayer struct {
	d    v1.Descriptor
	data []byte
}

func (b blobLayer) Digest() (v1.Hash, error)            { return b.d.Digest, nil }
func (b blobLayer) Size() (int64, error)                { return b.d.Size, nil }
func (b blobLayer) MediaType() (types.MediaType, error) { return b.d.MediaType, nil }
func (b blobLayer) Compressed() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(b.data)), nil
}

// Attach pushes art, an artifact made by NewArtifact, into the repository of
// every registry destination among dsts (once per repository), by digest.
// Other destinations are skipped. It returns the artifact's digest.
func Attach(ctx context.Context, art v1.Image, dsts []Ref, opts ...Option) (v1.Hash, error) {
	o, err := makeOptions(opts...)
	if err != nil {
		return v1.Hash{}, err
	}
	h, err := art.Digest()
	if err != nil {
		return v1.Hash{}, err
	}
	done := map[string]bool{}
	for _, d := range dsts {
		if d.Transport != Registry || d.Name == nil || done[d.Name.Context().Name()] {
			continue
		}
		done[d.Name.Context().Name()] = true
		n, err := o.reference(d.Name.Context().Digest(h.String()))
		if err != nil {
			return h, err
		}
		if err := remote.Write(n, art, o.remote(ctx, n.Context().Registry)...); err != nil {
			return h, fmt.Errorf("attaching %s to %s: %w", h, d, o.pushError(n, err))
		}
	}
	return h, nil
}

// Referrers lists the artifacts that refer to the manifest digest in the
// repository of ref, through the referrers API or, without it, the
// sha256-HEX tag.
func Referrers(ctx context.Context, ref Ref, digest v1.Hash, opts ...Option) ([]v1.Descriptor, error) {
	o, err := makeOptions(opts...)
	if err != nil {
		return nil, err
	}
	if ref.Transport != Registry || ref.Name == nil {
		return nil, errors.New("referrers are listed in registries only (docker://)")
	}
	n, err := o.reference(ref.Name.Context().Digest(digest.String()))
	if err != nil {
		return nil, err
	}
	idx, err := remote.Referrers(n.(name.Digest), o.remote(ctx, n.Context().Registry)...)
	if err != nil {
		return nil, o.registryError(n, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	return im.Manifests, nil
}
