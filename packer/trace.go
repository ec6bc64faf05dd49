package packer

import (
	"errors"
	"fmt"
	"os"
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

// traceAddition is what a trace adds to an image.
type traceAddition struct {
	trace *Trace
	libs  []dlopenRequest // libraries to resolve with their closures
	files []string        // files of this machine, at the same path
	dirs  []string        // directories of this machine, made empty at the same path
}

// traceAdditions turns what a traced run used into libraries to resolve
// (with their closures), files to include and directories to make: a
// program it executed comes with its own loader and libraries, a script
// with its interpreter's.
func traceAdditions(tr *Trace) (*traceAddition, error) {
	add := &traceAddition{}
	if tr == nil {
		return add, nil
	}
	add.trace = tr
	for _, l := range tr.Libraries {
		add.libs = append(add.libs, dlopenRequest{name: l, why: "traced: used by the run"})
	}
	add.files = append(add.files, tr.Files...)
	add.dirs = append(add.dirs, tr.Directories...)
	seen := map[string]bool{}
	progs := append([]string(nil), tr.Programs...)
	for len(progs) > 0 {
		p := progs[0]
		progs = progs[1:]
		if seen[p] {
			continue
		}
		seen[p] = true
		add.files = append(add.files, p)
		rep, err := elfdeps.InspectFile(p)
		if errors.Is(err, elfdeps.ErrScript) {
			if interp := scriptInterpreter(p); interp != "" {
				progs = append(progs, interp)
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		c, err := elfdeps.Resolve(elfdeps.DirRoot("/"), rep)
		if err != nil {
			return nil, fmt.Errorf("resolving the libraries of %s, which the run executed: %w", p, err)
		}
		if c.Interpreter != nil {
			add.files = append(add.files, c.Interpreter.Path)
		}
		for _, l := range c.Libraries {
			add.libs = append(add.libs, dlopenRequest{name: l.Path, why: "traced: needed by " + p})
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
