package slim

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/scratchpack/scratchpack/packer"
	"github.com/scratchpack/scratchpack/release"
	"github.com/scratchpack/scratchpack/transfer"
)

// Run makes the minimal image of spec.Image, for each platform picked, and
// writes it (one image, or an index when the image is an index and more
// than one platform is made) to the outputs, with its SBOM. Nothing of the
// original image is kept but the program, what it needs, and its
// configuration. It returns what was written and a report per platform.
func Run(ctx context.Context, spec Spec, o Options) (res *Result, err error) {
	if err := validate(spec, o); err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp(spec.WorkDir, "slim-")
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, removeAll(work)) }()
	src, err := source(ctx, spec.Image, work, o)
	if err != nil {
		return nil, err
	}
	picked, index, err := pick(src, spec.Platforms)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", spec.Image, err)
	}
	var plans []*plan
	for i, p := range picked {
		o.progress(fmt.Sprintf("unpacking %s (%s)", spec.Image, p.platform))
		pl, err := prepare(ctx, p, spec, filepath.Join(work, fmt.Sprintf("p%d", i)), o)
		if err != nil {
			return nil, fmt.Errorf("slimming %s (%s): %w", spec.Image, p.platform, err)
		}
		plans = append(plans, pl)
	}
	specs := make([]packer.Spec, len(plans))
	for i, pl := range plans {
		specs[i] = pl.spec
	}
	ro := o.Release
	ro.Pack = append(append([]packer.Option(nil), ro.Pack...), packer.WithImageConfig(configHook(plans, spec.Image, ro.Version)))
	var reports []*Report
	ro.Built = func(r *release.Result) error {
		if reports, err = makeReports(plans, r.Builds); err != nil {
			return err
		}
		if o.Built != nil {
			return o.Built(&Result{Result: r, Reports: reports})
		}
		return nil
	}
	o.progress("building")
	r := release.Run(ctx, []release.Job{{Name: imageName(spec.Image, plans[0]), Specs: specs, Index: index, Outputs: o.Outputs, SBOM: o.SBOM}}, ro)[0]
	if r.Err != nil {
		return nil, wontRunInImage(r.Err, plans)
	}
	return &Result{Result: r, Reports: reports}, nil
}

// wontRunInImage says a program that would not start in terms of the image: the
// paths of its temporary root become the image's own.
func wontRunInImage(err error, plans []*plan) error {
	var wr *packer.WontRunError
	if !errors.As(err, &wr) {
		return err
	}
	for _, pl := range plans {
		if !strings.HasPrefix(wr.Program, pl.root+"/") {
			continue
		}
		out := &packer.WontRunError{Program: inImage(wr.Program, pl.root), Where: "with the image's own libraries"}
		for _, p := range wr.Problems {
			p.Symptom, p.Message = inImage(p.Symptom, pl.root), inImage(p.Message, pl.root)
			out.Problems = append(out.Problems, p)
		}
		return out
	}
	return err
}

// validate checks what can be checked before reading anything.
func validate(spec Spec, o Options) error {
	if spec.Image.Transport == transfer.Scratch || spec.Image.Transport == 0 {
		return fmt.Errorf("%w: scratch is empty: there is nothing to make smaller", transfer.ErrBadRef)
	}
	if spec.Trace != nil && spec.Trace.Timeout < 0 {
		return fmt.Errorf("a negative trace timeout (%v)", spec.Trace.Timeout)
	}
	return nil
}

func (o Options) progress(s string) {
	if o.Progress != nil {
		o.Progress(s)
	}
}

// source loads the image or index; an image of a Docker daemon is saved
// into work first.
func source(ctx context.Context, ref transfer.Ref, work string, o Options) (srcImage, error) {
	if ref.Transport == transfer.DockerDaemon {
		o.progress(fmt.Sprintf("saving %s from the Docker daemon", ref))
		saved, err := transfer.SaveDaemonImage(ctx, ref, work, o.Release.Transfer...)
		if err != nil {
			return srcImage{}, err
		}
		a, err := transfer.Load(ctx, saved, o.Release.Transfer...)
		return srcImage{a, ref}, err
	}
	a, err := transfer.Load(ctx, ref, o.Release.Transfer...)
	return srcImage{a, ref}, err
}

// plan is one platform's image and what packer is asked to make of it.
type plan struct {
	platform v1.Platform
	digest   v1.Hash        // of the original's manifest
	config   *v1.ConfigFile // the original's
	root     string         // where it is unpacked
	prog     *program
	users    *users
	spec     packer.Spec
	original Size
	notes    []string
	started  time.Time
}

// imageName names the job (the SBOM's document): a registry image's
// repository, else the program's name.
func imageName(ref transfer.Ref, p *plan) string {
	if ref.Name != nil && (ref.Transport == transfer.Registry || ref.Transport == transfer.DockerDaemon) {
		return ref.Name.Context().String()
	}
	return filepath.Base(p.prog.real)
}

// removeAll removes a work directory, also where an unpacked image left
// directories without write permission.
func removeAll(dir string) error {
	err := os.RemoveAll(dir)
	if err == nil || !errors.Is(err, fs.ErrPermission) {
		return err
	}
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(p, 0o700)
		}
		return nil
	})
	return os.RemoveAll(dir)
}
