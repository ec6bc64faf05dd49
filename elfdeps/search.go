package elfdeps

import (
	"debug/elf"
	"errors"
	"fmt"
	"path"
	"strings"
)

// searchGlibc searches for name as glibc's _dl_map_object does (elf/dl-load.c):
// DT_RPATH of the loader and its loaders up to the program (only if the
// loader has no DT_RUNPATH; an object with DT_RUNPATH contributes no
// DT_RPATH), LD_LIBRARY_PATH, the loader's DT_RUNPATH, /etc/ld.so.cache
// and the default directories (both skipped for DF_1_NODEFLIB objects).
func (r *resolver) searchGlibc(n *node, name string) (*Library, *object, []string, error) {
	s := &search{r: r, name: name}
	if len(n.obj.runpath) == 0 {
		for l := n; l != nil; l = l.loader {
			if len(l.obj.runpath) > 0 {
				continue // glibc drops DT_RPATH of objects that have DT_RUNPATH
			}
			if s.in(r.expandAll(l.obj.rpath, l), "rpath") {
				return s.result()
			}
		}
	}
	if s.in(pairs(r.opts.libraryPath), "ld_library_path") || s.in(r.expandAll(n.obj.runpath, n), "runpath") {
		return s.result()
	}
	if n.obj.flags1&uint64(elf.DF_1_NODEFLIB) != 0 {
		return s.result()
	}
	if c := r.ldCache(); c != nil {
		s.searched = append(s.searched, "/etc/ld.so.cache")
		for _, e := range c.Lookup(name, r.arch.machine, r.arch.class) {
			if s.at(samePair(path.Dir(e.Path)), path.Base(e.Path), "ld.so.cache") {
				return s.result()
			}
		}
	}
	s.in(pairs(r.arch.defaultDirs(r.multiarch())), "default")
	return s.result()
}

// search is one soname's walk through the places a loader looks: where it
// looked, and how it ended.
type search struct {
	r        *resolver
	name     string
	searched []string
	lib      *Library
	obj      *object
	err      error
}

// in tries name in each of dirs and reports whether the search is over.
func (s *search) in(dirs []dirPair, via string) bool {
	for _, d := range dirs {
		s.searched = append(s.searched, d.src)
		if s.at(d, s.name, via) {
			return true
		}
	}
	return false
}

// at tries dir/name and reports whether the search is over: the library is
// found, the loader would stop at an unloadable file there (not found, no
// error, as ld.so reports it), or reading failed.
func (s *search) at(dir dirPair, name, via string) bool {
	lib, obj, err := s.r.open(dir, name)
	switch {
	case s.r.unloadable(err):
		return true
	case err != nil && !isNotExist(err):
		s.err = err
		return true
	case obj != nil:
		lib.Via = via
		s.lib, s.obj = lib, obj
		return true
	}
	return false
}

func (s *search) result() (*Library, *object, []string, error) {
	return s.lib, s.obj, s.searched, s.err
}

// open reads dir/name and checks that it is a library this program's loader
// accepts. A file of another class or machine gives nil, nil, nil: ld.so
// skips it and goes on searching. A file that is there but cannot be loaded
// at all (not ELF, truncated, a directory, a symbolic-link loop, not a
// shared object) gives an *unloadableError: ld.so stops there with an error.
func (r *resolver) open(dir dirPair, name string) (*Library, *object, error) {
	src := path.Join(dir.src, name)
	obj, fi, err := r.root.object(src)
	if fi == nil && err != nil { // not opened
		if errors.Is(err, ErrNotRegular) || errors.Is(err, ErrSymlinkLoop) && r.isDir(dir.src) {
			return nil, nil, &unloadableError{src, unwrapPathError(err)}
		}
		return nil, nil, err
	}
	if err != nil {
		if errors.Is(err, ErrNotELF) || errors.Is(err, ErrScript) || errors.Is(err, ErrCorrupt) {
			return nil, nil, &unloadableError{src, err}
		}
		return nil, nil, err
	}
	if !r.accepts(obj) {
		return nil, nil, nil
	}
	if obj.typ != elf.ET_DYN {
		return nil, nil, &unloadableError{src, fmt.Errorf("not a shared object but %v", obj.typ)}
	}
	real, links, err := r.root.Resolve(src)
	if err != nil {
		return nil, nil, err
	}
	lib := &Library{Path: path.Join(dir.img, name), RealPath: real, Links: links, Size: fi.Size()}
	if dir.img != dir.src {
		lib.Source = src
	}
	return lib, obj, nil
}

// accepts mirrors glibc's open_verify: same class, byte order and machine,
// and for ARM the same float ABI.
func (r *resolver) accepts(o *object) bool {
	if o.class != r.arch.class || o.data != r.arch.data || o.machine != r.arch.machine {
		return false
	}
	if o.machine == elf.EM_ARM {
		return o.armSoftFloat() == strings.HasSuffix(r.arch.triplet, "gnueabi")
	}
	return true
}

// unloadableError is a file the loader finds and opens but cannot load.
// glibc's open_verify and _dl_map_object_from_fd then fail, and musl's
// path_open stops at any file it can open: neither searches on.
type unloadableError struct {
	path string
	err  error
}

func (e *unloadableError) Error() string { return e.path + ": " + e.err.Error() }

// unloadable reports whether err is an *unloadableError, and warns of it.
func (r *resolver) unloadable(err error) bool {
	var ue *unloadableError
	if !errors.As(err, &ue) {
		return false
	}
	r.closure.Warnings = append(r.closure.Warnings,
		fmt.Sprintf("the loader stops at %s, which it cannot load: %v", ue.path, ue.err))
	return true
}

// isDir reports whether p is a directory in the root.
func (r *resolver) isDir(p string) bool {
	fi, err := r.root.Stat(p)
	return err == nil && fi.IsDir()
}
