package transfer

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/partial"
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
		img, err = verifyImage(img, ref.String(), o)
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

// archive is an uncompressed tar of an OCI layout, read in place: its
// regular files are found once, then read through sections of the file; or
// (with dir set) the layout directory path itself. Manifests, indexes and
// configs are read with caps (MaxManifestSize, MaxConfigSize), whatever
// size the files are.
type archive struct {
	path  string
	dir   bool
	files map[string][2]int64 // clean name → offset, size
}

func openArchive(file string) (*archive, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	a := &archive{path: file, files: map[string][2]int64{}}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return a, nil
		} else if err != nil {
			return nil, fmt.Errorf("%s is not an uncompressed tar (decompress it first if it is compressed): %w", file, err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		// tar.Reader reads no further than the header: the file offset is where the data starts.
		off, err := f.Seek(0, io.SeekCurrent)
		if err != nil {
			return nil, err
		}
		a.files[strings.TrimPrefix(path.Clean("/"+h.Name), "/")] = [2]int64{off, h.Size}
	}
}

func (a *archive) open(name string) (io.ReadCloser, error) {
	if a.dir {
		return os.Open(filepath.Join(a.path, filepath.FromSlash(name)))
	}
	s, ok := a.files[name]
	if !ok {
		return nil, fmt.Errorf("%s has no %s: %w", a.path, name, fs.ErrNotExist)
	}
	f, err := os.Open(a.path)
	if err != nil {
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{io.NewSectionReader(f, s[0], s[1]), f}, nil
}

func (a *archive) blob(h v1.Hash) (io.ReadCloser, error) {
	return a.open("blobs/" + h.Algorithm + "/" + h.Hex)
}

// read returns the whole of a small blob (a manifest, index or config, of
// at most max bytes), checked against h.
func (a *archive) read(h v1.Hash, what string, max int64) ([]byte, error) {
	rc, err := a.blob(h)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := readCapped(rc, max, fmt.Sprintf("%s %s in %s", what, h, a.path))
	if err != nil {
		return nil, err
	}
	if got, _, err := v1.SHA256(bytes.NewReader(b)); err != nil || got != h {
		return nil, fmt.Errorf("%w: %s: blob %s is corrupt (its digest is %s)", ErrCorruptBlob, a.path, h, got)
	}
	return b, nil
}

// readCapped reads all of r, failing with ErrTooLarge past max bytes.
func readCapped(r io.Reader, max int64, what string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%w: the %s is larger than the %d bytes scratchpack reads", ErrTooLarge, what, max)
	}
	return b, nil
}

// index returns the layout's index.json.
func (a *archive) index() (v1.ImageIndex, error) {
	rc, err := a.open("index.json")
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	raw, err := readCapped(rc, MaxManifestSize, "index.json of "+a.path)
	if err != nil {
		return nil, err
	}
	return &archiveIndex{a: a, raw: raw}, nil
}

// archiveIndex is an image index stored in an archive.
type archiveIndex struct {
	a   *archive
	raw []byte
}

var _ v1.ImageIndex = (*archiveIndex)(nil)

func (x *archiveIndex) MediaType() (types.MediaType, error) {
	im, err := x.IndexManifest()
	if err != nil || im.MediaType != "" {
		return im.MediaType, err
	}
	return types.OCIImageIndex, nil
}

func (x *archiveIndex) Digest() (v1.Hash, error)     { return partial.Digest(x) }
func (x *archiveIndex) Size() (int64, error)         { return partial.Size(x) }
func (x *archiveIndex) RawManifest() ([]byte, error) { return x.raw, nil }

func (x *archiveIndex) IndexManifest() (*v1.IndexManifest, error) {
	return v1.ParseIndexManifest(bytes.NewReader(x.raw))
}

func (x *archiveIndex) Image(h v1.Hash) (v1.Image, error) {
	raw, err := x.a.read(h, "manifest", MaxManifestSize)
	if err != nil {
		return nil, err
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	return partial.CompressedToImage(&archiveImage{a: x.a, raw: raw, m: m})
}

func (x *archiveIndex) ImageIndex(h v1.Hash) (v1.ImageIndex, error) {
	raw, err := x.a.read(h, "index", MaxManifestSize)
	if err != nil {
		return nil, err
	}
	return &archiveIndex{a: x.a, raw: raw}, nil
}

// archiveImage is the partial.CompressedImageCore of an image stored in an archive.
type archiveImage struct {
	a   *archive
	raw []byte
	m   *v1.Manifest
}

func (i *archiveImage) RawManifest() ([]byte, error) { return i.raw, nil }
func (i *archiveImage) RawConfigFile() ([]byte, error) {
	return i.a.read(i.m.Config.Digest, "config", MaxConfigSize)
}

func (i *archiveImage) MediaType() (types.MediaType, error) {
	if i.m.MediaType != "" {
		return i.m.MediaType, nil
	}
	return types.OCIManifestSchema1, nil
}

func (i *archiveImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	for _, d := range i.m.Layers {
		if d.Digest == h {
			return &archiveLayer{a: i.a, d: d}, nil
		}
	}
	return nil, fmt.Errorf("%s: manifest has no layer %s", i.a.path, h)
}

// archiveLayer is a layer blob stored in an archive.
type archiveLayer struct {
	a *archive
	d v1.Descriptor
}

func (l *archiveLayer) Digest() (v1.Hash, error)            { return l.d.Digest, nil }
func (l *archiveLayer) Size() (int64, error)                { return l.d.Size, nil }
func (l *archiveLayer) MediaType() (types.MediaType, error) { return l.d.MediaType, nil }
func (l *archiveLayer) Compressed() (io.ReadCloser, error)  { return l.a.blob(l.d.Digest) }

// layoutIndex is the top index of the OCI image layout in dir, read as an
// archive is (with caps), not through ggcr's layout package, which reads
// manifests and configs whole.
func layoutIndex(dir string) (v1.ImageIndex, error) {
	idx, err := (&archive{path: dir, dir: true}).index()
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s is not an OCI image layout (no index.json); check the path: %w", dir, err)
	}
	return idx, err
}

// errDockerTar means a FILE.tar holds no OCI index: a `docker save` from
// before Docker 25, to be read as a docker archive.
var errDockerTar = errors.New("a docker save archive without an OCI index")

// openArchiveRef is the index of the OCI archive (or FILE.tar) ref names,
// and the annotation and value that pick ref's image in it: its tag, or for
// a bare name:tag the name containerd gives it.
func openArchiveRef(ref Ref) (root v1.ImageIndex, key, val string, err error) {
	a, err := openArchive(ref.Path)
	if err != nil {
		return nil, "", "", err
	}
	if _, ok := a.files["index.json"]; !ok {
		if ref.Transport == Tarball {
			return nil, "", "", errDockerTar
		}
		return nil, "", "", fmt.Errorf("%s is not an OCI archive (no index.json); for `docker save` output use docker-archive:%s", ref.Path, ref.Path)
	}
	if root, err = a.index(); err != nil {
		return nil, "", "", err
	}
	key, val = annotationRefName, ref.Tag
	if t, ok := ref.Name.(name.Tag); ok && val == "" {
		key, val = annotationContainerdName, containerdName(t)
	}
	return root, key, val, nil
}

// checkDockerArchive refuses a `docker save` archive whose manifest.json or
// configs are larger than scratchpack reads (ggcr's tarball package reads
// them whole), from the sizes in its tar headers.
func checkDockerArchive(file string) error {
	a, err := openArchive(file)
	if err != nil {
		return err
	}
	rc, err := a.open("manifest.json")
	if err != nil {
		return nil // not one: tarball.Image says so
	}
	defer rc.Close()
	raw, err := readCapped(rc, MaxManifestSize, "manifest.json of "+file)
	if err != nil {
		return err
	}
	var m tarball.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil // tarball.Image says what is wrong
	}
	for _, d := range m {
		if f, ok := a.files[strings.TrimPrefix(path.Clean("/"+d.Config), "/")]; ok && f[1] > MaxConfigSize {
			return fmt.Errorf("%w: the config %s in %s is %d bytes, more than the %d scratchpack reads", ErrTooLarge, d.Config, file, f[1], MaxConfigSize)
		}
	}
	return nil
}
