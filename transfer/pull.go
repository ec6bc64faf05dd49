package transfer

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Load returns the image or index at ref as it is, every platform of it: a
// v1.ImageIndex for a multi-platform image, else a v1.Image. A layout or
// archive without a TAG must hold one image or index. Images from layouts
// and archives read their blobs lazily: the files must stay in place while
// the result is used.
func Load(ctx context.Context, ref Ref, opts ...Option) (mutate.Appendable, error) {
	o, err := makeOptions(opts...)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	a, err := loadAll(ctx, ref, o)
	if err == nil {
		switch x := a.(type) {
		case v1.ImageIndex:
			a = newVerifiedIndex(x, ref.String(), o)
		case v1.Image:
			a, err = verifyImage(x, ref.String(), o)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", ref, err)
	}
	return a, nil
}

func loadAll(ctx context.Context, ref Ref, o *options) (mutate.Appendable, error) {
	switch ref.Transport {
	case Registry:
		n, err := o.reference(ref.Name)
		if err != nil {
			return nil, err
		}
		desc, err := remote.Get(n, o.remote(ctx, n.Context().Registry)...)
		if err != nil {
			return nil, o.registryError(n, err)
		}
		if desc.MediaType.IsIndex() {
			return desc.ImageIndex()
		}
		return desc.Image()
	case OCI:
		root, err := layoutIndex(ref.Path)
		if err != nil {
			return nil, err
		}
		return tagged(root, annotationRefName, ref.Tag, ref.Digest)
	case OCIArchive, Tarball:
		root, key, val, err := openArchiveRef(ref)
		if errors.Is(err, errDockerTar) {
			return loadDockerTar(ref)
		} else if err != nil {
			return nil, err
		}
		return tagged(root, key, val, ref.Digest)
	case DockerArchive:
		return loadDockerTar(ref)
	case Scratch:
		return nil, fmt.Errorf("%w: scratch is not an image to read", ErrBadRef)
	}
	return nil, fmt.Errorf("%w: cannot read images from transport %v", ErrBadRef, ref.Transport)
}

func loadDockerTar(ref Ref) (v1.Image, error) {
	var tag *name.Tag
	if t, ok := ref.Name.(name.Tag); ok {
		tag = &t
	}
	if err := checkDockerArchive(ref.Path); err != nil {
		return nil, err
	}
	img, err := tarball.ImageFromPath(ref.Path, tag)
	if err != nil {
		return nil, fmt.Errorf("%s is not a docker archive holding that image: %w", ref.Path, err)
	}
	return img, nil
}

// tagged returns the image or index of root that the location names (see
// selectDescs); when that is several images for distinct platforms, root
// itself is the result.
func tagged(root v1.ImageIndex, key, val, digest string) (mutate.Appendable, error) {
	im, err := root.IndexManifest()
	if err != nil {
		return nil, err
	}
	descs, err := selectDescs(im, key, val, digest)
	if err != nil {
		return nil, err
	}
	if len(descs) > 1 {
		if val != "" {
			return nil, fmt.Errorf("%w: %d images are tagged %q", ErrAmbiguous, len(descs), val)
		}
		return root, nil
	}
	d := descs[0]
	switch {
	case d.MediaType.IsIndex():
		return root.ImageIndex(d.Digest)
	case d.MediaType.IsImage():
		return root.Image(d.Digest)
	}
	return nil, fmt.Errorf("%s has media type %q: neither an image nor an index", d.Digest, d.MediaType)
}

// Copy reads the image or index at src, every platform of it, and writes it
// to dsts as Write and WriteIndex do. It is how a base image is carried to a
// machine without a network: pull it into an oci-archive: file there.
func Copy(ctx context.Context, src Ref, dsts []Ref, opts ...Option) (v1.Hash, error) {
	a, err := Load(ctx, src, opts...)
	if err != nil {
		return v1.Hash{}, err
	}
	if idx, ok := a.(v1.ImageIndex); ok {
		return WriteIndex(ctx, idx, dsts, opts...)
	}
	return Write(ctx, a.(v1.Image), dsts, opts...)
}

// CopyPlatform is Copy of one platform's image of src, as LoadBase picks
// it: what a destination that holds single images (a docker archive, a
// Docker daemon) can take from a multi-platform image.
func CopyPlatform(ctx context.Context, src Ref, p v1.Platform, dsts []Ref, opts ...Option) (v1.Hash, error) {
	img, err := LoadBase(ctx, src, p, opts...)
	if err != nil {
		return v1.Hash{}, err
	}
	return Write(ctx, img, dsts, opts...)
}
