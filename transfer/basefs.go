package transfer

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"path"
	"time"

	"github.com/scratchpack/scratchpack/layercache"
)

// BaseFS is the file system of a base image, read from an index of its
// layers instead of from a copy unpacked to disk (see OpenBase). It
// implements fs.ReadLinkFS, fs.StatFS and fs.ReadDirFS: symbolic links are
// followed inside the image as in a chroot, so no path leads out of it. A
// file's content is read when it is opened, from what the pass over its
// layer kept, the layer cache, or the layer itself, and is always bytes
// that were checked against the layer's digests (or, from the cache, its
// own).
type BaseFS struct {
	*indexer
}

var (
	_ fs.ReadLinkFS = (*BaseFS)(nil)
	_ fs.StatFS     = (*BaseFS)(nil)
	_ fs.ReadDirFS  = (*BaseFS)(nil)
)

// find resolves name for op, following the last component's link if follow.
func (b *BaseFS) find(op, name string, follow bool) (*ientry, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	e, err := b.x.resolve(name, follow)
	if err == nil && e == nil {
		err = fs.ErrNotExist
	}
	if err != nil {
		return nil, &fs.PathError{Op: op, Path: name, Err: err}
	}
	return e, nil
}

// Open opens the file at name. A regular file's content is read in place
// from the blob of the cache that holds it, if that has not changed since
// it was written, else read whole (from a layer, if no earlier read kept
// it: see OpenBase).
func (b *BaseFS) Open(name string) (fs.File, error) {
	e, err := b.find("open", name, true)
	if err != nil {
		return nil, err
	}
	switch e.typ {
	case tar.TypeDir:
		return &dirFile{b: b, e: e}, nil
	case tar.TypeReg:
		if f, ok := b.openInPlace(e); ok {
			return &blobFile{SectionReader: io.NewSectionReader(f, 0, e.size), f: f, e: e}, nil
		}
		data, err := b.content(e)
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
		return &memFile{Reader: bytes.NewReader(data), e: e}, nil
	}
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
}

// Stat describes the file at name, following links.
func (b *BaseFS) Stat(name string) (fs.FileInfo, error) {
	e, err := b.find("stat", name, true)
	if err != nil {
		return nil, err
	}
	return entryInfo{e}, nil
}

// Lstat describes the file at name; a link is not followed.
func (b *BaseFS) Lstat(name string) (fs.FileInfo, error) {
	e, err := b.find("lstat", name, false)
	if err != nil {
		return nil, err
	}
	return entryInfo{e}, nil
}

// ReadLink returns the target of the symbolic link at name.
func (b *BaseFS) ReadLink(name string) (string, error) {
	e, err := b.find("readlink", name, false)
	if err != nil {
		return "", err
	}
	if e.typ != tar.TypeSymlink {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	return e.target, nil
}

// ReadDir lists the directory at name, sorted by name.
func (b *BaseFS) ReadDir(name string) ([]fs.DirEntry, error) {
	e, err := b.find("readdir", name, true)
	if err != nil {
		return nil, err
	}
	if e.typ != tar.TypeDir {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errNotDir}
	}
	var out []fs.DirEntry
	for _, k := range b.x.children(e.name) {
		out = append(out, fs.FileInfoToDirEntry(entryInfo{k}))
	}
	return out, nil
}

// ReadFile reads the whole file at name.
func (b *BaseFS) ReadFile(name string) ([]byte, error) {
	f, err := b.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	return data, nil
}

// memFile is an open regular file of a BaseFS.
type memFile struct {
	*bytes.Reader
	e *ientry
}

func (f *memFile) Stat() (fs.FileInfo, error) { return entryInfo{f.e}, nil }
func (f *memFile) Close() error               { return nil }

// blobFile is an open regular file of a BaseFS read in place from the
// cache's blob (see layercache.OpenBlob): a read fails if the blob changes.
type blobFile struct {
	*io.SectionReader
	f *layercache.BlobFile
	e *ientry
}

func (f *blobFile) Stat() (fs.FileInfo, error) { return entryInfo{f.e}, nil }
func (f *blobFile) Close() error               { return f.f.Close() }

// dirFile is an open directory of a BaseFS.
type dirFile struct {
	b    *BaseFS
	e    *ientry
	left []fs.DirEntry
	read bool
}

func (d *dirFile) Stat() (fs.FileInfo, error) { return entryInfo{d.e}, nil }
func (d *dirFile) Close() error               { return nil }
func (d *dirFile) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.e.name, Err: errIsDir}
}

// ReadDir lists the directory as fs.ReadDirFile says.
func (d *dirFile) ReadDir(n int) ([]fs.DirEntry, error) {
	if !d.read {
		d.read = true
		for _, k := range d.b.x.children(d.e.name) {
			d.left = append(d.left, fs.FileInfoToDirEntry(entryInfo{k}))
		}
	}
	if n <= 0 {
		out := d.left
		d.left = nil
		return out, nil
	}
	if len(d.left) == 0 {
		return nil, io.EOF
	}
	n = min(n, len(d.left))
	out := d.left[:n]
	d.left = d.left[n:]
	return out, nil
}

var errIsDir = errors.New("is a directory")

// entryInfo describes an index entry as an fs.FileInfo.
type entryInfo struct{ e *ientry }

func (i entryInfo) Name() string       { return path.Base(i.e.name) }
func (i entryInfo) Size() int64        { return i.e.size }
func (i entryInfo) Mode() fs.FileMode  { return i.e.mode }
func (i entryInfo) ModTime() time.Time { return time.Unix(0, 0) }
func (i entryInfo) IsDir() bool        { return i.e.typ == tar.TypeDir }
func (i entryInfo) Sys() any           { return nil }
