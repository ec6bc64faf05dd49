package packer

import (
	"bytes"
	"io"
	"io/fs"
	"os"
	"path"
	"time"
)

// overlayFS is the file system an image will have: the files of a FileSet
// over those of a base (nil for scratch). It implements fs.ReadLinkFS, so
// that elfdeps can resolve a program against the image before it is written.
type overlayFS struct {
	base fs.FS
	set  *FileSet
}

var _ fs.ReadLinkFS = overlayFS{}

func (o overlayFS) entry(name string) *Entry {
	if name == "." {
		return nil
	}
	return o.set.Get("/" + name)
}

func (o overlayFS) Lstat(name string) (fs.FileInfo, error) {
	if e := o.entry(name); e != nil {
		return entryInfo{e}, nil
	}
	if o.base != nil {
		return fs.Lstat(o.base, name)
	}
	if name == "." {
		return entryInfo{&Entry{Path: "/", Type: TypeDir, Mode: 0o755}}, nil
	}
	return nil, &fs.PathError{Op: "lstat", Path: name, Err: fs.ErrNotExist}
}

func (o overlayFS) ReadLink(name string) (string, error) {
	if e := o.entry(name); e != nil {
		if e.Type != TypeSymlink {
			return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
		}
		return e.Target, nil
	}
	if o.base != nil {
		return fs.ReadLink(o.base, name)
	}
	return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrNotExist}
}

func (o overlayFS) Open(name string) (fs.File, error) {
	e := o.entry(name)
	switch {
	case e == nil && o.base != nil:
		return o.base.Open(name)
	case e == nil && name == ".":
		return &memFile{Reader: bytes.NewReader(nil), e: &Entry{Path: "/", Type: TypeDir, Mode: 0o755}}, nil
	case e == nil:
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	case e.Type == TypeFile && e.Source != "":
		return os.Open(e.Source)
	default:
		return &memFile{Reader: bytes.NewReader(e.Data), e: e}, nil
	}
}

// memFile is a generated file or a directory of the set.
type memFile struct {
	*bytes.Reader
	e *Entry
}

func (f *memFile) Stat() (fs.FileInfo, error) { return entryInfo{f.e}, nil }
func (f *memFile) Close() error               { return nil }

var _ io.ReaderAt = (*memFile)(nil)

// entryInfo describes an Entry as an fs.FileInfo.
type entryInfo struct{ e *Entry }

func (i entryInfo) Name() string       { return path.Base(i.e.Path) }
func (i entryInfo) Size() int64        { return i.e.Size }
func (i entryInfo) ModTime() time.Time { return time.Unix(0, 0) }
func (i entryInfo) IsDir() bool        { return i.e.Type == TypeDir }
func (i entryInfo) Sys() any           { return nil }
func (i entryInfo) Mode() fs.FileMode {
	switch i.e.Type {
	case TypeDir:
		return fs.ModeDir | i.e.Mode
	case TypeSymlink:
		return fs.ModeSymlink | 0o777
	}
	return i.e.Mode
}
