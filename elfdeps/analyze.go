package elfdeps

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// Program is the file Analyze reads: a program, or a library.
type Program struct {
	// Path names it in reports and problems: a host path, or where it is
	// (or will be) in an image.
	Path string
	// File is its content, open for the whole analysis.
	File ReadAtCloser
	// Dir is the directory it is in, where a PyInstaller --onedir program
	// keeps its _internal/ directory; nil when there is none to read.
	Dir fs.FS
	// Report is File already inspected (to choose its root by its
	// architecture, say), so that Analyze does not parse it again; nil
	// means Analyze inspects it.
	Report *Report
}

// OpenProgram opens the host file at name for Analyze, with the directory
// it is in. Its errors are InspectFile's (a *FileError naming the file).
func OpenProgram(name string) (p Program, err error) {
	defer func() {
		if err != nil {
			err = &FileError{Path: name, Err: err}
		}
	}()
	// Stat before opening: opening a fifo for reading blocks until a writer comes.
	fi, err := os.Stat(name)
	if err != nil {
		return p, unwrapPathError(err)
	}
	if !fi.Mode().IsRegular() {
		if fi.IsDir() {
			return p, fmt.Errorf("%w: it is a directory", ErrNotRegular)
		}
		return p, fmt.Errorf("%w (%s)", ErrNotRegular, fi.Mode().Type())
	}
	f, err := os.Open(name)
	if err != nil {
		return p, unwrapPathError(err)
	}
	return Program{Path: name, File: f, Dir: os.DirFS(filepath.Dir(name))}, nil
}

// Inspect reads the program's ELF file, as the package's Inspect does, and
// keeps the report for Analyze, which then does not parse it again: what
// callers use to choose the root by the program's architecture. Errors
// name the file and what to do.
func (p *Program) Inspect() (*Report, error) {
	if p.Report != nil {
		return p.Report, nil
	}
	rep, err := Inspect(p.File)
	if err != nil {
		return nil, &FileError{Path: p.Path, Err: withHint(err, p.File)}
	}
	rep.Path = p.Path
	p.Report = rep
	return rep, nil
}

// AnalyzeOptions say how Analyze sees the program.
type AnalyzeOptions struct {
	// Resolve are the resolver's options: WithOrigin (where the program is,
	// and will be), WithLibraryPath.
	Resolve []Option
	// Env is the environment the program will run with (the image's): a
	// TZ naming a zone makes the zone database a need.
	Env []string
	// Target is the GOARCH of the machine that will run it, for the "exec
	// format error" problem; "" when it runs where its root belongs.
	Target string
	// Hints asks for what the program probably loads with dlopen, which
	// reads the strings of every object that calls it.
	Hints bool
	// Loader takes the closure from the host's own loader (ld.so --list,
	// see ResolveWithLoader) instead of the resolver: for host programs,
	// and it executes the loader on the file.
	Loader bool
}

// Analysis is what scratchpack knows of a program without running it.
type Analysis struct {
	Report   *Report
	Closure  *Closure     // its libraries, resolved in the root
	Needs    []Need       // what it needs at run time beyond its closure
	Hints    []DlopenHint // what it probably loads with dlopen (AnalyzeOptions.Hints)
	Problems []Problem    // why it would not start, from the root's point of view
	Warnings []string     // what could not be read; the analysis goes on without it
	// Embedded are the libraries inside a PyInstaller program (its archive,
	// or _internal/ beside it); PySystem and PyMissing the system libraries
	// they need, which PyInstaller leaves out, resolved in the root.
	Embedded  []*Report
	PySystem  []Library
	PyMissing []Missing

	root    *Root
	ownRoot bool // root was made sharing for this analysis, which closes it
	opts    AnalyzeOptions
	file    ReadAtCloser
}

// Analyze reads prog, resolves its closure in root, and works out its
// run-time needs, its dlopen hints (if asked) and the problems that would
// keep it from starting, parsing each object once: the passes share their
// reads through a Sharing Root. A program that is not ELF, or is broken,
// gives Inspect's errors; everything else that cannot be read is a
// warning. Analyze owns prog.File from then on: the caller closes the
// Analysis, which keeps files open for Resolve; on error, Analyze has.
func Analyze(root *Root, prog Program, o AnalyzeOptions) (*Analysis, error) {
	rep, err := prog.Inspect()
	if err != nil {
		prog.File.Close()
		return nil, err
	}
	a := &Analysis{Report: rep, root: root.Sharing(), ownRoot: root.objects == nil, opts: o, file: prog.File}
	if o.Loader {
		a.Closure, err = ResolveWithLoader(prog.Path, rep)
	} else {
		a.Closure, err = a.Resolve()
	}
	if err != nil {
		a.Close()
		return nil, err
	}
	if rep.PyInstaller != nil {
		if err := a.pyinstaller(prog); err != nil {
			a.Warnings = append(a.Warnings, err.Error()) // the program itself is still analysed
		}
	}
	needs, warns := RuntimeNeeds(a.root, rep, a.Closure, WithEnv(o.Env), WithEmbedded(a.Embedded...),
		func(no *needsOptions) { no.programOpen = true })
	a.Needs, a.Warnings = needs, append(a.Warnings, warns...)
	if o.Hints {
		a.Hints = DlopenHints(a.root, prog.File, rep, a.Closure)
	}
	a.Problems = Diagnose(rep, a.Closure, a.root.String(), o.Target)
	return a, nil
}

// Resolve resolves the program again in the root of the analysis, with
// more options (WithDlopen of libraries it loads at run time), reusing the
// objects the analysis parsed.
func (a *Analysis) Resolve(more ...Option) (*Closure, error) {
	opts := append(append([]Option(nil), a.opts.Resolve...), more...)
	c, err := Resolve(a.root, a.Report, opts...)
	if err != nil {
		return nil, fmt.Errorf("resolving the libraries of %s in %s: %w", a.Report.Path, a.root, err)
	}
	return c, nil
}

// Share returns a Root over r's files that reuses the objects this analysis
// parsed wherever r reaches the same host files: the finished image of a
// pack, whose libraries are the files the analysis read. Valid until Close.
func (a *Analysis) Share(r *Root) *Root { return r.SharingWith(a.root) }

// Close closes the program and the files of the objects the analysis kept.
func (a *Analysis) Close() error {
	var err error
	if a.ownRoot {
		err = a.root.Close()
	}
	if a.file != nil {
		if cerr := a.file.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// ErrNoOnedir is wrapped when a PyInstaller --onedir program has no
// _internal directory beside it.
var ErrNoOnedir = errors.New("a PyInstaller --onedir program without its _internal directory")

// pyinstaller reads the libraries inside a PyInstaller program and
// resolves the system libraries they need.
func (a *Analysis) pyinstaller(prog Program) error {
	pi := a.Report.PyInstaller
	var err error
	if pi.Mode == "onefile" {
		if a.Embedded, err = pi.EmbeddedLibraries(prog.File); err != nil {
			return fmt.Errorf("%s: reading its PyInstaller archive: %w", prog.Path, err)
		}
	} else {
		var fi fs.FileInfo
		if prog.Dir != nil {
			fi, err = fs.Stat(prog.Dir, "_internal")
		}
		if prog.Dir == nil || err != nil || !fi.IsDir() {
			return fmt.Errorf("%w: %s: keep the program in its dist/ folder, with _internal/ beside it", ErrNoOnedir, prog.Path)
		}
		dir, err := fs.Sub(prog.Dir, "_internal")
		if err != nil {
			return err
		}
		if a.Embedded, err = pi.OnedirLibraries(dir); err != nil {
			return fmt.Errorf("%s: reading _internal/ beside it: %w", prog.Path, err)
		}
	}
	sys := SystemLibraries(a.Embedded)
	if len(sys) == 0 {
		return nil
	}
	names := make([]string, 0, len(sys))
	for n := range sys {
		names = append(names, n)
	}
	sort.Strings(names)
	c, err := a.Resolve(WithDlopen("PyInstaller", names...))
	if err != nil {
		return err
	}
	for _, l := range c.Libraries {
		if l.Dlopen != "" {
			a.PySystem = append(a.PySystem, l)
		}
	}
	for _, m := range c.Missing {
		if m.Dlopen != "" {
			a.PyMissing = append(a.PyMissing, m)
		}
	}
	return nil
}
