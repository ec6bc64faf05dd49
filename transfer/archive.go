package transfer

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/scratchpack/scratchpack/layercache"
)

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
	img, err := partial.CompressedToImage(&archiveImage{a: x.a, raw: raw, m: m})
	if err != nil {
		return nil, err
	}
	return &sectionedImage{Image: img, a: x.a}, nil
}

// sectionedImage is an image of an archive or layout, whose layer blobs
// are stretches of local files (see blobSectioner).
type sectionedImage struct {
	v1.Image
	a *archive
}

func (i *sectionedImage) blobSection(h v1.Hash) (layercache.Section, bool) { return i.a.section(h) }

// section is where the blob h is: its own file in a layout, or a stretch
// of the archive.
func (a *archive) section(h v1.Hash) (layercache.Section, bool) {
	name := "blobs/" + h.Algorithm + "/" + h.Hex
	if a.dir {
		p := filepath.Join(a.path, filepath.FromSlash(name))
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() {
			return layercache.Section{}, false
		}
		return layercache.Section{Path: p, Size: fi.Size()}, true
	}
	s, ok := a.files[name]
	return layercache.Section{Path: a.path, Offset: s[0], Size: s[1]}, ok
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
