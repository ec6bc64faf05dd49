package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/urfave/cli/v2"
	"golang.org/x/sync/errgroup"

	"github.com/scratchpack/scratchpack/config"
	"github.com/scratchpack/scratchpack/packer"
	"github.com/scratchpack/scratchpack/transfer"
)

func buildCommand() *cli.Command {
	return &cli.Command{
		Name:      "build",
		Usage:     "build the images a scratchpack.yaml describes, in parallel",
		ArgsUsage: "[IMAGE...]",
		Description: `build reads scratchpack.yaml (or --config FILE) and builds every image in it, or
only those named, several at a time, writing each to its outputs. One failing
image does not stop the others; the exit status is that of the first failure.

  version: 1
  images:
    server:                               # the image's name
      program: build/server                 # paths are relative to the file
      base: scratch                         # or any pack --base
      output: ["docker://${REGISTRY}/server:${VERSION}", "oci:out/layout:server"]
      tags: [latest]                        # more tags for docker:// and docker-daemon:
      sbom: out/server.spdx.json            # SPDX 2.3; attached to pushed images
      entrypoint: [/app/server]             # cmd, env, workdir, user, labels,
      env: {LANG: C.UTF-8}                  # annotations, expose, add, dest, sysroot,
      add: ["conf/app.yaml:/etc/app.yaml"]  # library-path, keep-suid, include-lib,
      ca-certs: true                        # include, ca-bundle, tzdata: as pack's flags
      runtime-extras: false                 # as pack --no-runtime-extras
      layers: libs                          # compression, compression-level: as pack's
    tool:
      platforms:                            # one program per platform: an index
        linux/amd64: build/amd64/tool
        linux/arm64: {program: build/arm64/tool, sysroot: /usr/aarch64-linux-gnu}
      output: ["docker://${REGISTRY}/tool:${VERSION}"]

${VAR} is taken from the environment (an unset one is an error; ${VAR:-default}
has a default; $$ is a $; inside [...] or {...} quote such values, as YAML's
flow style reads { and } itself). Unknown keys and bad values are errors with
the file and line. Keys starting with x- are free, for YAML anchors (<<: *defaults).

Images built together share the layer cache (--cache, --no-cache): with
layers: libs, the C library layer they have in common is made once.

Results go to stderr; --json prints them on stdout (name, digest, references,
size, platforms, sbom), --digest-file writes "DIGEST NAME" lines.

Exit status: 0 all built, 2 bad configuration or input, 3 a program would not
run in its image, 4 registry, daemon or I/O failure, 130 interrupted.`,
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "config", Aliases: []string{"c"}, Value: config.DefaultFile, Usage: "read the images from `FILE`"},
			&cli.IntFlag{Name: "jobs", Aliases: []string{"j"}, Value: runtime.GOMAXPROCS(0), DefaultText: "the number of CPUs", Usage: "build at most `N` images at once"},
			&cli.Int64Flag{Name: "source-date-epoch", EnvVars: []string{"SOURCE_DATE_EPOCH"}, Usage: "image and file time, in `SECONDS` since the epoch"},
			&cli.StringFlag{Name: "digest-file", Usage: "write \"DIGEST NAME\" lines to `FILE`"},
			&cli.StringFlag{Name: "docker-host", EnvVars: []string{"DOCKER_HOST"}, Value: transfer.DefaultDockerHost, Usage: "Docker daemon `ADDRESS` for docker-daemon: outputs (unix:///PATH)"},
			&cli.BoolFlag{Name: "insecure", Usage: "allow plain HTTP to registries other than localhost"},
			forceFlag(),
			maxUnpackFlag(),
			timeoutFlag(),
			&cli.BoolFlag{Name: "json", Usage: "print the results as JSON on stdout"},
		}, cacheFlags()...),
		Action: runBuild,
	}
}

// buildResult is one image of build --json, and of pack --json's references.
type buildResult struct {
	Name       string   `json:"name"`
	Digest     string   `json:"digest"`
	ImageID    string   `json:"image_id,omitempty"` // of a single image: what Docker calls it
	References []string `json:"references"`         // pinned by digest where the transport can be
	Size       int64    `json:"size"`               // bytes a registry stores: manifests, configs, distinct layers
	Platforms  []string `json:"platforms"`
	SBOM       []string `json:"sbom"`
	Error      string   `json:"error,omitempty"`
	err        error
	deferred   *transfer.Output // its outputs to archives other images also go to, written together
}

func runBuild(c *cli.Context) error {
	file := c.String("config")
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) && !c.IsSet("config") {
		return withCode(exitBadInput, fmt.Errorf("no %s here: write one (see scratchpack build --help) or name it with --config FILE", file))
	} else if err != nil {
		return withCode(exitBadInput, err)
	}
	cfg, err := config.Parse(file, data, environ())
	if err != nil {
		return withCode(exitBadInput, err)
	}
	images, err := cfg.Select(operands(c)...)
	if err != nil {
		return withCode(exitBadInput, err)
	}
	jobs := c.Int("jobs")
	if jobs < 1 {
		return withCode(exitBadInput, fmt.Errorf("--jobs %d: want 1 or more", jobs))
	}
	work, err := workDir("scratchpack-")
	if err != nil {
		return withCode(exitRegistry, err)
	}
	defer os.RemoveAll(work)

	if err := checkCacheFlags(c); err != nil {
		return withCode(exitBadInput, err)
	}
	created := time.Unix(c.Int64("source-date-epoch"), 0).UTC()
	opts := writeOptions(c)
	// One cache, shared by the images built at once: the libs layer is made once.
	popts, err := packOptions(c, true, opts)
	if err != nil {
		return withCode(exitRegistry, err)
	}
	results := make([]*buildResult, len(images))
	shared := sharedFiles(images)
	var mu sync.Mutex // one image's report at a time on stderr
	report := func(r *buildResult) {
		mu.Lock()
		defer mu.Unlock()
		if r.err != nil {
			fmt.Fprintf(c.App.ErrWriter, "%s: FAILED: %v\n", r.Name, r.err)
			return
		}
		fmt.Fprintf(c.App.ErrWriter, "%s: %s  %s  %s\n  %s\n", r.Name, r.Digest, strings.Join(r.Platforms, ","), sizeOf(r.Size),
			strings.Join(r.References, "\n  "))
		for _, s := range r.SBOM {
			fmt.Fprintf(c.App.ErrWriter, "  SBOM %s\n", s)
		}
	}
	var g errgroup.Group
	g.SetLimit(jobs)
	for i, im := range images {
		g.Go(func() error {
			r := buildImage(c.Context, im.Target, work, created, opts, popts, shared)
			results[i] = r
			if r.err != nil || r.deferred == nil {
				report(r)
			}
			return nil // the others go on
		})
	}
	_ = g.Wait()
	writeShared(c.Context, results, opts)
	for _, r := range results {
		if r.deferred != nil {
			report(r)
		}
	}

	var first error
	failed := 0
	var digests strings.Builder
	for _, r := range results {
		if r.err != nil {
			failed++
			if first == nil {
				first = classify(r.err)
			}
			continue
		}
		fmt.Fprintf(&digests, "%s %s\n", r.Digest, r.Name)
	}
	if f := c.String("digest-file"); f != "" && digests.Len() > 0 {
		if err := writeFileAtomic(f, []byte(digests.String())); err != nil {
			return withCode(exitRegistry, err)
		}
	}
	if c.Bool("json") {
		if err := json.NewEncoder(c.App.Writer).Encode(results); err != nil {
			return err
		}
	}
	if first != nil {
		var ee *exitError
		code := exitFailure
		if errors.As(first, &ee) {
			code = ee.code
		}
		if errors.Is(first, errInterrupted) {
			return first
		}
		return withCode(code, fmt.Errorf("%d of %d images failed (see above)", failed, len(results)))
	}
	return nil
}

// sharedFiles are the archive files that more than one image is written
// to: each must be written once, with all of them (layouts are added to
// under a lock, and need not be).
func sharedFiles(images []*config.Image) map[string]bool {
	users := map[string]int{}
	for _, im := range images {
		seen := map[string]bool{}
		for _, d := range im.Target.Outputs {
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

// writeShared writes the deferred outputs of the images that were built,
// together; if that fails, each of those images failed.
func writeShared(ctx context.Context, results []*buildResult, opts []transfer.Option) {
	var outs []transfer.Output
	var rs []*buildResult
	for _, r := range results {
		if r.deferred != nil && r.err == nil {
			outs = append(outs, *r.deferred)
			rs = append(rs, r)
		}
	}
	if len(outs) == 0 {
		return
	}
	if _, err := transfer.WriteAll(ctx, outs, opts...); err != nil {
		for _, r := range rs {
			r.err, r.Error = err, err.Error()
		}
	}
}

// buildImage builds, writes and describes one image of the configuration;
// its outputs to shared files are left in deferred, for writeShared.
func buildImage(ctx context.Context, t *config.Target, work string, created time.Time, opts []transfer.Option, popts []packer.Option, shared map[string]bool) *buildResult {
	r := &buildResult{Name: t.Name, References: []string{}, Platforms: []string{}, SBOM: []string{}}
	fail := func(err error) *buildResult {
		r.err, r.Error = err, err.Error()
		return r
	}
	for _, d := range t.Outputs {
		if err := transfer.CheckDestDir(d); err != nil {
			return fail(err)
		}
	}
	specs := make([]packer.Spec, len(t.Specs))
	for i, s := range t.Specs {
		s.WorkDir, s.Created = work, created
		specs[i] = s
	}
	var (
		results []*packer.Result
		digest  v1.Hash
	)
	if t.Index {
		ir, err := packer.BuildIndex(ctx, specs, popts...)
		if err != nil {
			return fail(err)
		}
		results = ir.Results
		if digest, err = writeNow(ctx, r, ir.Index, t.Outputs, shared, opts); err != nil {
			return fail(err)
		}
		r.Size = storedSize(ir.Index, results)
	} else {
		res, err := packer.Build(ctx, specs[0], popts...)
		if err != nil {
			return fail(err)
		}
		results = []*packer.Result{res}
		if digest, err = writeNow(ctx, r, res.Image, t.Outputs, shared, opts); err != nil {
			return fail(err)
		}
		r.Size = storedSize(nil, results)
		r.ImageID = imageID(res.Image)
	}
	r.Digest = digest.String()
	r.References = references(t.Outputs, digest)
	for _, res := range results {
		p, _ := packer.ResultPlatform(res)
		r.Platforms = append(r.Platforms, p.String())
	}
	if t.SBOM != "" {
		files, err := writeSBOMs(ctx, sbomJob{name: imageName(specs[0], t.Outputs), file: t.SBOM, results: results, dsts: t.Outputs, created: created}, opts...)
		r.SBOM = append(r.SBOM, files...)
		if err != nil {
			return fail(err)
		}
	}
	return r
}

// writeNow writes a to those of dsts no other image goes to, and leaves the
// others in r.deferred; it returns a's digest.
func writeNow(ctx context.Context, r *buildResult, a mutate.Appendable, dsts []transfer.Ref, shared map[string]bool, opts []transfer.Option) (v1.Hash, error) {
	var now, later []transfer.Ref
	for _, d := range dsts {
		if d.Path != "" && shared[filepath.Clean(d.Path)] {
			later = append(later, d)
		} else {
			now = append(now, d)
		}
	}
	if len(later) > 0 {
		r.deferred = &transfer.Output{Image: a, Dests: later}
	}
	if len(now) == 0 {
		return a.Digest()
	}
	hs, err := transfer.WriteAll(ctx, []transfer.Output{{Image: a, Dests: now}}, opts...)
	if err != nil {
		return v1.Hash{}, err
	}
	return hs[0], nil
}

// references names what was written, pinned by digest where the transport
// can be: REGISTRY/REPO:TAG@sha256:... for registries.
func references(dsts []transfer.Ref, digest v1.Hash) []string {
	out := []string{}
	for _, d := range dsts {
		if d.Transport == transfer.Registry {
			out = append(out, strings.TrimPrefix(d.String(), "docker://")+"@"+digest.String())
		} else {
			out = append(out, d.String())
		}
	}
	return out
}

// storedSize is what a registry stores for the images (and the index):
// manifests, configs and each distinct layer once.
func storedSize(idx v1.ImageIndex, results []*packer.Result) int64 {
	var n int64
	seen := map[v1.Hash]bool{}
	if idx != nil {
		if s, err := idx.Size(); err == nil {
			n += s
		}
	}
	for _, res := range results {
		m, err := res.Image.Manifest()
		if err != nil {
			continue
		}
		if s, err := res.Image.Size(); err == nil {
			n += s
		}
		for _, d := range append([]v1.Descriptor{m.Config}, m.Layers...) {
			if !seen[d.Digest] {
				seen[d.Digest] = true
				n += d.Size
			}
		}
	}
	return n
}

// environ is the process environment as a map, for ${VAR} in configurations.
func environ() map[string]string {
	env := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env
}
