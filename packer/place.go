package packer

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"github.com/scratchpack/scratchpack/elfdeps"
)

// placeClosure adds to set the files of the closure that the base does not
// already provide: each library with the symbolic links the loader goes
// through to reach it (so libfoo.so.1 → libfoo.so.1.2.3 stays a link), at
// the paths the image's loader will open. It returns the sonames taken from
// the base instead.
//
// On a base that has a glibc loader, glibc's own libraries come from the
// base, never from the host: mixing two glibc builds breaks at startup. A
// glibc library the base lacks is taken from the host only if both glibcs
// are the same version.
func placeClosure(set *FileSet, base fs.FS, c *elfdeps.Closure, rep *elfdeps.Report, spec Spec) ([]string, error) {
	var fromBase []string
	provided := map[string]bool{}
	var baseC *elfdeps.Closure
	if base != nil {
		var err error
		if _, baseC, err = onBase(base, rep, spec); err != nil {
			return nil, err
		}
		// The host's closure knows what every bundled library needs; the
		// base knows what its glibc and libstdc++ provide.
		versions := &elfdeps.Closure{GlibcMin: c.GlibcMin, GlibcxxMin: c.GlibcxxMin,
			GlibcProvided: baseC.GlibcProvided, GlibcxxProvided: baseC.GlibcxxProvided}
		if ps := elfdeps.Diagnose(rep, versions, "base "+spec.Base.String(), ""); len(ps) > 0 {
			return nil, &WontRunError{Program: spec.Program, Where: "on " + spec.Base.String(), Problems: ps}
		}
		if baseC.Interpreter != nil {
			provided[baseC.Interpreter.Soname] = true
		}
		for _, l := range baseC.Libraries {
			provided[l.Soname] = true
		}
	}
	libs := c.Libraries
	if c.Interpreter != nil {
		libs = append([]elfdeps.Library{*c.Interpreter}, libs...)
	}
	baseGlibc := baseC != nil && baseC.Interpreter != nil
	for _, l := range libs {
		if provided[l.Soname] {
			fromBase = append(fromBase, l.Soname)
			continue
		}
		if baseGlibc && elfdeps.IsGlibcSoname(l.Soname) && baseC.GlibcProvided != "" && baseC.GlibcProvided != c.GlibcProvided {
			return nil, &WontRunError{Program: spec.Program, Where: "on " + spec.Base.String(), Problems: []elfdeps.Problem{{
				Code:    "glibc-mix",
				Symptom: "error while loading shared libraries: " + l.Soname,
				Message: fmt.Sprintf("base %s has glibc %s but not %s, and this machine's %s comes from glibc %s: "+
					"two glibc builds cannot be mixed; use a base with %s, or add it to the base",
					spec.Base, baseC.GlibcProvided, l.Soname, l.Soname, c.GlibcProvided, l.Soname)}}}
		}
		shared := (c.Interpreter != nil && l.Soname == c.Interpreter.Soname) || elfdeps.IsGlibcSoname(l.Soname)
		if err := placeLibrary(set, base, l, spec.Root, shared); err != nil {
			return nil, err
		}
	}
	return fromBase, nil
}

// placeLibrary adds one library and the links in front of it.
// shared marks its entries as part of the C library set.
func placeLibrary(set *FileSet, base fs.FS, l elfdeps.Library, root string, shared bool) error {
	union := elfdeps.NewRoot(overlayFS{base: base, set: set}, "the image")
	src := hostPath(root, l.RealPath)
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	why := "needed by " + l.NeededBy[0]
	if l.Dlopen != "" {
		why = "loaded at run time by " + l.Dlopen
	}
	if l.Source != "" {
		// Found through the program's $ORIGIN, which moves with the program:
		// the file goes where $ORIGIN will point in the image.
		return placeEntry(set, union, base, Entry{Path: l.Path, Type: TypeFile, Mode: 0o755, Source: src, Size: fi.Size(), Why: why, Shared: shared})
	}
	for _, link := range l.Links {
		if err := placeEntry(set, union, base, Entry{Path: link.Path, Type: TypeSymlink, Target: link.Target, Why: why, Shared: shared}); err != nil {
			return err
		}
	}
	return placeEntry(set, union, base, Entry{Path: l.RealPath, Type: TypeFile, Mode: 0o755, Source: src, Size: fi.Size(), Why: why, Shared: shared})
}

// placeEntry adds e where it lands in the image: through the symbolic links
// already in the base or the set. What is already there identically is not
// added again; a link where the image already has a directory is not needed.
func placeEntry(set *FileSet, union *elfdeps.Root, base fs.FS, e Entry) error {
	dir, err := union.ResolveExisting(path.Dir(e.Path))
	if err != nil {
		return fmt.Errorf("placing %s: %w", e.Path, err)
	}
	e.Path = path.Join(dir, path.Base(e.Path))
	if set.Has(e.Path) {
		return set.Add(e)
	}
	if base != nil {
		same, err := baseHas(base, e)
		if err != nil {
			return err
		}
		if same {
			return nil
		}
	}
	return set.Add(e)
}

// baseHas reports whether the base already has e, or has a directory where e
// is a link (the link's job, reaching the directory, is done).
func baseHas(base fs.FS, e Entry) (bool, error) {
	name := fsName(e.Path)
	fi, err := fs.Lstat(base, name)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	switch {
	case e.Type == TypeSymlink && fi.Mode()&fs.ModeSymlink != 0:
		target, err := fs.ReadLink(base, name)
		return err == nil && target == e.Target, err
	case e.Type == TypeSymlink && fi.IsDir():
		return true, nil
	case e.Type == TypeFile && fi.Mode().IsRegular() && fi.Size() == e.Size:
		theirs, err := fs.ReadFile(base, name)
		if err != nil {
			return false, err
		}
		ours, err := os.ReadFile(e.Source)
		return err == nil && bytes.Equal(theirs, ours), err
	}
	return false, nil
}

// placeProgram adds the program itself at spec.Dest.
func placeProgram(set *FileSet, rep *elfdeps.Report, spec Spec) error {
	fi, err := os.Stat(spec.Program)
	if err != nil {
		return err
	}
	return set.Add(Entry{Path: spec.Dest, Type: TypeFile, Mode: 0o755 | suidBits(fi, spec.KeepSUID), Source: spec.Program, Size: fi.Size(), Why: "the program"})
}

// hostPath turns a path in the root into a host path.
func hostPath(root, p string) string { return filepath.Join(root, filepath.FromSlash(p)) }

// fsName turns an absolute image path into an io/fs name.
func fsName(p string) string {
	if p == "/" {
		return "."
	}
	return p[1:]
}
