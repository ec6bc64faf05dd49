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
// and ErrCannotTell. The caller removes spec.WorkDir.
func Check(ctx context.Context, spec Spec, opts ...Option) (*Verdict, error) {
	spec, err := spec.withDefaults()
	if err != nil {
		return nil, err
	}
	prog, err := elfdeps.OpenProgram(spec.Program)
	if err != nil {
		return nil, err
	}
	defer prog.File.Close() // Analyze closes it too; twice is harmless
	rep, err := prog.Inspect()
	if err != nil {
		return nil, err
	}
	v := &Verdict{Program: spec.Program, Base: spec.Base.String(), Libc: rep.Libc, Problems: []elfdeps.Problem{}, Warnings: []string{}}
	if !knownArch(rep.Arch) {
		return nil, fmt.Errorf("%w: %s is built for %s, which scratchpack does not know", ErrCannotTell, spec.Program, rep.Arch)
	}
	platform := v1.Platform{OS: "linux", Architecture: rep.Arch, Variant: rep.Variant}
	o, err := makeOptions(opts...)
	if err != nil {
		return nil, err
	}
	base, err := transfer.LoadBase(ctx, spec.Base, platform, o.images...)
	var pe *transfer.PlatformError
	if errors.As(err, &pe) {
		return v.wrongPlatform(rep, pe), nil
	}
	if err != nil {
		return nil, err
	}
	if cf, err := base.ConfigFile(); err == nil && cf.Platform() != nil {
		v.Platform = cf.Platform().String()
	}
	baseFS, err := unpackBase(base, spec)
	if err != nil {
		return nil, err
	}
	if baseFS == nil {
		baseFS = overlayFS{set: NewFileSet()} // scratch: an empty root
	}
	where := "base " + spec.Base.String()
	// As it would be in the image, alone on the base: at spec.Dest, so that
	// $ORIGIN points where it will be.
	placed := *rep
	placed.Path = spec.Dest
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
