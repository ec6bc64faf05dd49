package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/urfave/cli/v2"

	"github.com/scratchpack/scratchpack/packer"
	"github.com/scratchpack/scratchpack/release"
	"github.com/scratchpack/scratchpack/runner"
	"github.com/scratchpack/scratchpack/slim"
	"github.com/scratchpack/scratchpack/transfer"
)

func slimCommand() *cli.Command {
	return &cli.Command{
		Name:        "slim",
		Usage:       "write the minimal image of an image that already exists: its program and what it needs",
		ArgsUsage:   "IMAGE [--trace [-- ARG...]]",
		Description: helpText("slim"),
		Flags: append([]cli.Flag{
			&cli.StringSliceFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the slim image to `DEST`; repeatable"},
			&cli.StringFlag{Name: "program", Usage: "`PATH` in the image of the program to keep (default: the first word of its entrypoint and command)"},
			&cli.StringSliceFlag{Name: "keep", Usage: "also keep `PATH` of the image, a file or a directory with all it holds; repeatable"},
			&cli.BoolFlag{Name: "trace", Usage: "run the image once in scratchpack's sandbox under strace, on this machine's network, and keep what it uses; ARGs after -- replace its command"},
			&cli.DurationFlag{Name: "trace-timeout", Value: 30 * time.Second, Usage: "stop the traced run after `DURATION`"},
			&cli.StringFlag{Name: "trace-probe", Usage: "run the shell `COMMAND` on this machine until it succeeds while the traced program runs (a request to a server, e.g. curl -fsS http://127.0.0.1:8080/), then stop the run; implies --trace"},
			&cli.StringSliceFlag{Name: "platform", Usage: "slim only the image for `OS/ARCH[/VARIANT]` of a multi-platform IMAGE; repeatable (default: every platform)"},
			&cli.Int64Flag{Name: "source-date-epoch", EnvVars: []string{"SOURCE_DATE_EPOCH"}, Usage: "image and file time, in `SECONDS` since the epoch"},
			&cli.StringSliceFlag{Name: "tag", Aliases: []string{"t"}, Usage: "also tag docker:// and docker-daemon: destinations `TAG`; a NAME:TAG names FILE.tar (RepoTags, as docker save), docker-archive: and oci-archive: destinations; repeatable"},
			&cli.StringFlag{Name: "sbom", Usage: "write an SPDX 2.3 JSON SBOM to `FILE`, and attach it to pushed images"},
			&cli.StringFlag{Name: "docker-host", EnvVars: []string{"DOCKER_HOST"}, Value: transfer.DefaultDockerHost, Usage: "Docker daemon `ADDRESS` for docker-daemon: images and destinations (unix:///PATH)"},
			&cli.StringFlag{Name: "digest-file", Usage: "also write the image digest to `FILE`"},
			forceFlag(),
			timeoutFlag(),
			maxUnpackFlag(),
			&cli.BoolFlag{Name: "json", Usage: "print the result and the reports as JSON on stdout instead of the digest"},
		}, append(append(registryFlags(), smokeFlags()...), layerFlags()...)...),
		Action: runSlim,
	}
}

func runSlim(c *cli.Context) error {
	spec, dsts, err := slimSpec(c)
	if err != nil {
		return withCode(exitBadInput, err)
	}
	work, err := workDir("scratchpack-slim-")
	if err != nil {
		return withCode(exitRegistry, err)
	}
	defer os.RemoveAll(work)
	spec.WorkDir = work
	if spec.Trace != nil {
		spec.Trace.Run = []runner.Option{runner.WithWorkDir(work),
			runner.WithWarnings(func(s string) { fmt.Fprintf(c.App.ErrWriter, "scratchpack: traced run: warning: %s\n", s) })}
	}
	opts, err := writeOptions(c)
	if err != nil {
		return withCode(exitBadInput, err)
	}
	popts, err := packOptions(c, true, opts)
	if err != nil {
		return withCode(exitRegistry, err)
	}
	if err := transfer.CheckOutputs(dsts, opts...); err != nil {
		return classify(err)
	}
	writeOpts, waitProgress := pushProgress(c.App.ErrWriter, dsts)
	writing := false
	res, err := slim.Run(c.Context, spec, slim.Options{
		Outputs: dsts,
		SBOM:    c.String("sbom"),
		Release: release.Options{Pack: popts, Transfer: opts, Write: writeOpts, Version: c.App.Version},
		Built: func(r *slim.Result) error {
			for _, rep := range r.Reports {
				printSlimReport(c.App.ErrWriter, rep, c.String("trace-probe") != "")
			}
			err := smokeTest(c, r.Builds[0], work)
			if r.Index != nil || len(r.Builds) > 1 {
				err = smokeIndex(c, r.Builds, work)
			}
			writing = err == nil
			return err
		},
		Progress: func(s string) { fmt.Fprintf(c.App.ErrWriter, "%s\n", s) },
	})
	waitProgress(writing)
	if err != nil {
		return classifySlim(err)
	}
	if !c.Bool("json") {
		return packOutcome(c, res.Result, dsts)
	}
	for _, d := range dsts {
		fmt.Fprintf(c.App.ErrWriter, "wrote %s\n", d)
	}
	if len(res.SBOM) > 0 {
		fmt.Fprintf(c.App.ErrWriter, "wrote the SBOM %s\n", strings.Join(res.SBOM, ", "))
	}
	if f := c.String("digest-file"); f != "" {
		if err := release.WriteFile(f, []byte(res.Digest.String()+"\n")); err != nil {
			return withCode(exitRegistry, err)
		}
	}
	return json.NewEncoder(c.App.Writer).Encode(slimJSON(res, dsts))
}

// slimSpec turns flags and arguments into a slim.Spec and destinations.
func slimSpec(c *cli.Context) (slim.Spec, []transfer.Ref, error) {
	var spec slim.Spec
	args, traceArgs, dash := splitArgs(c)
	trace := c.Bool("trace") || c.IsSet("trace-probe")
	switch {
	case dash && !trace:
		return spec, nil, errors.New("arguments after -- are the traced run's command: give them with --trace")
	case len(args) == 0:
		return spec, nil, errors.New("slim needs an IMAGE, e.g. scratchpack slim oci-archive:app.tar -o oci:slim")
	case len(args) > 1:
		return spec, nil, fmt.Errorf("slim takes one IMAGE, not %q too", args[1])
	}
	img, err := transfer.ParseRef(args[0])
	if err != nil {
		return spec, nil, err
	}
	if len(c.StringSlice("output")) == 0 {
		return spec, nil, errors.New("slim needs at least one -o DEST, e.g. -o oci:slim or -o slim.tar; see scratchpack slim --help")
	}
	dsts, err := destinations(c.StringSlice("output"), c.StringSlice("tag"))
	if err != nil {
		return spec, nil, err
	}
	for _, p := range c.StringSlice("platform") {
		pl, err := v1.ParsePlatform(p)
		if err != nil || pl.Architecture == "" {
			return spec, nil, fmt.Errorf("--platform %q: want OS/ARCH[/VARIANT], e.g. linux/arm64", p)
		}
		spec.Platforms = append(spec.Platforms, *pl)
	}
	spec.Image = img
	spec.Program = c.String("program")
	spec.Keep = c.StringSlice("keep")
	if trace {
		if c.Duration("trace-timeout") <= 0 {
			return spec, nil, fmt.Errorf("--trace-timeout %v: want a positive duration, such as 30s or 2m", c.Duration("trace-timeout"))
		}
		spec.Trace = &slim.TraceSpec{Timeout: c.Duration("trace-timeout"), Probe: c.String("trace-probe")}
		if dash {
			spec.Trace.Args = traceArgs
		}
	}
	spec.Created = time.Unix(c.Int64("source-date-epoch"), 0)
	var layers packer.Spec
	if err := layerSpec(c, &layers); err != nil {
		return spec, nil, err
	}
	spec.Compression, spec.Level, spec.Layers, spec.Format = layers.Compression, layers.Level, layers.Layers, layers.Format
	return spec, dsts, nil
}

// classifySlim gives slim's own errors their exit code, and the rest
// pack's.
func classifySlim(err error) error {
	if errors.Is(err, slim.ErrNoProgram) || errors.Is(err, slim.ErrNotInImage) {
		return withCode(exitBadInput, withFlagHints(err))
	}
	if errors.Is(err, runner.ErrProbe) {
		return withCode(exitWontRun, err)
	}
	return classify(err)
}

// printSlimReport says what slimming one platform's image kept, and how
// big the slim image is against the original.
func printSlimReport(w io.Writer, r *slim.Report, probed bool) {
	fmt.Fprintf(w, "slimmed %s (%s): keeps %s", r.From, r.Platform, r.Program)
	if r.Script != "" {
		fmt.Fprintf(w, " to run the script %s", r.Script)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  original: %s compressed, %s of files, %d entries\n", sizeOf(r.Original.Compressed), sizeOf(r.Original.Files), r.Original.Count)
	fmt.Fprintf(w, "  slim:     %s compressed, %s of files, %d entries (%.1f%% of the original)\n",
		sizeOf(r.Slim.Compressed), sizeOf(r.Slim.Files), r.Slim.Count, 100*r.Ratio())
	fmt.Fprintln(w, "  kept:")
	for _, g := range r.Groups {
		fmt.Fprintf(w, "    %s: %d %s, %s\n", g.Reason, g.Files, plural(g.Files, "entry", "entries"), sizeOf(g.Bytes))
	}
	if len(r.Users) > 0 {
		fmt.Fprintf(w, "  users: %v\n", r.Users)
	}
	if r.Trace != nil {
		how := fmt.Sprintf("exited %d", r.Trace.ExitCode)
		switch {
		case probed:
			how = "was stopped once the probe succeeded"
		case r.Trace.TimedOut:
			how = "was stopped at the timeout"
		}
		fmt.Fprintf(w, "  traced run: %s; it added %d %s\n", how, len(r.Traced), plural(len(r.Traced), "entry", "entries"))
		for _, p := range r.Traced {
			fmt.Fprintf(w, "    %s\n", p)
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
}

// slimResult is slim --json.
type slimResult struct {
	Digest       string         `json:"digest"`
	References   []string       `json:"references"`
	Destinations []string       `json:"destinations"`
	Platforms    []string       `json:"platforms"`
	Reports      []*slim.Report `json:"reports"`
}

func slimJSON(res *slim.Result, dsts []transfer.Ref) slimResult {
	out := slimResult{Digest: res.Digest.String(), References: release.References(dsts, res.Digest), Platforms: res.Platforms, Reports: res.Reports}
	for _, d := range dsts {
		out.Destinations = append(out.Destinations, d.String())
	}
	return out
}
