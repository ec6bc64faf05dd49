package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Annotation keys that name an image inside a layout or archive.
const (
	annotationRefName        = "org.opencontainers.image.ref.name"
	annotationContainerdName = "io.containerd.image.name"
)

// LoadBase returns the image at ref for platform p. Scratch gives an empty
// image whose config has p's OS, architecture and variant. An index (in a
// registry, layout or archive) is resolved to the image for p; a single image
// whose config names another platform is a *PlatformError. Without a TAG, a
// layout or archive must hold one image, or images that differ only by
// platform. A FILE.tar is read as an OCI archive, or as a `docker save` tar
// when it has no index.json. Images from layouts and archives read their
// blobs lazily: the files must stay in place while the image is used.
func LoadBase(ctx context.Context, ref Ref, p v1.Platform, opts ...Option) (v1.Image, error) {
	return loadBaseAs(ctx, ref, p, func(v1.Image) v1.Image { return nil }, opts...)
}

// loadBaseAs is LoadBase, whose image's verifiedImage is verified(img) if
// that is not nil (one made while the image was loaded).
func loadBaseAs(ctx context.Context, ref Ref, p v1.Platform, verified func(v1.Image) v1.Image, opts ...Option) (v1.Image, error) {
	o, err := makeOptions(opts...)
	if err != nil {
		return nil, err
	}
	if p.OS == "" {
		p.OS = "linux"
	}
	if p.Architecture == "" {
		return nil, fmt.Errorf("reading image %s: platform %s has no architecture", ref, p)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	img, err := loadBase(ctx, ref, p, o)
	if err == nil && ref.Transport != Scratch {
		if v := verified(img); v != nil {
			img = v
		} else {
			img, err = verifyImage(img, ref.String(), o)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("reading image %s: %w", ref, err)
	}
	return img, nil
}

func loadBase(ctx context.Context, ref Ref, p v1.Platform, o *options) (v1.Image, error) {
	switch ref.Transport {
	case Scratch:
		return scratch(p)
	case Registry:
		return loadRemote(ctx, ref, p, o)
	case OCI:
		root, err := layoutIndex(ref.Path)
		if err != nil {
			return nil, err
		}
		return fromRoot(root, annotationRefName, ref.Tag, ref.Digest, p)
	case DockerArchive:
		return loadDockerArchive(ref.Path, ref.Name, p)
	case OCIArchive, Tarball:
		root, key, val, err := openArchiveRef(ref)
		if errors.Is(err, errDockerTar) {
			return loadDockerArchive(ref.Path, ref.Name, p)
		} else if err != nil {
			return nil, err
		}
		return fromRoot(root, key, val, ref.Digest, p)
	}
	return nil, fmt.Errorf("%w: cannot read images from transport %v", ErrBadRef, ref.Transport)
}

// scratch is the empty image for p, with OCI media types.
func scratch(p v1.Platform) (v1.Image, error) {
	cf, err := empty.Image.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	cf.OSVersion, cf.OSFeatures = p.OSVersion, p.OSFeatures
	img, err := mutate.ConfigFile(empty.Image, cf)
	if err != nil {
		return nil, err
	}
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	return mutate.ConfigMediaType(img, types.OCIConfigJSON), nil
}

func loadRemote(ctx context.Context, ref Ref, p v1.Platform, o *options) (v1.Image, error) {
	n, err := o.reference(ref.Name)
	if err != nil {
		return nil, err
	}
	desc, err := remote.Get(n, o.remote(ctx, n.Context().Registry)...)
	if err != nil {
		return nil, o.registryError(n, err)
	}
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, o.registryError(n, err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return nil, err
		}
		return pickPlatform(idx, im.Manifests, p, 0)
	}
	img, err := desc.Image()
	if err != nil {
		return nil, o.registryError(n, err)
	}
	if o.chosen != nil {
		o.chosen(img)
	}
	return img, checkPlatform(img, p)
}

func loadDockerArchive(path string, n name.Reference, p v1.Platform) (v1.Image, error) {
	var tag *name.Tag
	if n != nil {
		t, ok := n.(name.Tag)
		if !ok {
			return nil, fmt.Errorf("%w: %s: a docker archive names images NAME:TAG, not by digest", ErrBadRef, n)
		}
		tag = &t
	}
	if err := checkDockerArchive(path); err != nil {
		return nil, err
	}
	a, err := openArchive(path)
	if err != nil {
		return nil, err
	}
	if img, ok, err := loadSavedImage(a, path, tag); err != nil || ok {
		if err != nil {
			return nil, err
		}
		return img, checkPlatform(img, p)
	}
	img, err := tarball.Image(func() (io.ReadCloser, error) { return os.Open(path) }, tag)
	if err != nil {
		return nil, fmt.Errorf("%s is not a docker archive holding that image (for an OCI archive use oci-archive:%s): %w", path, path, err)
	}
	return img, checkPlatform(img, p)
}

// fromRoot picks the image for p from the index.json of a layout or archive,
// among the descriptors whose annotation key is val (all when val is empty).
func fromRoot(root v1.ImageIndex, key, val, digest string, p v1.Platform) (v1.Image, error) {
	im, err := root.IndexManifest()
	if err != nil {
		return nil, err
	}
	descs, err := selectDescs(im, key, val, digest)
	if err != nil {
		return nil, err
	}
	if len(descs) == 1 {
		return pickDesc(root, descs[0], p, 0)
	}
	return pickPlatform(root, descs, p, 0)
}

// pickDesc resolves d, an image or index in idx, to the image for p.
func pickDesc(idx v1.ImageIndex, d v1.Descriptor, p v1.Platform, depth int) (v1.Image, error) {
	switch {
	case d.MediaType.IsImage():
		img, err := idx.Image(d.Digest)
		if err != nil {
			return nil, err
		}
		return img, checkPlatform(img, p)
	case d.MediaType.IsIndex():
		if depth > 4 {
			return nil, fmt.Errorf("index %s: indexes nested too deeply", d.Digest)
		}
		child, err := idx.ImageIndex(d.Digest)
		if err != nil {
			return nil, err
		}
		im, err := child.IndexManifest()
		if err != nil {
			return nil, err
		}
		return pickPlatform(child, im.Manifests, p, depth+1)
	}
	return nil, fmt.Errorf("%s has media type %q: neither an image nor an index", d.Digest, d.MediaType)
}

// pickPlatform returns the first of descs that resolves to an image for p.
func pickPlatform(idx v1.ImageIndex, descs []v1.Descriptor, p v1.Platform, depth int) (v1.Image, error) {
	perr := &PlatformError{Want: p}
	for _, d := range descs {
		if d.Platform != nil && !platformMatches(*d.Platform, p) {
			perr.add(*d.Platform)
			continue
		}
		img, err := pickDesc(idx, d, p, depth)
		var pe *PlatformError
		if errors.As(err, &pe) {
			for _, h := range pe.Have {
				perr.add(h)
			}
			continue
		}
		return img, err
	}
	return nil, perr
}

// checkPlatform fails if img's config names a platform other than p. An
// image whose config names none is taken as it is.
func checkPlatform(img v1.Image, p v1.Platform) error {
	cf, err := img.ConfigFile()
	if err != nil {
		return err
	}
	if have := cf.Platform(); have != nil && !platformMatches(*have, p) {
		return &PlatformError{Want: p, Have: []v1.Platform{*have}}
	}
	return nil
}

// PlatformError reports that an image or index has no image for a platform.
type PlatformError struct {
	Want v1.Platform   // the platform asked for
	Have []v1.Platform // the platforms found, without attestations' unknown/unknown
}

func (e *PlatformError) add(p v1.Platform) {
	if p.OS != "unknown" && !slices.ContainsFunc(e.Have, func(h v1.Platform) bool { return h.Equals(p) }) {
		e.Have = append(e.Have, p)
	}
}

func (e *PlatformError) Error() string {
	if len(e.Have) == 1 {
		return fmt.Sprintf("the image is for %s, not %s: pick a base built for %s", e.Have[0], e.Want, e.Want)
	}
	if len(e.Have) == 0 {
		return fmt.Sprintf("no image for %s (no platforms are declared)", e.Want)
	}
	have := make([]string, len(e.Have))
	for i, h := range e.Have {
		have[i] = h.String()
	}
	return fmt.Sprintf("no image for %s (it has: %s)", e.Want, strings.Join(have, ", "))
}

// platformMatches compares OS, architecture and variant, taking a missing
// arm64 variant as v8 and a missing arm variant as v7, as containerd does; an
// empty wanted variant matches any other.
func platformMatches(have, want v1.Platform) bool {
	have, want = normalize(have), normalize(want)
	return have.OS == want.OS && have.Architecture == want.Architecture &&
		(want.Variant == "" || have.Variant == want.Variant)
}

func normalize(p v1.Platform) v1.Platform {
	switch {
	case p.Architecture == "arm64" && p.Variant == "":
		p.Variant = "v8"
	case p.Architecture == "arm" && p.Variant == "":
		p.Variant = "v7"
	}
	return p
}

// containerdName is t in the form of the io.containerd.image.name annotation
// written by `docker save`: docker.io/library/busybox:latest.
func containerdName(t name.Tag) string {
	reg := t.RegistryStr()
	if reg == name.DefaultRegistry {
		reg = "docker.io"
	}
	return reg + "/" + t.RepositoryStr() + ":" + t.TagStr()
}

// LoadBaseFS is LoadBase, then OpenBase of the image with iopts, at once:
// the index of an image named by a registry manifest (not an index of
// platforms) that the cache holds (WithIndexCache) is read while the
// image's config is fetched and checked, rather than after. A base whose
// index the cache lacks has its layers read only once its platform is
// checked, as OpenBase after LoadBase does. The BaseFS is nil for scratch.
func LoadBaseFS(ctx context.Context, ref Ref, p v1.Platform, iopts []IndexOption, opts ...Option) (v1.Image, *BaseFS, error) {
	type opened struct {
		bfs *BaseFS
		err error
	}
	var raw, early v1.Image // the image chosen, and its verifiedImage
	var cached chan opened
	opts = append(opts[:len(opts):len(opts)], func(o *options) error {
		o.chosen = func(img v1.Image) {
			v, err := verifyImage(img, ref.String(), o)
			if err != nil {
				return // LoadBase fails the same way
			}
			raw, early, cached = img, v, make(chan opened, 1)
			go func() {
				bfs, err := OpenBase(ctx, v, append(iopts[:len(iopts):len(iopts)], func(o *indexOptions) { o.cacheOnly = true })...)
				cached <- opened{bfs, err}
			}()
		}
		return nil
	})
	img, err := loadBaseAs(ctx, ref, p, func(img v1.Image) v1.Image {
		if img == raw && early != nil {
			return early
		}
		return nil
	}, opts...)
	if err != nil {
		return nil, nil, err
	}
	if ls, err := img.Layers(); err != nil || len(ls) == 0 {
		return img, nil, err
	}
	if cached != nil && img == early {
		if r := <-cached; r.err != nil || r.bfs != nil {
			return img, r.bfs, r.err
		}
	}
	bfs, err := OpenBase(ctx, img, iopts...)
	return img, bfs, err
}
