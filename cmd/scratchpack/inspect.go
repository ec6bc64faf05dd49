package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/urfave/cli/v2"

	"github.com/scratchpack/scratchpack/elfdeps"
)

func inspectCommand() *cli.Command {
	return &cli.Command{
		Name:        "inspect",
		Usage:       "show what a program needs to start: loader, libraries, glibc version",
		ArgsUsage:   "FILE...",
		Description: helpText("inspect"),
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print one JSON object per file, one per line"},
			&cli.StringSliceFlag{Name: "sysroot", Aliases: []string{"root"}, Usage: "resolve libraries inside `DIR` (a sysroot or an unpacked image), as a chroot would; OS/ARCH=DIR per platform (default: / for this machine's programs, /usr/TRIPLET for others)"},
			&cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "the program will run with `K=V` (TZ=Area/City makes the zone database a need); repeatable"},
			&cli.StringSliceFlag{Name: "library-path", Usage: "search `DIR` as LD_LIBRARY_PATH would (off by default: images do not inherit it)"},
			&cli.StringFlag{Name: "resolver", Value: "builtin", Usage: "`builtin` (pure Go, any architecture) or ldso (runs the host's loader with --list: host programs only, executes the loader on the file)"},
		},
		Action: runInspect,
	}
}

func runInspect(c *cli.Context) error {
	files := operands(c)
	if len(files) == 0 {
		return withCode(exitBadInput, errors.New("inspect needs at least one FILE; see scratchpack inspect --help"))
	}
	sr, err := parseSysroots(c.StringSlice("sysroot"))
	if err != nil {
		return withCode(exitBadInput, err)
	}
	resolver := c.String("resolver")
	if resolver != "builtin" && resolver != "ldso" {
		return withCode(exitBadInput, fmt.Errorf("--resolver %q: want builtin or ldso", resolver))
	}
	// Every file is reported; the exit status is the worst found: a file
	// that could not be inspected (2), else one that would not start (3).
	var bad []string
	var failed error
	for _, file := range files {
		a, err := analyze(file, sr, c.StringSlice("library-path"), resolver == "ldso", c.StringSlice("env"))
		if err != nil {
			fmt.Fprintf(c.App.ErrWriter, "scratchpack: %v\n", err)
			bad = append(bad, file)
			continue
		}
		if c.Bool("json") {
			b, err := json.Marshal(a)
			if err != nil {
				return err
			}
			fmt.Fprintln(c.App.Writer, string(b))
		} else {
			printAnalysis(c.App.Writer, a)
		}
		if len(a.Problems) > 0 && failed == nil {
			failed = withCode(exitWontRun, fmt.Errorf("%s would not start: %s", file, a.Problems[0].Symptom))
		}
	}
	if len(bad) > 0 {
		return withCode(exitBadInput, fmt.Errorf("%d of %d files could not be inspected: %s", len(bad), len(files), strings.Join(bad, ", ")))
	}
	return failed
}

// analysis is the inspect result for one file: its report, closure and problems.
type analysis struct {
	*elfdeps.Report
	Loader          *elfdeps.Library  `json:"loader"`
	Libraries       []elfdeps.Library `json:"libraries"`
	Missing         []elfdeps.Missing `json:"missing"`
	ClosureGlibcMin string            `json:"closure_glibc_min,omitempty"`
	GlibcProvided   string            `json:"glibc_provided,omitempty"`
	BundleSize      int64             `json:"bundle_size"`
	Problems        []elfdeps.Problem `json:"problems"`
	Root            string            `json:"root"`
	Needs           []elfdeps.Need    `json:"runtime_needs"`
	// PySystem are the system libraries a PyInstaller program's embedded
	// libraries need (PyInstaller leaves them out), resolved in the sysroot.
	PySystem  []elfdeps.Library `json:"pyinstaller_system_libraries,omitempty"`
	PyMissing []elfdeps.Missing `json:"pyinstaller_missing,omitempty"`
	// DlopenHints are what the program probably loads at run time that
	// Libraries does not show.
	DlopenHints []elfdeps.DlopenHint `json:"dlopen_hints"`
}

func analyze(file string, sr *sysroots, libPath []string, ldso bool, env []string) (*analysis, error) {
	prog, err := elfdeps.OpenProgram(file)
	if err != nil {
		return nil, err
	}
	rep, err := prog.Inspect()
	if err != nil {
		prog.File.Close()
		return nil, err
	}
	root, given, err := sr.forPlatform(v1.Platform{OS: "linux", Architecture: rep.Arch, Variant: rep.Variant})
	if err == nil && root == "" {
		root, err = elfdeps.FindSysroot(rep)
		var se *elfdeps.SysrootError
		if errors.As(err, &se) {
			prog.File.Close()
			return noSysroot(rep, se), nil
		}
	}
	if err == nil {
		root, err = filepath.Abs(root)
	}
	if err != nil {
		prog.File.Close()
		return nil, err
	}
	o := elfdeps.AnalyzeOptions{Resolve: []elfdeps.Option{elfdeps.WithLibraryPath(libPath...)}, Env: env, Hints: true, Loader: ldso}
	if dir, ok := elfdeps.OriginDir(root, file); ok {
		o.Resolve = append(o.Resolve, elfdeps.WithOrigin(dir, dir))
	}
	// On this machine, a program of another architecture fails with
	// "exec format error"; in a sysroot, it is meant for that sysroot.
	if root == "/" && (given || rep.Arch == runtime.GOARCH) {
		o.Target = runtime.GOARCH
	}
	a, err := elfdeps.Analyze(elfdeps.DirRoot(root), prog, o)
	if err != nil {
		return nil, err
	}
	defer a.Close()
	a.Report.Warnings = append(append(a.Report.Warnings, a.Closure.Warnings...), a.Warnings...)
	cl := a.Closure
	return &analysis{
		Report: a.Report, Loader: cl.Interpreter, Libraries: cl.Libraries, Missing: cl.Missing,
		ClosureGlibcMin: cl.GlibcMin, GlibcProvided: cl.GlibcProvided, BundleSize: cl.Size(),
		Problems: nonNilProblems(a.Problems), Root: root, Needs: nonNilNeeds(a.Needs),
		PySystem: a.PySystem, PyMissing: a.PyMissing, DlopenHints: a.Hints,
	}, nil
}

func nonNilNeeds(n []elfdeps.Need) []elfdeps.Need {
	if n == nil {
		return []elfdeps.Need{}
	}
	return n
}

func nonNilProblems(p []elfdeps.Problem) []elfdeps.Problem {
	if p == nil {
		return []elfdeps.Problem{}
	}
	return p
}

// noSysroot is the analysis of a program of another architecture that has
// no sysroot to be resolved in.
func noSysroot(rep *elfdeps.Report, se *elfdeps.SysrootError) *analysis {
	return &analysis{
		Report: rep, Libraries: []elfdeps.Library{}, Missing: []elfdeps.Missing{}, Needs: []elfdeps.Need{},
		DlopenHints: []elfdeps.DlopenHint{},
		Problems:    []elfdeps.Problem{{Code: "no-sysroot", Symptom: "no sysroot for " + se.Platform, Message: se.Error() + " (" + sysrootHint(se) + ")"}},
	}
}
