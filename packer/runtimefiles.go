package packer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/scratchpack/scratchpack/elfdeps"
)

// Files scratchpack writes itself: fixed content, the same on every machine.
const (
	// nsswitchConf names only the sources glibc 2.34 and later has built in
	// (files, dns), so no NSS module of the build machine is needed.
	nsswitchConf = "# written by scratchpack: only the sources built into glibc\n" +
		"passwd:    files\ngroup:     files\nshadow:    files\nhosts:     files dns\n" +
		"networks:  files\nprotocols: files\nservices:  files\nethers:    files\nrpc:       files\n"
	hostsFile = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
)

// generated are the files of the run-time needs that scratchpack writes
// rather than copies.
var generated = map[string]string{
	"/etc/nsswitch.conf": nsswitchConf,
	"/etc/hosts":         hostsFile,
	"/etc/passwd":        passwd,
	"/etc/group":         group,
}

// placer adds run-time files to a set, through the links of the base.
type placer struct {
	set   *FileSet
	base  fs.FS
	union *elfdeps.Root
	src   dataSource
	notes []string
	// baseLibc: the image's libc.so.6 comes from the base, not from here.
	baseLibc bool
}

// placeRuntime adds the files of the run-time needs that were added, the
// files named with --include, and what every image gets: /tmp (mode 1777)
// and, where the base has none and unless --no-runtime-extras, /etc/passwd
// and /etc/group with root and nonroot.
func placeRuntime(set *FileSet, base fs.FS, p *runtimePlan, spec Spec, fromBase []string) error {
	pl := &placer{set: set, base: base, union: elfdeps.NewRoot(overlayFS{base: base, set: set}, "the image"),
		src: dataSource{root: spec.Root, imageRoot: spec.Runtime.ImageRoot}}
	for _, so := range fromBase {
		pl.baseLibc = pl.baseLibc || so == "libc.so.6"
	}
	for i := range p.needs {
		if p.needs[i].Added {
			if err := pl.need(&p.needs[i], spec); err != nil {
				return err
			}
		}
	}
	for _, inc := range spec.Runtime.Include {
		if err := pl.include(inc, "included: "+inc); err != nil {
			return fmt.Errorf("including %s: %w", inc, err)
		}
	}
	for _, inc := range p.include {
		if pl.baseHas(inc.path) || set.Has(inc.path) {
			continue
		}
		if err := pl.include(inc.path, inc.why); err != nil {
			return fmt.Errorf("adding %s (%s): %w", inc.path, inc.why, err)
		}
	}
	for _, d := range p.includeDirs {
		if pl.baseHas(d) || set.Has(d) {
			continue
		}
		if err := pl.dir(d, whyTraced); err != nil {
			pl.notes = append(pl.notes, fmt.Sprintf("directory %s, which the traced run used, not added: %v", d, err))
		}
	}
	if !pl.baseHas("/tmp") {
		if err := set.Add(Entry{Path: "/tmp", Type: TypeDir, Mode: fs.ModeSticky | 0o777, Why: "always: a writable /tmp"}); err != nil {
			return err
		}
	}
	if !spec.Runtime.NoExtras && !spec.Runtime.ImageRoot { // --user nonroot writes its own (placeExtras)
		for _, f := range []string{"/etc/passwd", "/etc/group"} {
			if err := pl.generate(f, "by default: users root and nonroot"); err != nil {
				return err
			}
		}
	}
	if e := set.Get("/etc/passwd"); e != nil && e.Source == "" && string(e.Data) == passwd {
		for _, h := range homes {
			if pl.baseHas(h.Path) {
				continue
			}
			h.Why = "the home directories of /etc/passwd"
			if err := pl.put(h); err != nil {
				return err
			}
		}
	}
	p.notes = append(p.notes, pl.notes...)
	return nil
}

// need adds the files of one need.
func (pl *placer) need(st *NeedStatus, spec Spec) error {
	why := needWhy(st.Need)
	switch st.Kind {
	case elfdeps.NeedNSS:
		for _, f := range st.Files {
			if _, ok := generated[f]; ok && pl.src.imageRoot {
				if err := pl.imageOwn(f, why); err != nil {
					return err
				}
				continue
			}
			if _, ok := generated[f]; ok {
				if err := pl.generate(f, why); err != nil {
					return err
				}
				continue
			}
			if err := pl.copyData(f, why, true); err != nil {
				return err
			}
		}
	case elfdeps.NeedGconv, elfdeps.NeedTZData:
		for _, dir := range st.Files {
			if pl.baseHas(dir) {
				continue // the base's own, which matches its glibc
			}
			if st.Kind == elfdeps.NeedGconv && pl.baseLibc {
				pl.notes = append(pl.notes, fmt.Sprintf("%s: the base provides libc.so.6 but not %s; gconv modules of another glibc build cannot be mixed in, so iconv_open will fail: use a base with them", why, dir))
				st.Added, st.Reason = false, "the base's glibc has no "+dir
				return nil
			}
			src, from, ok := pl.src.find(dir, st.Kind == elfdeps.NeedTZData)
			if !ok {
				st.Added, st.Reason = false, fmt.Sprintf("%s is not in %s", dir, pl.src.root)
				return nil
			}
			skip := map[string]bool{}
			if st.Kind == elfdeps.NeedTZData {
				skip["right"] = true // leap-second zones, read only for TZ=right/...
			}
			if err := pl.tree(src, dir, fromNote(why, from, pl.src.root), skip); err != nil {
				return err
			}
		}
	case elfdeps.NeedCACerts:
		bundle, from := spec.Runtime.CABundle, "the CA bundle asked for"
		if bundle == "" && pl.baseHas(elfdeps.CABundlePath) {
			return nil // the base's own bundle
		}
		if bundle == "" {
			var ok bool
			if bundle, from, ok = pl.src.find(elfdeps.CABundlePath, true); !ok && pl.src.imageRoot {
				st.Added, st.Reason = false, fmt.Sprintf("the image has no %s", elfdeps.CABundlePath)
				return nil
			} else if !ok {
				st.Added, st.Reason = false, fmt.Sprintf("no %s in %s or on this machine: install the ca-certificates package, or name a CA bundle to use", elfdeps.CABundlePath, pl.src.root)
				return nil
			}
		}
		fi, err := os.Stat(bundle)
		if err != nil {
			return fmt.Errorf("the CA bundle: %w", err)
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("the CA bundle %s is not a regular file", bundle)
		}
		if err := pl.put(Entry{Path: elfdeps.CABundlePath, Type: TypeFile, Mode: 0o644, Source: bundle, Size: fi.Size(), Why: fromNote(why, from, pl.src.root)}); err != nil {
			return err
		}
		for _, l := range st.Links {
			if err := pl.put(Entry{Path: l.Path, Type: TypeSymlink, Target: l.Target, Why: why}); err != nil {
				return err
			}
		}
	}
	return nil
}

// fromNote adds where a file came from to why, when not from the root.
func fromNote(why, from, root string) string {
	if from == root || from == "" {
		return why
	}
	return why + " (from " + from + ")"
}

// generate adds one of the generated files, unless the base has that path
// or a file was added there (Add).
func (pl *placer) generate(p, why string) error {
	if pl.baseHas(p) || pl.set.Has(p) {
		return nil
	}
	data := generated[p]
	return pl.put(Entry{Path: p, Type: TypeFile, Mode: 0o644, Data: []byte(data), Size: int64(len(data)), Why: why})
}

// imageOwn adds, for an image's root (ImageRoot), its own copy of a file
// scratchpack otherwise writes: /etc/nsswitch.conf and /etc/hosts are the
// root's if it has them, else written; the user database is the caller's
// (Add), never written.
func (pl *placer) imageOwn(p, why string) error {
	switch {
	case p == "/etc/passwd" || p == "/etc/group":
		return nil
	case pl.src.has(p):
		return pl.copyData(p, why+" (the image's own)", false)
	}
	return pl.generate(p, why)
}

// copyData adds the root's (or the host's) file at p, at the same path,
// unless the base has it or a file was added there (Add).
func (pl *placer) copyData(p, why string, fallback bool) error {
	if pl.baseHas(p) || pl.set.Has(p) {
		return nil
	}
	src, from, ok := pl.src.find(p, fallback)
	if !ok {
		pl.notes = append(pl.notes, fmt.Sprintf("%s is not in %s: not added (%s)", p, pl.src.root, why))
		return nil
	}
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", src)
	}
	return pl.put(Entry{Path: p, Type: TypeFile, Mode: 0o644, Source: src, Size: fi.Size(), Why: fromNote(why, from, pl.src.root)})
}

// include adds a path of the root at the same path: the links met on the
// way to it as links, then the file, or the directory with all it holds.
func (pl *placer) include(p, why string) error {
	clean, err := CleanImagePath(p)
	if err != nil {
		return err
	}
	real, links, err := elfdeps.DirRoot(pl.src.root).Resolve(clean)
	if err != nil {
		return err
	}
	for _, l := range links {
		if err := pl.put(Entry{Path: l.Path, Type: TypeSymlink, Target: l.Target, Why: why}); err != nil {
			return err
		}
	}
	src := hostPath(pl.src.root, real)
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return pl.tree(src, real, why, nil)
	}
	return addFile(pl, src, real, why, fi)
}

// dir makes the directory p of the root at the same path, empty: the links
// met on the way to it as links, then the directory itself.
func (pl *placer) dir(p, why string) error {
	clean, err := CleanImagePath(p)
	if err != nil {
		return err
	}
	real, links, err := elfdeps.DirRoot(pl.src.root).Resolve(clean)
	if err != nil {
		return err
	}
	for _, l := range links {
		if err := pl.put(Entry{Path: l.Path, Type: TypeSymlink, Target: l.Target, Why: why}); err != nil {
			return err
		}
	}
	if real == "/" {
		return nil
	}
	return pl.put(Entry{Path: real, Type: TypeDir, Mode: 0o755, Why: why})
}

func addFile(pl *placer, src, dest, why string, fi fs.FileInfo) error {
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is a %s: only files, directories and links can be added", src, fi.Mode().Type())
	}
	mode := fs.FileMode(0o644)
	if fi.Mode()&0o111 != 0 {
		mode = 0o755
	}
	return pl.put(Entry{Path: dest, Type: TypeFile, Mode: mode, Source: src, Size: fi.Size(), Why: why})
}

// tree adds the host directory src at dir in the image, with everything in
// it: links are kept when they stay inside the tree (or are absolute), and
// top-level names in skip are left out.
func (pl *placer) tree(src, dir, why string, skip map[string]bool) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if top, _, _ := strings.Cut(rel, "/"); skip[top] {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		dest := path.Join(dir, rel)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		switch {
		case fi.IsDir():
			return pl.put(Entry{Path: dest, Type: TypeDir, Mode: 0o755, Why: why})
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if !path.IsAbs(target) && !strings.HasPrefix(path.Join(path.Dir(dest), target)+"/", dir+"/") {
				return nil // leads out of the tree
			}
			return pl.put(Entry{Path: dest, Type: TypeSymlink, Target: target, Why: why})
		case fi.Mode().IsRegular():
			return addFile(pl, p, dest, why, fi)
		}
		return nil // sockets, fifos, devices
	})
}

// put adds e where it lands in the image, through the base's links.
func (pl *placer) put(e Entry) error {
	return placeEntry(pl.set, pl.union, pl.base, e)
}

// baseHas reports whether the base has something at p.
func (pl *placer) baseHas(p string) bool {
	if pl.base == nil {
		return false
	}
	_, err := fs.Lstat(pl.base, fsName(p))
	return err == nil || !errors.Is(err, fs.ErrNotExist)
}
