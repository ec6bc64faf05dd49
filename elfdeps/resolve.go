package elfdeps

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// Option configures Resolve.
type Option func(*options) error

type options struct {
	libraryPath []string
	origin      dirPair
	hasOrigin   bool
	dlopen      []dlopenLib
}

// dlopenLib is a library loaded at run time by name, and why.
type dlopenLib struct{ name, why string }

// WithDlopen resolves names as libraries the program loads at run time
// (glibc's dlopen of libgcc_s.so.1, an NSS module, a plugin), each with its
// own closure, after everything DT_NEEDED maps. A name is searched as a
// DT_NEEDED entry of the program (a name with a slash is a path in the
// root). why says who loads it; it is kept in Library.Dlopen and
// Missing.Dlopen.
func WithDlopen(why string, names ...string) Option {
	return func(o *options) error {
		for _, n := range names {
			if n == "" {
				return errors.New("an empty library name")
			}
			o.dlopen = append(o.dlopen, dlopenLib{n, why})
		}
		return nil
	}
}

// WithLibraryPath makes Resolve search dirs as LD_LIBRARY_PATH would: after
// DT_RPATH, before DT_RUNPATH. Off by default, because an image's loader
// does not see the host's environment.
func WithLibraryPath(dirs ...string) Option {
	return func(o *options) error { o.libraryPath = append(o.libraryPath, dirs...); return nil }
}

// WithOrigin says where the program is: image is the directory the program
// will be in (what $ORIGIN expands to at run time) and source the directory,
// in the root, where its $ORIGIN-relative libraries are read from now. On the
// host, both are the program's own directory.
func WithOrigin(image, source string) Option {
	return func(o *options) error {
		if !path.IsAbs(image) || !path.IsAbs(source) {
			return fmt.Errorf("origin directories must be absolute, got %q and %q", image, source)
		}
		o.origin, o.hasOrigin = dirPair{img: path.Clean(image), src: path.Clean(source)}, true
		return nil
	}
}

// dirPair is one directory as the loader will see it (img) and where its
// files are read from now (src).
type dirPair struct{ img, src string }

func samePair(d string) dirPair { return dirPair{d, d} }

// Resolve works out the closure of the program that rep describes: its
// interpreter and every library the loader maps, found the way glibc's ld.so
// (or musl's, for musl programs) searches, with every file read through root.
// A static program has an empty closure and a nil error. Names that cannot
// be found are reported in Closure.Missing, not as an error; errors are for
// a root that cannot be read.
func Resolve(root *Root, rep *Report, opts ...Option) (*Closure, error) {
	var o options
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	c := &Closure{Libraries: []Library{}, Missing: []Missing{}, Warnings: []string{}}
	prog := rep.obj
	if prog == nil {
		return nil, errors.New("elfdeps: Resolve needs a Report made by Inspect")
	}
	if prog.interp == "" && len(prog.needed) == 0 {
		return c, nil
	}
	a, ok := archFor(prog)
	if !ok {
		return nil, fmt.Errorf("cannot resolve libraries for unknown architecture %v", prog.machine)
	}
	r := &resolver{root: root, arch: a, opts: o, closure: c, loaded: map[string]*node{}, isMusl: prog.musl()}
	if err := r.run(rep); err != nil {
		return nil, err
	}
	r.summarize(rep)
	return c, nil
}

// node is one loaded object: the program, the interpreter, or a library.
type node struct {
	obj    *object
	name   string // the path it was loaded as, for needed_by
	origin dirPair
	hasOrg bool
	loader *node // who caused it to be loaded (glibc's l_loader)
	lib    int   // index in Closure.Libraries, or -1
}

type resolver struct {
	root    *Root
	arch    arch
	opts    options
	closure *Closure
	loaded  map[string]*node // by every name it answers to
	cache   *LDCache
	noCache error // why the cache is unusable, once looked at
	multi   *bool // whether the root has multiarch directories
	musl    *muslConfig
	isMusl  bool // the program's interpreter is musl's loader
	missing map[string]int
	// dlopenWhy is set while a WithDlopen name itself is searched.
	dlopenWhy string
}

func (r *resolver) run(rep *Report) error {
	prog := &node{obj: rep.obj, name: rep.Path, origin: r.opts.origin, hasOrg: r.opts.hasOrigin, lib: -1}
	if prog.name == "" {
		prog.name = "program"
	}
	r.missing = map[string]int{}
	if interp := prog.obj.interp; interp != "" {
		if err := r.loadInterpreter(prog, interp); err != nil {
			return err
		}
	}
	if err := r.mapAll(prog); err != nil {
		return err
	}
	for _, d := range r.opts.dlopen {
		if _, ok := r.loaded[d.name]; ok {
			continue
		}
		r.dlopenWhy = d.why
		child, err := r.need(prog, d.name)
		r.dlopenWhy = ""
		if err != nil {
			return err
		}
		if child != nil {
			r.closure.Libraries[child.lib].Dlopen = d.why
			if err := r.mapAll(child); err != nil {
				return err
			}
		}
	}
	return nil
}

// mapAll maps the DT_NEEDED entries of n and of everything they bring,
// breadth first, as ld.so does.
func (r *resolver) mapAll(n *node) error {
	queue := []*node{n}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, need := range n.obj.needed {
			child, err := r.need(n, need)
			if err != nil {
				return err
			}
			if child != nil {
				queue = append(queue, child)
			}
		}
	}
	return nil
}

// loadInterpreter maps the program's PT_INTERP, which the kernel opens by
// that exact path.
func (r *resolver) loadInterpreter(prog *node, interp string) error {
	lib, obj, err := r.open(samePair(path.Dir(interp)), path.Base(interp))
	if err != nil {
		if isNotExist(err) || r.unloadable(err) {
			r.addMissing(interp, prog.name, []string{path.Dir(interp)})
			return nil
		}
		return err
	}
	if obj == nil {
		r.closure.Warnings = append(r.closure.Warnings, fmt.Sprintf("interpreter %s is not a loader for %s", interp, r.arch.goarch))
		r.addMissing(interp, prog.name, []string{path.Dir(interp)})
		return nil
	}
	lib.Soname, lib.Via, lib.NeededBy = interp, "interpreter", []string{prog.name}
	r.closure.Interpreter = lib
	n := &node{obj: obj, name: interp, lib: -1}
	r.remember(n, interp, obj.soname, lib.RealPath)
	if r.isMusl {
		// musl's loader is also its libc: every libc-family name maps to it.
		r.remember(n, "libc.so")
	}
	return nil
}

// need maps one DT_NEEDED entry of n, returning the new node, or nil when
// the name was already loaded or cannot be found.
func (r *resolver) need(n *node, name string) (*node, error) {
	if prev, ok := r.loaded[name]; ok {
		r.neededBy(prev, n.name)
		return nil, nil
	}
	if r.isMusl && r.closure.Interpreter != nil {
		if isMuslBuiltin(name) {
			r.remember(r.loaded[r.closure.Interpreter.Soname], name)
			r.neededBy(r.loaded[name], n.name)
			return nil, nil
		}
	}
	var (
		lib      *Library
		obj      *object
		searched []string
		err      error
	)
	if strings.Contains(name, "/") {
		p := r.expand(name, n)
		if len(p) == 1 {
			searched = []string{p[0].src}
			lib, obj, err = r.open(dirPair{path.Dir(p[0].img), path.Dir(p[0].src)}, path.Base(p[0].src))
			if err != nil && (isNotExist(err) || r.unloadable(err)) {
				err = nil // missing, not a broken root
			}
			if lib != nil {
				lib.Via = "path"
			}
		}
	} else if r.isMusl {
		lib, obj, searched, err = r.searchMusl(n, name)
	} else {
		lib, obj, searched, err = r.searchGlibc(n, name)
	}
	if err != nil {
		return nil, err
	}
	if lib == nil {
		r.addMissing(name, n.name, searched)
		return nil, nil
	}
	// The same file may be reached under another name (a soname symlink and
	// its target): glibc then reuses the object it already has.
	if prev, ok := r.loaded[lib.RealPath]; ok {
		r.remember(prev, name)
		r.neededBy(prev, n.name)
		return nil, nil
	}
	lib.Soname, lib.NeededBy = name, []string{n.name}
	needs := maxVersions(obj.verneeds)
	lib.GlibcMin, lib.GlibcxxMin = needs["GLIBC"], needs["GLIBCXX"]
	switch obj.soname {
	case "libc.so.6":
		r.closure.GlibcProvided = providedVersions(obj.verdefs)["GLIBC"]
	case "libstdc++.so.6":
		r.closure.GlibcxxProvided = providedVersions(obj.verdefs)["GLIBCXX"]
	}
	r.closure.Libraries = append(r.closure.Libraries, *lib)
	child := &node{obj: obj, name: lib.Path, loader: n, lib: len(r.closure.Libraries) - 1,
		origin: dirPair{path.Dir(lib.Path), path.Dir(lib.Source)}, hasOrg: true}
	r.remember(child, name, lib.Path, lib.RealPath, obj.soname)
	return child, nil
}

func (r *resolver) remember(n *node, names ...string) {
	for _, name := range names {
		if name != "" {
			if _, ok := r.loaded[name]; !ok {
				r.loaded[name] = n
			}
		}
	}
}

func (r *resolver) neededBy(n *node, by string) {
	l := r.closure.Interpreter
	if n.lib >= 0 {
		l = &r.closure.Libraries[n.lib]
	}
	if l == nil {
		return
	}
	for _, b := range l.NeededBy {
		if b == by {
			return
		}
	}
	l.NeededBy = append(l.NeededBy, by)
}

func (r *resolver) addMissing(name, by string, searched []string) {
	if i, ok := r.missing[name]; ok {
		r.closure.Missing[i].NeededBy = append(r.closure.Missing[i].NeededBy, by)
		return
	}
	r.missing[name] = len(r.closure.Missing)
	r.closure.Missing = append(r.closure.Missing, Missing{Soname: name, NeededBy: []string{by}, Searched: nonNil(searched), Dlopen: r.dlopenWhy})
}

// ldCache reads /etc/ld.so.cache of the root once. A root without one (a
// sysroot, a musl system) is fine: glibc then searches the default directories.
func (r *resolver) ldCache() *LDCache {
	if r.cache != nil || r.noCache != nil {
		return r.cache
	}
	var err error
	r.cache, err = r.root.ldCache()
	if err != nil {
		r.noCache = err
		if !isNotExist(err) {
			r.closure.Warnings = append(r.closure.Warnings, fmt.Sprintf("ignoring /etc/ld.so.cache: %v", err))
		}
	}
	return r.cache
}

// multiarch reports whether the root keeps libraries in Debian's multiarch
// directories, which decides the loader's default search path.
func (r *resolver) multiarch() bool {
	if r.multi == nil {
		m := false
		for _, d := range []string{"/lib/" + r.arch.triplet, "/usr/lib/" + r.arch.triplet} {
			if fi, err := r.root.Stat(d); err == nil && fi.IsDir() {
				m = true
			}
		}
		r.multi = &m
	}
	return *r.multi
}

func pairs(dirs []string) []dirPair {
	ps := make([]dirPair, len(dirs))
	for i, d := range dirs {
		ps[i] = samePair(d)
	}
	return ps
}

func isNotExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrSymlinkLoop) ||
		strings.Contains(err.Error(), "not a directory")
}
