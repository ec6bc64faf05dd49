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
	s := &search{r: r, name: name}
	if s.in(pairs(r.opts.libraryPath), "ld_library_path") {
		return s.result()
	}
	for l := n; l != nil; l = l.loader {
		dirs, via := l.obj.runpath, "runpath"
		if len(dirs) == 0 {
			dirs, via = l.obj.rpath, "rpath"
		}
		if s.in(r.expandAll(dirs, l), via) {
			return s.result()
		}
	}
	s.in(pairs(r.muslPath().dirs), "musl-path")
	return s.result()
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
