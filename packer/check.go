package packer

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/scratchpack/scratchpack/elfdeps"
	"github.com/scratchpack/scratchpack/transfer"
)

// Verdict is what Check predicts for a program put on a base as it is,
// with nothing bundled.
type Verdict struct {
	Program  string            `json:"program"`
	Base     string            `json:"base"`
	Runs     bool              `json:"runs"`               // it starts: loader, libraries and versions are all right
	Libc     elfdeps.Libc      `json:"libc"`               // the program's C library
	BaseLibc elfdeps.Libc      `json:"base_libc"`          // the one the base provides (none for scratch)
	Problems []elfdeps.Problem `json:"problems"`           // why it will not start
	Warnings []string          `json:"warnings"`           // it starts, but a run-time need is missing from the base
	Closure  *elfdeps.Closure  `json:"closure,omitempty"`  // its libraries, resolved in the base
	Platform string            `json:"platform,omitempty"` // the base image's platform
}

// ErrCannotTell means Check cannot decide: the program's architecture is
// one scratchpack does not know, so its libraries cannot be resolved.
var ErrCannotTell = errors.New("cannot tell")

// Check predicts, without running anything, whether spec.Program would
// start on spec.Base if it were copied there alone (at spec.Dest): the
// architecture (exec format error), the interpreter (no such file or
// directory), the libraries, the glibc and libstdc++ versions the base's
// libc.so.6 and libstdc++.so.6 define, and glibc against musl. A program
// that starts but needs files the base lacks (certificates, zones, NSS
// files, libgcc_s) gets warnings. Errors are for inputs that cannot be read,
// and ErrCannotTell. The base is read from an index of its layers, kept in
// the cache (WithCache) for the next check or pack on it.
func Check(ctx context.Context, spec Spec, opts ...Option) (*Verdict, error) {
	rs, err := CheckAll(ctx, spec, []string{spec.Program}, opts...)
	if err != nil {
		return nil, err
	}
	return rs[0].Verdict, rs[0].Err
}

// CheckResult is what CheckAll says of one program: its verdict, or why
// there is none.
type CheckResult struct {
	Verdict *Verdict
	Err     error
}

// CheckAll is Check for each of programs on spec.Base, with spec's other
// fields (spec.Program is not used; a Dest, if given, is every program's):
// the base is read once for each platform the programs are built for. It
// returns one result for each program, in order; its error is for spec
// itself, or a canceled ctx.
func CheckAll(ctx context.Context, spec Spec, programs []string, opts ...Option) ([]CheckResult, error) {
	o, err := makeOptions(opts...)
	if err != nil {
		return nil, err
	}
	res := make([]CheckResult, len(programs))
	var order []string
	groups := map[string][]*checked{}
	for i, name := range programs {
		s := spec
		s.Program = name
		c, err := openChecked(s)
		if err != nil {
			res[i].Err = err
			continue
		}
		defer c.prog.File.Close() // Analyze closes it too; twice is harmless
		c.i = i
		key := c.platform.String()
		if groups[key] == nil {
			order = append(order, key)
		}
		groups[key] = append(groups[key], c)
	}
	for _, key := range order {
		if err := checkGroup(ctx, spec, groups[key], res, o); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// checked is one program of CheckAll, opened and inspected.
type checked struct {
	i        int
	spec     Spec
	prog     elfdeps.Program
	rep      *elfdeps.Report
	platform v1.Platform
	v        *Verdict
}

func openChecked(spec Spec) (*checked, error) {
	spec, err := spec.withDefaults()
	if err != nil {
		return nil, err
	}
	prog, err := elfdeps.OpenProgram(spec.Program)
	if err != nil {
		return nil, err
	}
	rep, err := prog.Inspect()
	if err != nil {
		prog.File.Close()
		return nil, err
	}
	if !knownArch(rep.Arch) {
		prog.File.Close()
		return nil, fmt.Errorf("%w: %s is built for %s, which scratchpack does not know", ErrCannotTell, spec.Program, rep.Arch)
	}
	v := &Verdict{Program: spec.Program, Base: spec.Base.String(), Libc: rep.Libc, Problems: []elfdeps.Problem{}, Warnings: []string{}}
	return &checked{spec: spec, prog: prog, rep: rep, v: v,
		platform: v1.Platform{OS: "linux", Architecture: rep.Arch, Variant: rep.Variant}}, nil
}

// checkGroup checks the programs of one platform on the base's image for
// it, read once. Its error is a canceled ctx.
func checkGroup(ctx context.Context, spec Spec, cs []*checked, res []CheckResult, o *options) error {
	fail := func(err error) error {
		for _, c := range cs {
			res[c.i].Err = err
		}
		return ctx.Err()
	}
	base, err := transfer.LoadBase(ctx, spec.Base, cs[0].platform, o.images...)
	var pe *transfer.PlatformError
	if errors.As(err, &pe) {
		for _, c := range cs {
			res[c.i].Verdict = c.v.wrongPlatform(c.rep, pe)
		}
		return nil
	}
	if err != nil {
		return fail(err)
	}
	platform := ""
	if cf, err := base.ConfigFile(); err == nil && cf.Platform() != nil {
		platform = cf.Platform().String()
	}
	var names []string
	for _, c := range cs {
		names = append(names, baseNames(c.rep, hostClosure(c.rep))...)
	}
	baseFS, bfs, err := openBase(ctx, base, cs[0].spec, o, wantedInBase(names))
	if err != nil {
		return fail(err)
	}
	if baseFS == nil {
		baseFS = overlayFS{set: NewFileSet()} // scratch: an empty root
	}
	for _, c := range cs {
		c.v.Platform = platform
		res[c.i].Verdict, res[c.i].Err = checkOn(baseFS, c)
		if res[c.i].Err != nil {
			res[c.i].Verdict = nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	_ = saveBase(bfs) // a cache that cannot take it costs the next check a pass
	return nil
}

// checkOn decides for one program on the base's file system.
func checkOn(baseFS fs.FS, c *checked) (*Verdict, error) {
	spec, rep, v := c.spec, c.rep, c.v
	where := "base " + spec.Base.String()
	// As it would be in the image, alone on the base: at spec.Dest, so that
	// $ORIGIN points where it will be.
	placed := *rep
	placed.Path = spec.Dest
	prog := c.prog
	prog.Path, prog.Report = spec.Dest, &placed
	dir := path.Dir(spec.Dest)
	root := elfdeps.NewRoot(baseFS, where)
	a, err := elfdeps.Analyze(root, prog, elfdeps.AnalyzeOptions{Resolve: []elfdeps.Option{elfdeps.WithOrigin(dir, dir)}, Env: spec.Config.Env})
	if err != nil {
		return nil, fmt.Errorf("resolving %s against base %s: %w", spec.Program, spec.Base, err)
	}
	defer a.Close()
	v.Closure = a.Closure
	var rootLoader string
	v.BaseLibc, rootLoader = elfdeps.RootLibc(root, rep)
	problems := a.Problems
	if p := elfdeps.DiagnoseLibc(&placed, v.BaseLibc, rootLoader, where); p != nil {
		// The precise reason replaces the generic missing loader.
		kept := []elfdeps.Problem{*p}
		for _, q := range problems {
			if q.Code != elfdeps.ProblemNoInterpreter {
				kept = append(kept, q)
			}
		}
		problems = kept
	}
	v.Problems = append(v.Problems, problems...)
	v.Runs = len(v.Problems) == 0
	if v.Runs {
		v.Warnings = append(v.Warnings, missingNeeds(root, a)...)
	}
	return v, nil
}

// hostClosure is the program's closure where its own libraries are (this
// machine, or the sysroot of its architecture), as a guess at what it will
// look for in a base; nil when it cannot be found.
func hostClosure(rep *elfdeps.Report) *elfdeps.Closure {
	root, err := elfdeps.FindSysroot(rep)
	if err != nil {
		return nil
	}
	c, err := elfdeps.Resolve(elfdeps.DirRoot(root), rep)
	if err != nil {
		return nil
	}
	return c
}

// onBase resolves the program as it would be in the image, alone on the
// base: at spec.Dest, so that $ORIGIN points where it will be. pack uses it
// to learn what the base already provides, Check to decide.
func onBase(base fs.FS, rep *elfdeps.Report, spec Spec, opts ...elfdeps.Option) (*elfdeps.Report, *elfdeps.Closure, error) {
	placed := *rep
	placed.Path = spec.Dest
	dir := path.Dir(spec.Dest)
	c, err := elfdeps.Resolve(elfdeps.NewRoot(base, "base"), &placed, append([]elfdeps.Option{elfdeps.WithOrigin(dir, dir)}, opts...)...)
	if err != nil {
		return nil, nil, fmt.Errorf("resolving %s against base %s: %w", spec.Program, spec.Base, err)
	}
	return &placed, c, nil
}

// wrongPlatform is the verdict for a base that has no image for the
// program's architecture.
func (v *Verdict) wrongPlatform(rep *elfdeps.Report, pe *transfer.PlatformError) *Verdict {
	target := ""
	for _, p := range pe.Have {
		if p.Architecture != "" {
			target = p.Architecture
			break
		}
	}
	if target == "" {
		target = "another platform"
	}
	v.Problems = append(v.Problems, elfdeps.Diagnose(rep, nil, "", target)...)
	if len(v.Problems) == 0 { // same architecture, another variant or OS
		v.Problems = append(v.Problems, elfdeps.Problem{Code: elfdeps.ProblemExecFormat, Symptom: "exec format error", Message: pe.Error()})
	}
	return v
}

// missingNeeds lists the default run-time needs the base does not meet.
func missingNeeds(root *elfdeps.Root, a *elfdeps.Analysis) []string {
	var out []string
	for _, n := range a.Needs {
		if !n.Default {
			continue
		}
		var lacking []string
		for _, f := range n.Files {
			if _, err := root.Stat(f); err != nil {
				lacking = append(lacking, f)
			}
		}
		if len(n.Libraries) > 0 {
			if dc, err := a.Resolve(elfdeps.WithDlopen(string(n.Kind), n.Libraries...)); err == nil {
				for _, m := range dc.Missing {
					if m.Dlopen != "" {
						lacking = append(lacking, m.Soname)
					}
				}
			}
		}
		if len(lacking) > 0 {
			out = append(out, fmt.Sprintf("%s: the base lacks %v (%s): %s", n.Kind, lacking, n.Why, n.Symptom))
		}
	}
	return out
}

func knownArch(goarch string) bool {
	switch goarch {
	case "amd64", "arm64", "arm", "386", "riscv64", "ppc64le", "s390x":
		return true
	}
	return false
}
