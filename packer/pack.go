package packer

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/scratchpack/scratchpack/elfdeps"
	"github.com/scratchpack/scratchpack/transfer"
)

// Result is a built image and how it was made.
type Result struct {
	Image    v1.Image
	Report   *elfdeps.Report  // the program
	Program  string           // where the program is in the image
	Closure  *elfdeps.Closure // its closure on the host (where files come from)
	Files    *FileSet         // what the new layers hold
	FromBase []string         // libraries the base image already provides
	Layer    v1.Layer         // the program's layer: the last of Layers
	Layers   []NewLayer       // the layers added to the base, bottom first
	Sysroot  string           // the host directory the libraries were taken from
	Needs    []NeedStatus     // run-time needs found, and whether each went in
	Notes    []string         // what the run-time analysis could not do, for the report
	Trace    *Trace           // what a --trace run opened, if one was asked for
}

// NewLayer is one layer Build added to the base.
type NewLayer struct {
	Layer   v1.Layer
	Files   *FileSet
	Comment string // what it holds, as its history entry says
	Cached  bool   // taken from the cache, not written
	// Rebuilt is why the cache entry for this layer could not be used (it
	// wraps ErrCacheCorrupt); the layer was written again and the entry
	// replaced. Nil otherwise.
	Rebuilt error
}

// WontRunError says the image would not start; Problems say why.
type WontRunError struct {
	Program  string
	Where    string
	Problems []elfdeps.Problem
}

func (e *WontRunError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s would not start in the image (%s):", e.Program, e.Where)
	for _, p := range e.Problems {
		fmt.Fprintf(&b, "\n  %s\n    %s", p.Symptom, p.Message)
	}
	return b.String()
}

// Build makes the image for spec: the base, plus one layer holding the
// program and exactly the files its loader needs that the base lacks. It
// checks, before returning, that the program resolves completely in the image.
// The caller removes spec.WorkDir when done with the image.
func Build(ctx context.Context, spec Spec, opts ...Option) (*Result, error) {
	o, err := makeOptions(opts...)
	if err != nil {
		return nil, err
	}
	spec, err = spec.withDefaults()
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
	platform, err := elfPlatform(rep, spec.Platform)
	if err != nil {
		prog.File.Close()
		return nil, err
	}
	pending := startBase(ctx, spec, platform, o)
	built := false
	defer func() {
		if !built {
			pending.stop()
		}
	}()
	if spec.Root == "" {
		spec.Root, err = elfdeps.FindSysroot(rep)
	}
	if err == nil {
		spec.Root, err = filepath.Abs(spec.Root)
	}
	if err != nil {
		prog.File.Close()
		return nil, err
	}
	// The one analysis of the program: closure, run-time needs, PyInstaller.
	a, err := elfdeps.Analyze(elfdeps.DirRoot(spec.Root), prog, elfdeps.AnalyzeOptions{Resolve: hostResolveOptions(spec), Env: spec.Config.Env})
	if err != nil {
		return nil, err
	}
	defer a.Close()
	closure, err := complete(a.Closure, rep, spec)
	if err != nil {
		return nil, err
	}
	traced, err := traceAdditions(spec.Runtime.Traced, spec.Runtime.Programs, spec.Root)
	if err != nil {
		return nil, err
	}
	py, err := planPyInstaller(spec, a)
	if err != nil {
		return nil, err
	}
	plan, err := planRuntime(spec, a, closure, append(py.libs, traceLibs(traced)...))
	if err != nil {
		return nil, err
	}
	plan.include, plan.includeDirs = traced.files, traced.dirs
	closure = plan.closure
	pending.want(baseNames(rep, closure))
	base, baseFS, bfs, err := pending.wait()
	if err != nil {
		return nil, err
	}
	res, err := assemble(ctx, analysed{rep, closure, plan, traced, py, a}, base, baseFS, bfs, spec, platform, o)
	// The base's layers read in place may still be being hashed: what was
	// made of them, and any error met, counts only if they are right.
	if cerr := bfs.Checked(); cerr != nil {
		return nil, fmt.Errorf("reading base %s: %w", spec.Base, cerr)
	}
	built = err == nil
	return res, err
}

// analysed is what Build learned of the program before the base was read.
type analysed struct {
	rep     *elfdeps.Report
	closure *elfdeps.Closure
	plan    *runtimePlan
	traced  *traceAddition
	py      *pyinstallerPlan
	a       *elfdeps.Analysis
}

// assemble places the program, its closure and its run-time files on the
// base and makes the image.
func assemble(ctx context.Context, an analysed, base v1.Image, baseFS fs.FS, bfs *transfer.BaseFS, spec Spec, platform v1.Platform, o *options) (*Result, error) {
	rep, closure, plan, traced, py := an.rep, an.closure, an.plan, an.traced, an.py
	set := NewFileSet()
	res := &Result{Report: rep, Program: spec.Dest, Closure: closure, Files: set, Sysroot: spec.Root, Needs: plan.needs, Trace: traced.trace}
	var err error
	if res.FromBase, err = placeClosure(set, baseFS, closure, rep, spec); err != nil {
		return nil, err
	}
	if err := placeProgram(set, rep, spec); err != nil {
		return nil, err
	}
	if err := placeExtras(set, spec, interpreterGuard(set, baseFS, closure)); err != nil {
		return nil, err
	}
	if err := placePyInstaller(set, baseFS, py, spec); err != nil {
		return nil, err
	}
	if err := placeRuntime(set, baseFS, plan, spec, res.FromBase); err != nil {
		return nil, err
	}
	res.Notes = plan.notes
	if err := verify(an.a.Share(elfdeps.NewRoot(overlayFS{base: baseFS, set: set}, "the image")), rep, spec, plan.verify...); err != nil {
		return nil, err
	}
	// What was read of the base goes to the cache while the layers are
	// made (its record once the base's layers are found right).
	saved := make(chan []string, 1)
	go func() { saved <- saveBase(bfs) }()
	res, err = finish(ctx, res, set, base, spec, platform, o)
	if notes := <-saved; res != nil {
		res.Notes = append(res.Notes, notes...)
	}
	return res, err
}

// finish makes the layers of set and the image of them on base.
func finish(ctx context.Context, res *Result, set *FileSet, base v1.Image, spec Spec, platform v1.Platform, o *options) (*Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var err error
	if res.Layers, err = makeLayers(set, spec, o); err != nil {
		return nil, err
	}
	res.Layer = res.Layers[len(res.Layers)-1].Layer
	if res.Image, err = makeImage(base, res.Layers, spec, platform, o); err != nil {
		return nil, err
	}
	res.Image, err = inFormat(res.Image, spec.Format)
	return res, err
}

func (s Spec) withDefaults() (Spec, error) {
	if err := s.Validate(); err != nil {
		return s, err
	}
	if s.Dest == "" {
		s.Dest = "/app/" + filepath.Base(s.Program)
	}
	var err error
	if s.Dest, err = CleanImagePath(s.Dest); err != nil {
		return s, &SpecError{Field: "Dest", Err: err}
	}
	if s.WorkDir == "" {
		s.WorkDir = os.TempDir()
	}
	if s.Created.IsZero() {
		s.Created = time.Unix(0, 0)
	}
	s.Created = s.Created.UTC()
	if s.Base.Transport == 0 {
		s.Base = transfer.Ref{Transport: transfer.Scratch}
	}
	return s, nil
}

// elfPlatform returns the image platform: the ELF's own, which a
// requested platform must match.
func elfPlatform(rep *elfdeps.Report, want *v1.Platform) (v1.Platform, error) {
	got := v1.Platform{OS: "linux", Architecture: rep.Arch, Variant: rep.Variant}
	if want == nil {
		return got, nil
	}
	if want.OS != "" && want.OS != "linux" {
		return got, fmt.Errorf("%s is a Linux ELF program; it cannot be packed for %s", rep.Path, want.OS)
	}
	if want.Architecture != rep.Arch || (want.Variant != "" && rep.Variant != "" && want.Variant != rep.Variant) {
		return got, &WontRunError{Program: rep.Path, Where: "platform " + want.String(), Problems: elfdeps.Diagnose(rep, nil, "", want.Architecture)}
	}
	return got, nil
}

// hostResolveOptions are how the program is resolved where its files are
// taken from: with the library path, and $ORIGIN at its place in the image,
// read from its real directory in the root.
func hostResolveOptions(spec Spec) []elfdeps.Option {
	opts := []elfdeps.Option{elfdeps.WithLibraryPath(spec.LibraryPath...)}
	if dir, ok := elfdeps.OriginDir(spec.Root, spec.Program); ok {
		opts = append(opts, elfdeps.WithOrigin(path.Dir(spec.Dest), dir))
	}
	return opts
}

// complete fails unless every library the loader maps was found where the
// program's files are taken from. A library loaded at run time
// (elfdeps.WithDlopen) that is missing stays in Closure.Missing for the
// caller.
func complete(c *elfdeps.Closure, rep *elfdeps.Report, spec Spec) (*elfdeps.Closure, error) {
	var fatal []elfdeps.Missing
	for _, m := range c.Missing {
		if m.Dlopen == "" {
			fatal = append(fatal, m)
		}
	}
	if len(fatal) > 0 {
		missing := *c
		missing.Missing = fatal
		return nil, &WontRunError{Program: spec.Program, Where: "nothing to bundle from " + spec.Root,
			Problems: elfdeps.Diagnose(rep, &missing, spec.Root, "")}
	}
	return c, nil
}

// verify resolves the program as it will be in the image and fails if the
// image's loader would not find everything, or finds a glibc too old.
func verify(image *elfdeps.Root, rep *elfdeps.Report, spec Spec, extra ...elfdeps.Option) error {
	placed := *rep
	placed.Path = spec.Dest
	dir := path.Dir(spec.Dest)
	c, err := elfdeps.Resolve(image, &placed, append([]elfdeps.Option{elfdeps.WithOrigin(dir, dir)}, extra...)...)
	if err != nil {
		return fmt.Errorf("checking the image: %w", err)
	}
	if ps := elfdeps.Diagnose(&placed, c, "the image", ""); len(ps) > 0 {
		return &WontRunError{Program: spec.Program, Where: "on " + spec.Base.String(), Problems: ps}
	}
	return nil
}
