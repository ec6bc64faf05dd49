package elfdeps

import (
	"path"
	"strings"
)

// muslConfig is musl's system search path.
type muslConfig struct {
	dirs []string
	file string // the path file it came from, or "" for the built-in default
}

// searchMusl searches for name as musl's load_library does (ldso/dynlink.c):
// LD_LIBRARY_PATH, then DT_RUNPATH or else DT_RPATH of the needing object and
// of each object that needed it in turn, then the directories in
// /etc/ld-musl-ARCH.path, or /lib:/usr/local/lib:/usr/lib without it.
func (r *resolver) searchMusl(n *node, name string) (*Library, *object, []string, error) {
	var searched []string
	stopped := false // at a file the loader cannot load
	try := func(dirs []dirPair, via string) (*Library, *object, error) {
		for _, d := range dirs {
			searched = append(searched, d.src)
			lib, obj, err := r.open(d, name)
			if r.unloadable(err) {
				stopped = true
				return nil, nil, nil
			}
			if err != nil && !isNotExist(err) {
				return nil, nil, err
			}
			if obj != nil {
				lib.Via = via
				return lib, obj, nil
			}
		}
		return nil, nil, nil
	}
	if lib, obj, err := try(pairs(r.opts.libraryPath), "ld_library_path"); err != nil || lib != nil || stopped {
		return lib, obj, searched, err
	}
	for l := n; l != nil; l = l.loader {
		dirs, via := l.obj.runpath, "runpath"
		if len(dirs) == 0 {
			dirs, via = l.obj.rpath, "rpath"
		}
		if lib, obj, err := try(r.expandAll(dirs, l), via); err != nil || lib != nil || stopped {
			return lib, obj, searched, err
		}
	}
	lib, obj, err := try(pairs(r.muslPath().dirs), "musl-path")
	return lib, obj, searched, err
}

// muslPath reads /etc/ld-musl-ARCH.path of the root once. musl finds that
// file next to its loader's prefix; for a loader in /lib that is /etc.
func (r *resolver) muslPath() *muslConfig {
	if r.musl != nil {
		return r.musl
	}
	r.musl = &muslConfig{dirs: muslDefaultDirs}
	interp := ""
	if r.closure.Interpreter != nil {
		interp = r.closure.Interpreter.Soname
	}
	archName := r.arch.musl
	if b := path.Base(interp); strings.HasPrefix(b, "ld-musl-") {
		archName = strings.TrimSuffix(strings.TrimPrefix(b, "ld-musl-"), ".so.1")
	}
	file := "/etc/ld-musl-" + archName + ".path"
	b, err := r.root.ReadFile(file)
	if err != nil {
		return r.musl
	}
	var dirs []string
	for _, d := range strings.FieldsFunc(string(b), func(c rune) bool { return c == ':' || c == '\n' }) {
		if d = strings.TrimSpace(d); d != "" {
			dirs = append(dirs, d)
		}
	}
	r.musl = &muslConfig{dirs: dirs, file: file}
	return r.musl
}

// isMuslBuiltin reports whether musl's loader answers name itself: musl's
// libc is its loader, and it refuses to load lib{c,pthread,rt,m,dl,util,xnet}.*
// as separate files.
func isMuslBuiltin(name string) bool {
	rest, ok := strings.CutPrefix(name, "lib")
	if !ok {
		return false
	}
	for _, r := range []string{"c.", "pthread.", "rt.", "m.", "dl.", "util.", "xnet."} {
		if strings.HasPrefix(rest, r) {
			return true
		}
	}
	return false
}
