package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/scratchpack/scratchpack/config"
	"github.com/scratchpack/scratchpack/packer"
	"github.com/scratchpack/scratchpack/release"
	"github.com/scratchpack/scratchpack/transfer"
)

func buildCommand() *cli.Command {
	return &cli.Command{
		Name:        "build",
		Usage:       "build the images a scratchpack.yaml describes, in parallel",
		ArgsUsage:   "[IMAGE...]",
		Description: helpText("build"),
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "config", Aliases: []string{"c"}, Value: config.DefaultFile, Usage: "read the images from `FILE`"},
			&cli.IntFlag{Name: "jobs", Aliases: []string{"j"}, Value: runtime.GOMAXPROCS(0), DefaultText: "the number of CPUs", Usage: "build at most `N` images at once"},
			&cli.Int64Flag{Name: "source-date-epoch", EnvVars: []string{"SOURCE_DATE_EPOCH"}, Usage: "image and file time, in `SECONDS` since the epoch"},
			&cli.StringFlag{Name: "digest-file", Usage: "write \"DIGEST NAME\" lines to `FILE`"},
			&cli.StringFlag{Name: "docker-host", EnvVars: []string{"DOCKER_HOST"}, Value: transfer.DefaultDockerHost, Usage: "Docker daemon `ADDRESS` for docker-daemon: outputs (unix:///PATH)"},
			forceFlag(),
			maxUnpackFlag(),
			timeoutFlag(),
			&cli.BoolFlag{Name: "json", Usage: "print the results as JSON on stdout"},
			formatFlag(),
		}, append(registryFlags(), cacheFlags()...)...),
		Action: runBuild,
	}
}

// buildResult is one image of build --json.
type buildResult struct {
	Name       string   `json:"name"`
	Digest     string   `json:"digest"`
	ImageID    string   `json:"image_id,omitempty"` // of a single image: what Docker calls it
	References []string `json:"references"`         // pinned by digest where the transport can be
	Size       int64    `json:"size"`               // bytes a registry stores: manifests, configs, distinct layers
	Platforms  []string `json:"platforms"`
	SBOM       []string `json:"sbom"`
	Error      string   `json:"error,omitempty"`
}

func toBuildResult(r *release.Result) buildResult {
	b := buildResult{Name: r.Name, ImageID: r.ImageID, References: r.References, Size: r.Size, Platforms: r.Platforms, SBOM: r.SBOM}
	if r.Err != nil {
		b.Error = r.Err.Error()
	} else {
		b.Digest = r.Digest.String()
	}
	return b
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
	if c.Int("jobs") < 1 {
		return withCode(exitBadInput, fmt.Errorf("--jobs %d: want 1 or more", c.Int("jobs")))
	}
	if err := checkCacheFlags(c); err != nil {
		return withCode(exitBadInput, err)
	}
	work, err := workDir("scratchpack-")
	if err != nil {
		return withCode(exitRegistry, err)
	}
	defer os.RemoveAll(work)

	created := time.Unix(c.Int64("source-date-epoch"), 0).UTC()
	opts, err := writeOptions(c)
	if err != nil {
		return withCode(exitBadInput, err)
	}
	// One cache, shared by the images built at once: the libs layer is made once.
	popts, err := packOptions(c, true, opts)
	if err != nil {
		return withCode(exitRegistry, err)
	}
	format, err := packer.ParseFormat(c.String("format"))
	if err != nil {
		return withCode(exitBadInput, fmt.Errorf("--format: %w", err))
	}
	jobs := make([]release.Job, len(images))
	for i, im := range images {
		t := im.Target
		jobs[i] = release.Job{Name: t.Name, Index: t.Index, Outputs: t.Outputs, SBOM: t.SBOM}
		if format == packer.FormatV2S2 {
			if err := transfer.CheckDockerFormat(t.Outputs); err != nil {
				return withCode(exitBadInput, fmt.Errorf("image %s: --format v2s2: %w", t.Name, err))
			}
		}
		for _, s := range t.Specs {
			s.WorkDir, s.Created, s.Format = work, created, format
			if err := s.Validate(); err != nil {
				return withCode(exitBadInput, fmt.Errorf("image %s: %w", t.Name, flagErrors(err)))
			}
			jobs[i].Specs = append(jobs[i].Specs, s)
		}
	}
	w := c.App.ErrWriter
	results := release.Run(c.Context, jobs, release.Options{Pack: popts, Transfer: opts, Jobs: c.Int("jobs"), Version: c.App.Version,
		Done: func(r *release.Result) {
			if r.Err != nil {
				fmt.Fprintf(w, "%s: FAILED: %v\n", r.Name, classify(r.Err))
				return
			}
			fmt.Fprintf(w, "%s: %s  %s  %s\n  %s\n", r.Name, r.Digest, strings.Join(r.Platforms, ","), sizeOf(r.Size),
				strings.Join(r.References, "\n  "))
			for _, s := range r.SBOM {
				fmt.Fprintf(w, "  SBOM %s\n", s)
			}
		}})
	return buildOutcome(c, results)
}

// buildOutcome writes the digest file and the JSON of build, and is the
// first failure's exit status, if any.
func buildOutcome(c *cli.Context, results []*release.Result) error {
	var first error
	failed := 0
	var digests strings.Builder
	out := make([]buildResult, len(results))
	for i, r := range results {
		out[i] = toBuildResult(r)
		if r.Err != nil {
			failed++
			if first == nil {
				first = classify(r.Err)
			}
			continue
		}
		fmt.Fprintf(&digests, "%s %s\n", r.Digest, r.Name)
	}
	if f := c.String("digest-file"); f != "" && digests.Len() > 0 {
		if err := release.WriteFile(f, []byte(digests.String())); err != nil {
			return withCode(exitRegistry, err)
		}
	}
	if c.Bool("json") {
		if err := json.NewEncoder(c.App.Writer).Encode(out); err != nil {
			return err
		}
	}
	if first == nil {
		return nil
	}
	if errors.Is(first, errInterrupted) {
		return first
	}
	code := exitFailure
	var ee *exitError
	if errors.As(first, &ee) {
		code = ee.code
	}
	return withCode(code, fmt.Errorf("%d of %d images failed (see above)", failed, len(results)))
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
