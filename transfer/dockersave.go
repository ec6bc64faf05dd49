package transfer

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/scratchpack/scratchpack/layercache"
)

// A `docker save` archive from before Docker 25 (manifest.json, CONFIG.json,
// DIR/layer.tar) has no manifest of the registry kind, and its layers are
// uncompressed tars. go-containerregistry's tarball package presents such
// layers gzip-compressed, compressing each (twice: for its digest, then
// for its bytes) whenever it is read: 20 s for a 230 MB Debian base. Read
// here instead, the image keeps its layers as they are, uncompressed tars
// with the OCI media type for them (as `docker save` writes them since
// Docker 25), whose digest is their diff_id: the manifest is made from the
// config without reading a layer, and an output gets each layer's blob
// copied as it is, never decompressed or recompressed. An archive whose
// layers are compressed is left to the tarball package.

// loadSavedImage reads the image of the docker archive a (at file) that
// tag names, or its only image; ok is false when its layers are not all
// uncompressed tars.
func loadSavedImage(a *archive, file string, tag *name.Tag) (img v1.Image, ok bool, err error) {
	rc, err := a.open("manifest.json")
	if err != nil {
		return nil, false, nil // not one: tarball.Image says so
	}
	defer rc.Close()
	raw, err := readCapped(rc, MaxManifestSize, "manifest.json of "+file)
	if err != nil {
		return nil, false, err
	}
	var m tarball.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, false, nil
	}
	d, err := savedDescriptor(m, tag, file)
	if err != nil {
		return nil, false, err
	}
	core := &savedImage{a: a, file: file}
	if core.config, err = a.readNamed(d.Config, "config", MaxConfigSize); err != nil {
		return nil, false, err
	}
	cf, err := v1.ParseConfigFile(bytes.NewReader(core.config))
	if err != nil {
		return nil, false, fmt.Errorf("the config %s in %s: %w", d.Config, file, err)
	}
	if len(cf.RootFS.DiffIDs) != len(d.Layers) {
		return nil, false, fmt.Errorf("%w: the config %s in %s names %d layers, its manifest.json %d", ErrCorruptBlob, d.Config, file, len(cf.RootFS.DiffIDs), len(d.Layers))
	}
	sum := sha256.Sum256(core.config)
	man := v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1, Config: v1.Descriptor{
		MediaType: types.OCIConfigJSON, Size: int64(len(core.config)),
		Digest: v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}}}
	core.sections = map[v1.Hash]layercache.Section{}
	for i, l := range d.Layers {
		s, found := a.files[strings.TrimPrefix(path.Clean("/"+l), "/")]
		if !found {
			return nil, false, fmt.Errorf("%s has no layer %s, which its manifest.json names", file, l)
		}
		if compressed, err := a.compressedAt(s[0], s[1]); err != nil || compressed {
			return nil, false, err
		}
		h := cf.RootFS.DiffIDs[i] // an uncompressed layer's digest is its diff_id
		man.Layers = append(man.Layers, v1.Descriptor{MediaType: types.OCIUncompressedLayer, Size: s[1], Digest: h})
		core.sections[h] = layercache.Section{Path: file, Offset: s[0], Size: s[1]}
	}
	if core.raw, err = json.Marshal(man); err != nil {
		return nil, false, err
	}
	core.m = &man
	img, err = partial.CompressedToImage(core)
	if err != nil {
		return nil, false, err
	}
	return &savedImageOf{Image: img, core: core}, true, nil
}

// savedDescriptor picks the image of m that tag names, or its only one.
func savedDescriptor(m tarball.Manifest, tag *name.Tag, file string) (tarball.Descriptor, error) {
	if tag == nil {
		if len(m) != 1 {
			return tarball.Descriptor{}, fmt.Errorf("%w: %s holds %d images: name one, docker-archive:%s:NAME:TAG", ErrAmbiguous, file, len(m), file)
		}
		return m[0], nil
	}
	for _, d := range m {
		for _, rt := range d.RepoTags {
			if t, err := name.NewTag(rt); err == nil && t.Name() == tag.Name() {
				return d, nil
			}
		}
	}
	return tarball.Descriptor{}, fmt.Errorf("%s is not a docker archive holding that image: no image is tagged %s", file, tag)
}

// readNamed reads the archive's file name (a path in manifest.json), of
// at most max bytes.
func (a *archive) readNamed(n, what string, max int64) ([]byte, error) {
	rc, err := a.open(strings.TrimPrefix(path.Clean("/"+n), "/"))
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return readCapped(rc, max, fmt.Sprintf("%s %s in %s", what, n, a.path))
}

// compressedAt reports whether the stretch of the archive at off starts
// with the magic number of gzip or zstd.
func (a *archive) compressedAt(off, size int64) (bool, error) {
	f, err := os.Open(a.path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	magic := make([]byte, min(size, 4))
	if _, err := f.ReadAt(magic, off); err != nil && err != io.EOF {
		return false, err
	}
	return bytes.HasPrefix(magic, []byte{0x1f, 0x8b}) || bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}), nil
}

// savedImage is the partial.CompressedImageCore of an image of a docker
// save archive whose layers are uncompressed.
type savedImage struct {
	a        *archive
	file     string
	raw      []byte
	m        *v1.Manifest
	config   []byte
	sections map[v1.Hash]layercache.Section
}

func (i *savedImage) RawManifest() ([]byte, error)        { return i.raw, nil }
func (i *savedImage) MediaType() (types.MediaType, error) { return i.m.MediaType, nil }

// RawConfigFile reads the config again (verifiedImage checks it against
// the manifest, which was made from what was read first).
func (i *savedImage) RawConfigFile() ([]byte, error) { return i.config, nil }

func (i *savedImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	for _, d := range i.m.Layers {
		if d.Digest == h {
			return &savedLayer{s: i.sections[h], d: d}, nil
		}
	}
	return nil, fmt.Errorf("%s: the image has no layer %s", i.file, h)
}

// savedLayer is an uncompressed layer of a docker save archive.
type savedLayer struct {
	s layercache.Section
	d v1.Descriptor
}

func (l *savedLayer) Digest() (v1.Hash, error)            { return l.d.Digest, nil }
func (l *savedLayer) Size() (int64, error)                { return l.d.Size, nil }
func (l *savedLayer) MediaType() (types.MediaType, error) { return l.d.MediaType, nil }
func (l *savedLayer) Compressed() (io.ReadCloser, error) {
	f, err := os.Open(l.s.Path)
	if err != nil {
		return nil, err
	}
	return readCloser{io.NewSectionReader(f, l.s.Offset, l.s.Size), f.Close}, nil
}

// savedImageOf is the image, with its layers' sections (see blobSectioner).
type savedImageOf struct {
	v1.Image
	core *savedImage
}

func (i *savedImageOf) blobSection(h v1.Hash) (layercache.Section, bool) {
	s, ok := i.core.sections[h]
	return s, ok
}
