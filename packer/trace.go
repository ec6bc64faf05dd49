package packer

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/scratchpack/scratchpack/elfdeps"
)

// Trace is what one traced run of a program used: the paths it opened,
// executed, listed, or resolved with stat, access or readlink, that exist.
type Trace struct {
	Libraries   []string `json:"libraries"`   // ELF shared objects, by the path they were used by
	Files       []string `json:"files"`       // other regular files
	Programs    []string `json:"programs"`    // programs executed (the program itself left out)
	Directories []string `json:"directories"` // directories listed or resolved: they go in empty, with the entries used
	// StatOnly are the files and directories above that the run only
	// resolved (stat, access, readlink) and never opened, executed or listed:
	// Python's landmarks and the sources beside its .pyc, plugins found by access.
	StatOnly []string          `json:"stat_only"`
	Skipped  []string          `json:"skipped"`  // used but not for an image: /proc, /dev, /tmp, the loader cache, the user's home
	LeftOut  map[string]string `json:"left_out"` // why each of Skipped was left out
	ExitCode int               `json:"exit_code"`
	TimedOut bool              `json:"timed_out"`
	Output   string            `json:"output"` // the program's stdout and stderr, cut at 64 kB
}

// traceAddition is what a trace, and the programs RuntimeSpec.Programs
// names, add to an image.
type traceAddition struct {
	trace *Trace
	libs  []dlopenRequest // libraries to resolve with their closures
	files []included      // files of the root, at the same path
	dirs  []string        // directories of the root, made empty at the same path
}

// included is a path of the root to add at the same path, and why.
type included struct{ path, why string }

// The reasons of what a trace adds.
const (
	whyTraced   = "traced: used by the run"
	whyProgram  = "asked for: program "
	whyExecuted = "traced: executed by the run"
)

// traceAdditions turns what a traced run used into libraries to resolve
// (with their closures), files to include and directories to make: a
// program it executed comes with its own loader and libraries, a script
// with its interpreter's. The programs named come the same way. Paths are
// of root, where the run's files and the programs are read.
func traceAdditions(tr *Trace, programs []string, root string) (*traceAddition, error) {
	add := &traceAddition{trace: tr}
	// A program, the reason it goes in, and what its libraries' reasons start with.
	type prog struct{ path, why, by string }
	var progs []prog
	for _, p := range programs {
		progs = append(progs, prog{p, whyProgram + p, "asked for"})
	}
	if tr != nil {
		for _, l := range tr.Libraries {
			add.libs = append(add.libs, dlopenRequest{name: l, why: whyTraced})
		}
		for _, f := range tr.Files {
			add.files = append(add.files, included{f, whyTraced})
		}
		add.dirs = append(add.dirs, tr.Directories...)
		for _, p := range tr.Programs {
			progs = append(progs, prog{p, whyExecuted, "traced"})
		}
	}
	if root == "" {
		root = "/"
	}
	seen := map[string]bool{}
	for len(progs) > 0 {
		p := progs[0]
		progs = progs[1:]
		if seen[p.path] {
			continue
		}
		seen[p.path] = true
		add.files = append(add.files, included{p.path, p.why})
		real, _, err := elfdeps.DirRoot(root).Resolve(p.path)
		if err != nil {
			return nil, fmt.Errorf("program %s (%s): %w", p.path, p.why, err)
		}
		host := hostPath(root, real)
		rep, err := elfdeps.InspectFile(host)
		if errors.Is(err, elfdeps.ErrScript) {
			if interp := scriptInterpreter(host); interp != "" {
				progs = append(progs, prog{interp, p.by + ": the interpreter of " + p.path, p.by})
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		placed := *rep
		placed.Path = real
		var opts []elfdeps.Option
		if dir, ok := elfdeps.OriginDir(root, host); ok {
			opts = append(opts, elfdeps.WithOrigin(path.Dir(real), dir))
		}
		c, err := elfdeps.Resolve(elfdeps.DirRoot(root), &placed, opts...)
		if err != nil {
			return nil, fmt.Errorf("resolving the libraries of %s (%s): %w", p.path, p.why, err)
		}
		if c.Interpreter != nil {
			add.files = append(add.files, included{c.Interpreter.Path, p.by + ": the loader of " + p.path})
		}
		for _, l := range c.Libraries {
			add.libs = append(add.libs, dlopenRequest{name: l.Path, why: p.by + ": needed by " + p.path})
		}
	}
	return add, nil
}

// scriptInterpreter returns the interpreter a #! script names, or "".
func scriptInterpreter(p string) string {
	f, err := os.Open(p)
	if err != nil {
		return ""
	}
	defer f.Close()
	line := make([]byte, 256)
	n, _ := f.Read(line)
	first, _, _ := strings.Cut(string(line[:n]), "\n")
	fields := strings.Fields(strings.TrimPrefix(first, "#!"))
	if len(fields) == 0 || !filepath.IsAbs(fields[0]) {
		return ""
	}
	return fields[0]
}

// traceLibs returns the libraries a trace adds, if there was one.
func traceLibs(t *traceAddition) []dlopenRequest { return t.libs }
