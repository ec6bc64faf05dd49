package elfdeps

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

// maxSymlinkHops bounds symbolic-link resolution, as the kernel's 40 (MAXSYMLINKS).
const maxSymlinkHops = 40

// Root is the file system the loader sees: "/" on the host, a sysroot for a
// foreign architecture, or the unpacked file system of a base image. Paths
// given to a Root are absolute and slash-separated; symbolic links are
// resolved inside the root, as a chroot would, so nothing outside it is read.
type Root struct {
	fsys    fs.FS
	name    string       // for messages: the host directory, or a description
	objects *objectCache // parsed objects, kept by a Sharing Root; nil otherwise
	cacheID int          // which of the roots sharing objects this is
}

// NewRoot returns a Root over fsys. The fsys should implement
// [fs.ReadLinkFS] (os.DirFS and fstest.MapFS do); without it symbolic links
// are followed by the file system itself, outside scratchpack's control.
func NewRoot(fsys fs.FS, name string) *Root { return &Root{fsys: fsys, name: name} }

// DirRoot returns a Root over the host directory dir.
func DirRoot(dir string) *Root { return NewRoot(os.DirFS(dir), dir) }

// String returns the name the Root was made with.
func (r *Root) String() string { return r.name }

// Link is one symbolic link met while resolving a path.
type Link struct {
	Path   string `json:"path"`   // the link, absolute in the root
	Target string `json:"target"` // what it points to, as stored
}

// fsName turns an absolute root path into an io/fs name.
func fsName(p string) string {
	p = strings.TrimPrefix(path.Clean("/"+p), "/")
	if p == "" {
		return "."
	}
	return p
}

// Resolve follows every symbolic link in p, component by component, staying
// inside the root (".." at the top stays at the top, absolute targets start at
// the root). It returns the real path and the links it went through, in order.
func (r *Root) Resolve(p string) (string, []Link, error) {
	return r.resolve(p, false)
}

// ResolveExisting is Resolve for a path that may not exist yet: it follows
// links as far as the path exists and appends the rest as it is. It answers
// "where would a file created at p end up".
func (r *Root) ResolveExisting(p string) (string, error) {
	real, _, err := r.resolve(p, true)
	return real, err
}

func (r *Root) resolve(p string, partial bool) (string, []Link, error) {
	var links []Link
	resolved := "/"
	// Not path.Clean: ".." after a symbolic link goes up from where the link
	// led, as in the kernel, so it is resolved in the loop below.
	rest := strings.Split(p, "/")
	hops := 0
	for len(rest) > 0 {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			resolved = path.Dir(resolved)
			continue
		}
		next := path.Join(resolved, c)
		fi, err := fs.Lstat(r.fsys, fsName(next))
		if err != nil {
			if partial && errors.Is(err, fs.ErrNotExist) {
				return path.Join(append([]string{next}, rest...)...), links, nil
			}
			return "", links, err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			if len(rest) > 0 && !fi.IsDir() {
				return "", links, &fs.PathError{Op: "resolve", Path: next, Err: errors.New("not a directory")}
			}
			resolved = next
			continue
		}
		if hops++; hops > maxSymlinkHops {
			return "", links, &fs.PathError{Op: "resolve", Path: p, Err: ErrSymlinkLoop}
		}
		target, err := fs.ReadLink(r.fsys, fsName(next))
		if err != nil {
			return "", links, err
		}
		links = append(links, Link{Path: next, Target: target})
		if path.IsAbs(target) {
			resolved = "/"
		}
		rest = append(strings.Split(target, "/"), rest...)
	}
	return resolved, links, nil
}

// Stat resolves p and describes the file behind it.
func (r *Root) Stat(p string) (fs.FileInfo, error) {
	real, _, err := r.Resolve(p)
	if err != nil {
		return nil, err
	}
	return fs.Stat(r.fsys, fsName(real))
}

// Open resolves p and opens the regular file behind it for random access.
// The caller closes it.
func (r *Root) Open(p string) (ReadAtCloser, fs.FileInfo, error) {
	real, _, err := r.Resolve(p)
	if err != nil {
		return nil, nil, err
	}
	// Stat before opening: opening a fifo for reading blocks until a writer comes.
	if fi, err := fs.Stat(r.fsys, fsName(real)); err != nil {
		return nil, nil, err
	} else if !fi.Mode().IsRegular() {
		return nil, nil, &fs.PathError{Op: "open", Path: p, Err: fmt.Errorf("%w (%s)", ErrNotRegular, fi.Mode().Type())}
	}
	f, err := r.fsys.Open(fsName(real))
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, &fs.PathError{Op: "open", Path: p, Err: fmt.Errorf("%w (%s)", ErrNotRegular, fi.Mode().Type())}
	}
	ra, ok := f.(ReadAtCloser)
	if !ok {
		f.Close()
		return nil, nil, &fs.PathError{Op: "open", Path: p, Err: errors.New("file system does not support random access")}
	}
	return ra, fi, nil
}

// ReadFile resolves p and reads the file behind it.
func (r *Root) ReadFile(p string) ([]byte, error) {
	real, _, err := r.Resolve(p)
	if err != nil {
		return nil, err
	}
	if fi, err := fs.Stat(r.fsys, fsName(real)); err != nil {
		return nil, err
	} else if !fi.Mode().IsRegular() {
		return nil, &fs.PathError{Op: "read", Path: p, Err: fmt.Errorf("%w (%s)", ErrNotRegular, fi.Mode().Type())}
	}
	return fs.ReadFile(r.fsys, fsName(real))
}

// ReadAtCloser is an open file that can be read at any offset.
type ReadAtCloser interface {
	io.ReaderAt
	io.Closer
}
