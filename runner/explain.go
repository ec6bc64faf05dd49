package runner

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/scratchpack/scratchpack/elfdeps"
)

// ProblemNoProgram is the code of the Problem for an entrypoint that is not
// in the image at all.
const ProblemNoProgram = "no-program"

// explain inspects the program of p inside root, after it failed, and
// fills in res with what would make it fail there: a missing program,
// loader or library, a glibc too old, another architecture; what it
// probably loads at run time that its closure does not show; and the data
// files its C library functions read that the image lacks.
func explain(res *Result, root *elfdeps.Root, p *process, arch string, emulated bool, hostArch string) {
	prog, err := findProgram(root, p.Args[0], envPath(p.Env), p.Cwd)
	if err != nil {
		res.Problems = []elfdeps.Problem{{Code: ProblemNoProgram,
			Symptom: fmt.Sprintf("exec: %q: no such file or directory", p.Args[0]),
			Message: fmt.Sprintf("%s: check the entrypoint and command, and the path the program was packed at", err)}}
		return
	}
	f, _, err := root.Open(prog)
	if err != nil {
		return
	}
	defer f.Close() // Analyze closes it too
	target := hostArch
	if emulated {
		target = arch
	}
	dir := path.Dir(prog)
	a, err := elfdeps.Analyze(root, elfdeps.Program{Path: prog, File: f},
		elfdeps.AnalyzeOptions{Resolve: []elfdeps.Option{elfdeps.WithOrigin(dir, dir)}, Target: target, Hints: true})
	if errors.Is(err, elfdeps.ErrScript) {
		res.Problems = explainScript(root, prog)
		return
	}
	if err != nil {
		return // not a program scratchpack can say anything about
	}
	defer a.Close()
	res.Problems, res.Hints = a.Problems, a.Hints
	for _, rf := range elfdeps.RuntimeFiles(f) {
		if _, err := root.Stat(rf.Path); err != nil {
			res.MissingFiles = append(res.MissingFiles, rf)
		}
	}
}

// findProgram is where the kernel finds name in the image: as it is with a
// slash (relative to cwd), else in PATH.
func findProgram(root *elfdeps.Root, name string, dirs []string, cwd string) (string, error) {
	if strings.Contains(name, "/") {
		p := name
		if !path.IsAbs(p) {
			p = path.Join(cwd, p)
		}
		if _, err := root.Stat(p); err != nil {
			return "", fmt.Errorf("the image has no %s", p)
		}
		return p, nil
	}
	for _, d := range dirs {
		p := path.Join("/", d, name)
		if fi, err := root.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", fmt.Errorf("the image has no %s in PATH (%s)", name, strings.Join(dirs, ":"))
}

// explainScript checks the #! interpreter of a script.
func explainScript(root *elfdeps.Root, prog string) []elfdeps.Problem {
	b, err := root.ReadFile(prog)
	if err != nil {
		return nil
	}
	line, _, _ := strings.Cut(string(b), "\n")
	fields := strings.Fields(strings.TrimPrefix(line, "#!"))
	if len(fields) == 0 {
		return nil
	}
	if _, err := root.Stat(fields[0]); err == nil {
		return nil
	}
	return []elfdeps.Problem{{Code: elfdeps.ProblemNoInterpreter,
		Symptom: fmt.Sprintf("exec %s: no such file or directory", prog),
		Message: fmt.Sprintf("%s is a script for %s, which is not in the image: add the interpreter, or use a base that has it", prog, fields[0])}}
}
