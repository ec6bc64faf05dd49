package packer

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// EntryType is the kind of a file in an image layer.
type EntryType byte

// The kinds of file a layer holds.
const (
	TypeFile EntryType = iota
	TypeDir
	TypeSymlink
)

// Entry is one file of a layer.
type Entry struct {
	Path   string      // absolute, clean, in the image
	Type   EntryType   //
	Mode   fs.FileMode // permission bits (and fs.ModeSticky, and the setuid/setgid bits with --keep-suid); fixed by the packer
	Source string      // host file to copy, for TypeFile
	Data   []byte      // content, for TypeFile without Source (generated files)
	Target string      // for TypeSymlink
	Size   int64       // for TypeFile
	Why    string      // what put it there, for the pack report
	// UID and GID own the entry; 0:0 but for the home directories of the
	// users scratchpack writes into /etc/passwd.
	UID, GID int
	// Shared marks the C library set: the loader, glibc's own libraries and
	// the links to them, which --layers=libs puts in a layer of their own.
	Shared bool
}

// FileSet is the set of files a layer will hold, keyed by image path.
type FileSet struct {
	entries map[string]*Entry
}

// NewFileSet returns an empty set.
func NewFileSet() *FileSet { return &FileSet{entries: map[string]*Entry{}} }

// ErrConflict is wrapped when two files are asked for at one path of the
// image, or a file where a directory must be: the inputs contradict each
// other (two --add destinations, an --add over the program).
var ErrConflict = errors.New("conflicting files")

// conflictError is a conflict described in full; it is ErrConflict.
type conflictError string

func (e conflictError) Error() string        { return string(e) }
func (e conflictError) Is(target error) bool { return target == ErrConflict }

// Add puts e into the set, with its parent directories. Adding the same path
// twice is fine if both agree; otherwise it is an error naming both.
func (s *FileSet) Add(e Entry) error {
	p, err := CleanImagePath(e.Path)
	if err != nil {
		return err
	}
	e.Path = p
	if p == "/" {
		return nil
	}
	if old, ok := s.entries[p]; ok {
		if old.Type == e.Type && old.Target == e.Target && old.Source == e.Source && string(old.Data) == string(e.Data) && old.UID == e.UID && old.GID == e.GID {
			old.Shared = old.Shared || e.Shared
			return nil
		}
		if old.Type == TypeDir && e.Type == TypeDir {
			if old.Why == "" && e.Why != "" {
				s.entries[p] = &e // a directory asked for by name (/tmp, 1777) over one made as a parent
			}
			return nil
		}
		return conflictError(fmt.Sprintf("%s would hold two different files: %s and %s", p, old.describe(), e.describe()))
	}
	for dir := path.Dir(p); dir != "/"; dir = path.Dir(dir) {
		if old, ok := s.entries[dir]; ok {
			if old.Type == TypeDir {
				break
			}
			return conflictError(fmt.Sprintf("%s is a %s, and %s needs it to be a directory", dir, old.describe(), p))
		}
		s.entries[dir] = &Entry{Path: dir, Type: TypeDir, Mode: 0o755}
	}
	s.entries[p] = &e
	return nil
}

// Has reports whether the set holds p.
func (s *FileSet) Has(p string) bool { _, ok := s.entries[p]; return ok }

// Get returns the entry at p, or nil.
func (s *FileSet) Get(p string) *Entry { return s.entries[p] }

// Remove takes p out of the set (not its parent directories).
func (s *FileSet) Remove(p string) { delete(s.entries, p) }

// Entries returns the entries sorted by path, so that a directory comes
// before what it holds: the order the layer's tar is written in.
func (s *FileSet) Entries() []*Entry {
	out := make([]*Entry, 0, len(s.entries))
	for _, e := range s.entries {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// Size is the number of bytes of regular-file content in the set.
func (s *FileSet) Size() int64 {
	var n int64
	for _, e := range s.entries {
		n += e.Size
	}
	return n
}

func (e *Entry) describe() string {
	switch e.Type {
	case TypeDir:
		return "directory"
	case TypeSymlink:
		return "symbolic link to " + e.Target
	}
	if e.Source != "" {
		return "copy of " + e.Source
	}
	return "generated file"
}

// CleanImagePath cleans an absolute path in an image; a relative path, or
// one that climbs out of the root with "..", is an error.
func CleanImagePath(p string) (string, error) {
	if !path.IsAbs(p) {
		return "", fmt.Errorf("image path %q is not absolute: paths in an image start with /", p)
	}
	for _, c := range strings.Split(p, "/") {
		if c == ".." {
			return "", fmt.Errorf("image path %q contains \"..\": it must stay inside the image", p)
		}
	}
	return path.Clean(p), nil
}
