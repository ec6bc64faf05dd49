package release

import (
	"context"
	"path/filepath"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"golang.org/x/sync/errgroup"

	"github.com/scratchpack/scratchpack/packer"
	"github.com/scratchpack/scratchpack/transfer"
)

// Job is one image to build and write.
type Job struct {
	Name    string         // the image's name in reports and its SBOM
	Specs   []packer.Spec  // one per platform
	Index   bool           // write an index (always with several specs)
	Outputs []transfer.Ref // where it goes
	SBOM    string         // where to write its SPDX document; "" for none
}

// Result is what became of one Job.
type Result struct {
	Name       string
	Digest     v1.Hash  // the image's, or the index's
	ImageID    string   // of a single image: its config's digest, which Docker names it by
	References []string // the outputs, pinned by digest where the transport can be
	Size       int64    // bytes a registry stores: manifests, configs, distinct layers
	Platforms  []string
	SBOM       []string // the SBOM files written
	Builds     []*packer.Result
	Index      v1.ImageIndex // the index written, if Job.Index
	Err        error         // why the job failed; nil if it did not

	deferred *transfer.Output // outputs to archives other images go to, written together
}

// Options say how Run builds and ships.
type Options struct {
	Pack     []packer.Option   // how images are built (the layer cache, the version)
	Transfer []transfer.Option // how images are read and written (registries, limits)
	// Write are options for the writes of images alone (a progress
	// channel, which a write closes), not of their SBOM artifacts.
	Write   []transfer.Option
	Jobs    int    // images built at once; 0 means one
	Version string // scratchpack's, in the SBOM's creator
	// Built is called when a job's image is built, before it is written:
	// an error (a failed smoke run) fails the job and nothing is written.
	Built func(*Result) error
	// Done is called when a job is finished, written or failed, one at a
	// time: where a CLI reports it.
	Done func(*Result)
}

// Run builds and writes every job, o.Jobs at a time; one failing does not
// stop the others. Archives that several jobs write to are written once
// all are built, with all of them. Results are in the order of jobs.
//
// The pushes of a run share a record of the layers pushed: a layer that one
// image put in a registry is mounted into the other repositories of that
// registry the others go to, not uploaded again (transfer.WithMounts). Its
// pulls of bases and its pushes share the registries' answers to pings
// (transfer.WithPings): each registry is asked once.
func Run(ctx context.Context, jobs []Job, o Options) []*Result {
	pings := transfer.WithPings(transfer.NewPings())
	o.Transfer = append(append([]transfer.Option(nil), o.Transfer...), transfer.WithMounts(transfer.NewMounts()), pings)
	o.Pack = append(append([]packer.Option(nil), o.Pack...), packer.WithImageOptions(pings))
	results := make([]*Result, len(jobs))
	shared := sharedFiles(jobs)
	var mu sync.Mutex
	done := func(r *Result) {
		if o.Done != nil {
			mu.Lock()
			defer mu.Unlock()
			o.Done(r)
		}
	}
	var g errgroup.Group
	g.SetLimit(max(o.Jobs, 1))
	for i, j := range jobs {
		g.Go(func() error {
			r := run(ctx, j, o, shared)
			results[i] = r
			if r.Err != nil || r.deferred == nil {
				done(r)
			}
			return nil // the others go on
		})
	}
	_ = g.Wait()
	writeShared(ctx, results, o)
	for _, r := range results {
		if r.deferred != nil {
			done(r)
		}
	}
	return results
}

// run builds, checks, writes and describes one job; its outputs to shared
// files are left in deferred, for writeShared.
func run(ctx context.Context, j Job, o Options, shared map[string]bool) *Result {
	r := &Result{Name: j.Name, References: []string{}, Platforms: []string{}, SBOM: []string{}}
	fail := func(err error) *Result {
		r.Err = err
		return r
	}
	for _, d := range j.Outputs {
		if err := transfer.CheckDestDir(d); err != nil {
			return fail(err)
		}
	}
	// The base's blobs are copied to the outputs written now while the
	// image is built.
	now, _ := splitShared(j.Outputs, shared)
	ahead := transfer.NewAhead(now)
	defer ahead.Close()
	o.Pack = append(append([]packer.Option(nil), o.Pack...), packer.WithAhead(ahead))
	o.Write = append(append([]transfer.Option(nil), o.Write...), transfer.WithAhead(ahead))
	var a mutate.Appendable
	if j.Index || len(j.Specs) > 1 {
		ir, err := packer.BuildIndex(ctx, j.Specs, o.Pack...)
		if err != nil {
			return fail(err)
		}
		r.Builds, r.Index, a = ir.Results, ir.Index, ir.Index
	} else {
		res, err := packer.Build(ctx, j.Specs[0], o.Pack...)
		if err != nil {
			return fail(err)
		}
		r.Builds, a = []*packer.Result{res}, res.Image
		if h, err := res.Image.ConfigName(); err == nil {
			r.ImageID = h.String()
		}
	}
	for _, res := range r.Builds {
		p, _ := packer.ResultPlatform(res)
		r.Platforms = append(r.Platforms, p.String())
	}
	r.Size = storedSize(r.Index, r.Builds)
	if o.Built != nil {
		if err := o.Built(r); err != nil {
			return fail(err)
		}
	}
	digest, err := writeNow(ctx, r, a, j.Outputs, shared, o)
	if err != nil {
		return fail(err)
	}
	r.Digest, r.References = digest, References(j.Outputs, digest)
	if j.SBOM != "" {
		files, err := writeSBOMs(ctx, sbomJob{name: imageName(j.Specs[0], j.Outputs), file: j.SBOM, results: r.Builds, dsts: j.Outputs,
			created: j.Specs[0].Created, version: o.Version}, o.Transfer...)
		r.SBOM = append(r.SBOM, files...)
		if err != nil {
			return fail(err)
		}
	}
	return r
}

// sharedFiles are the archive files that more than one job is written to:
// each must be written once, with all of them (layouts are added to under
// a lock, and need not be).
func sharedFiles(jobs []Job) map[string]bool {
	users := map[string]int{}
	for _, j := range jobs {
		seen := map[string]bool{}
		for _, d := range j.Outputs {
			switch d.Transport {
			case transfer.OCIArchive, transfer.DockerArchive, transfer.Tarball:
				if p := filepath.Clean(d.Path); !seen[p] {
					seen[p] = true
					users[p]++
				}
			}
		}
	}
	shared := map[string]bool{}
	for p, n := range users {
		shared[p] = n > 1
	}
	return shared
}

// writeNow writes a to those of dsts no other job goes to, and leaves the
// others in r.deferred; it returns a's digest.
func writeNow(ctx context.Context, r *Result, a mutate.Appendable, dsts []transfer.Ref, shared map[string]bool, o Options) (v1.Hash, error) {
	now, later := splitShared(dsts, shared)
	if len(later) > 0 {
		r.deferred = &transfer.Output{Image: a, Dests: later}
	}
	if len(now) == 0 {
		return a.Digest()
	}
	hs, err := transfer.WriteAll(ctx, []transfer.Output{{Image: a, Dests: now}}, append(append([]transfer.Option(nil), o.Transfer...), o.Write...)...)
	if err != nil {
		return v1.Hash{}, err
	}
	return hs[0], nil
}

// splitShared splits dsts into those no other job goes to, written now,
// and the files other jobs go to too, written later with them.
func splitShared(dsts []transfer.Ref, shared map[string]bool) (now, later []transfer.Ref) {
	for _, d := range dsts {
		if d.Path != "" && shared[filepath.Clean(d.Path)] {
			later = append(later, d)
		} else {
			now = append(now, d)
		}
	}
	return now, later
}

// writeShared writes the deferred outputs of the jobs that were built,
// together; if that fails, each of those jobs failed.
func writeShared(ctx context.Context, results []*Result, o Options) {
	var outs []transfer.Output
	var rs []*Result
	for _, r := range results {
		if r.deferred != nil && r.Err == nil {
			outs = append(outs, *r.deferred)
			rs = append(rs, r)
		}
	}
	if len(outs) == 0 {
		return
	}
	if _, err := transfer.WriteAll(ctx, outs, o.Transfer...); err != nil {
		for _, r := range rs {
			r.Err = err
		}
	}
}

// imageName names an image in its SBOM: the repository of its first
// docker:// or docker-daemon: destination, else its program's name.
func imageName(spec packer.Spec, dsts []transfer.Ref) string {
	for _, d := range dsts {
		if d.Name != nil && (d.Transport == transfer.Registry || d.Transport == transfer.DockerDaemon) {
			return d.Name.Context().String()
		}
	}
	return filepath.Base(spec.Program)
}
