package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/urfave/cli/v2"
	"golang.org/x/sync/errgroup"

	"github.com/scratchpack/scratchpack/config"
	"github.com/scratchpack/scratchpack/packer"
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
			&cli.StringFlag{Name: "docker-host", EnvVars: []string{"DOCKER_HOST"}, Value: packer.DefaultDockerHost, Usage: "Docker daemon `ADDRESS` for docker-daemon: outputs (unix:///PATH)"},
			&cli.BoolFlag{Name: "insecure", Usage: "allow plain HTTP to registries other than localhost"},
			&cli.BoolFlag{Name: "json", Usage: "print the results as JSON on stdout"},
		}, cacheFlags()...),
		Action: runBuild,
	}
}

// buildResult is one image of build --json, and of pack --json's references.
type buildResult struct {
	Name       string   `json:"name"`
	Digest     string   `json:"digest"`
	References []string `json:"references"` // pinned by digest where the transport can be
	Size       int64    `json:"size"`       // bytes a registry stores: manifests, configs, distinct layers
	Platforms  []string `json:"platforms"`
	SBOM       []string `json:"sbom"`
	Error      string   `json:"error,omitempty"`
	err        error
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
	work, err := os.MkdirTemp("", "scratchpack-")
	if err != nil {
		return withCode(exitRegistry, err)
	}
	defer os.RemoveAll(work)

	if err := checkCacheFlags(c); err != nil {
		return withCode(exitBadInput, err)
	}
	created := time.Unix(c.Int64("source-date-epoch"), 0).UTC()
	opts := writeOptions(c)
	cache, err := cacheOption(c)
	if err != nil {
		return withCode(exitRegistry, err)
	}
	if cache != nil {
		opts = append(opts, cache) // shared by the images built at once: the libs layer is made once
	}
	results := make([]*buildResult, len(images))
	var mu sync.Mutex // one image's report at a time on stderr
	var g errgroup.Group
	g.SetLimit(jobs)
	for i, im := range images {
		g.Go(func() error {
			r := buildImage(c.Context, im.Target, work, created, opts)
			results[i] = r
			mu.Lock()
			defer mu.Unlock()
			if r.err != nil {
				fmt.Fprintf(c.App.ErrWriter, "%s: FAILED: %v\n", r.Name, r.err)
			} else {
				fmt.Fprintf(c.App.ErrWriter, "%s: %s  %s  %s\n  %s\n", r.Name, r.Digest, strings.Join(r.Platforms, ","), sizeOf(r.Size),
					strings.Join(r.References, "\n  "))
				for _, s := range r.SBOM {
					fmt.Fprintf(c.App.ErrWriter, "  SBOM %s\n", s)
				}
			}
			return nil // the others go on
		})
	}
	_ = g.Wait()

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

// buildImage builds, writes and describes one image of the configuration.
func buildImage(ctx context.Context, t *config.Target, work string, created time.Time, opts []packer.Option) *buildResult {
	r := &buildResult{Name: t.Name, References: []string{}, Platforms: []string{}, SBOM: []string{}}
	fail := func(err error) *buildResult {
		r.err, r.Error = err, err.Error()
		return r
	}
	for _, d := range t.Outputs {
		if err := packer.CheckDestDir(d); err != nil {
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
		ir, err := packer.BuildIndex(ctx, specs, opts...)
		if err != nil {
			return fail(err)
		}
		results = ir.Results
		if digest, err = packer.WriteIndex(ctx, ir.Index, t.Outputs, opts...); err != nil {
			return fail(err)
		}
		r.Size = storedSize(ir.Index, results)
	} else {
		res, err := packer.Build(ctx, specs[0], opts...)
		if err != nil {
			return fail(err)
		}
		results = []*packer.Result{res}
		if digest, err = packer.Write(ctx, res.Image, t.Outputs, opts...); err != nil {
			return fail(err)
		}
		r.Size = storedSize(nil, results)
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

// references names what was written, pinned by digest where the transport
// can be: REGISTRY/REPO:TAG@sha256:... for registries.
func references(dsts []packer.Ref, digest v1.Hash) []string {
	out := []string{}
	for _, d := range dsts {
		if d.Transport == packer.Registry {
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
