package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/scratchpack/scratchpack/config"
	"github.com/scratchpack/scratchpack/elfdeps"
	"github.com/scratchpack/scratchpack/packer"
	"github.com/scratchpack/scratchpack/release"
	"github.com/scratchpack/scratchpack/runner"
	"github.com/scratchpack/scratchpack/transfer"
)

func packCommand() *cli.Command {
	return &cli.Command{
		Name:        "pack",
		Usage:       "write the smallest OCI image that runs a program",
		ArgsUsage:   "PROGRAM [-- ARG...] | --platform OS/ARCH=PATH... [-- ARG...]",
		Description: helpText("pack") + runtimeHelp + layerHelp,
		Flags: append([]cli.Flag{
			&cli.StringSliceFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the image to `DEST` (see above); repeatable"},
			&cli.StringFlag{Name: "base", Value: "scratch", Usage: "`IMAGE` to build on: scratch, a registry reference, oci:DIR[:TAG], oci-archive:FILE, docker-archive:FILE"},
			&cli.StringFlag{Name: "dest", Usage: "`PATH` of the program in the image (default /app/NAME)"},
			&cli.StringFlag{Name: "entrypoint", Usage: "the image's entrypoint, `COMMAND`: a JSON array or words split at spaces (default: the program)"},
			&cli.StringFlag{Name: "cmd", Usage: "the image's command, `ARGS` to the entrypoint: a JSON array or words (default: what follows --)"},
			&cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "set `K=V` in the image's environment; repeatable"},
			&cli.StringFlag{Name: "workdir", Usage: "working `DIR` of the program"},
			&cli.StringFlag{Name: "user", Usage: "`USER` to run as: root (default), nonroot (65532:65532, with /etc/passwd and /etc/group), or UID[:GID]"},
			&cli.StringSliceFlag{Name: "label", Aliases: []string{"l"}, Usage: "image label `K=V`; repeatable"},
			&cli.StringSliceFlag{Name: "annotation", Usage: "manifest annotation `K=V`; repeatable"},
			&cli.StringSliceFlag{Name: "expose", Usage: "`PORT[/PROTO]` the program listens on; repeatable"},
			&cli.StringSliceFlag{Name: "add", Usage: "copy host `SRC:DEST` (file or directory) into the image; repeatable"},
			&cli.BoolFlag{Name: "keep-suid", Usage: "keep the setuid and setgid bits of the program and --add files that have them; without it they are cleared"},
			&cli.StringSliceFlag{Name: "platform", Usage: "`OS/ARCH[/VARIANT]` the program must be for (default: the program's); or OS/ARCH=PATH, once per platform, to build a multi-platform index (see above)"},
			&cli.StringSliceFlag{Name: "sysroot", Aliases: []string{"root"}, Usage: "take libraries from `DIR` instead of this machine: a cross sysroot, an unpacked root file system of the target, or a toolchain sysroot; OS/ARCH=DIR per platform (default: / for this machine's programs, /usr/TRIPLET for others)"},
			&cli.StringSliceFlag{Name: "library-path", Usage: "also search `DIR` as LD_LIBRARY_PATH would; repeatable"},
			&cli.Int64Flag{Name: "source-date-epoch", EnvVars: []string{"SOURCE_DATE_EPOCH"}, Usage: "image and file time, in `SECONDS` since the epoch"},
			&cli.StringSliceFlag{Name: "tag", Aliases: []string{"t"}, Usage: "also tag docker:// and docker-daemon: destinations `TAG`; a NAME:TAG names FILE.tar (RepoTags, as docker save), docker-archive: and oci-archive: destinations; repeatable"},
			&cli.StringFlag{Name: "sbom", Usage: "write an SPDX 2.3 JSON SBOM to `FILE`, and attach it to pushed images"},
			&cli.StringFlag{Name: "docker-host", EnvVars: []string{"DOCKER_HOST"}, Value: transfer.DefaultDockerHost, Usage: "Docker daemon `ADDRESS` for docker-daemon: destinations (unix:///PATH)"},
			&cli.StringFlag{Name: "digest-file", Usage: "also write the image digest to `FILE`"},
			forceFlag(),
			maxUnpackFlag(),
			timeoutFlag(),
			&cli.BoolFlag{Name: "json", Usage: "print the result as JSON on stdout instead of the digest"},
		}, append(append(append(registryFlags(), runtimeFlags()...), smokeFlags()...), layerFlags()...)...),
		Action: runPack,
	}
}

func runPack(c *cli.Context) error {
	spec, dsts, err := packSpec(c)
	if err != nil {
		return withCode(exitBadInput, err)
	}
	specs, index, err := platformSpecs(c, spec, dsts)
	if err != nil {
		return withCode(exitBadInput, err)
	}
	for _, s := range specs {
		if err := s.Validate(); err != nil {
			return withCode(exitBadInput, flagErrors(err))
		}
	}
	work, err := workDir("scratchpack-")
	if err != nil {
		return withCode(exitRegistry, err)
	}
	defer os.RemoveAll(work)
	specs[0].WorkDir = work
	ts, err := traceSpec(c, specs[0])
	if err != nil {
		return withCode(exitBadInput, err)
	}
	if ts != nil {
		tr, err := runner.Trace(c.Context, *ts)
		if err != nil {
			return classify(err)
		}
		if c.Bool("trace-report") {
			return traceReport(c, specs[0].Program, tr)
		}
		specs[0].Runtime.Traced = tr
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
	for i := range specs {
		specs[i].WorkDir = work
	}
	writeOpts, waitProgress := pushProgress(c.App.ErrWriter, dsts)
	writing := false
	r := release.Run(c.Context, []release.Job{{Name: filepath.Base(specs[0].Program), Specs: specs, Index: index, Outputs: dsts, SBOM: c.String("sbom")}},
		release.Options{Pack: popts, Transfer: opts, Write: writeOpts, Version: c.App.Version, Built: func(r *release.Result) error {
			for _, b := range r.Builds {
				printPackReport(c.App.ErrWriter, b)
			}
			err := smokeTest(c, r.Builds[0], work)
			if index {
				err = smokeIndex(c, r.Builds, work)
			}
			writing = err == nil
			return err
		}})[0]
	waitProgress(writing)
	if r.Err != nil {
		return classify(r.Err)
	}
	return packOutcome(c, r, dsts)
}

// packOutcome reports what pack wrote: the destinations and SBOMs on
// stderr, the digest file, and the digest (or --json) on stdout.
func packOutcome(c *cli.Context, r *release.Result, dsts []transfer.Ref) error {
	w := c.App.ErrWriter
	for _, d := range dsts {
		switch {
		case r.Index != nil:
			fmt.Fprintf(w, "wrote %s (an index of %d platforms)\n", d, len(r.Builds))
		default:
			fmt.Fprintln(w, wroteLine(d, r.Builds[0].Image))
		}
	}
	if len(r.SBOM) > 0 {
		fmt.Fprintf(w, "wrote the SBOM %s\n", strings.Join(r.SBOM, ", "))
	}
	if f := c.String("digest-file"); f != "" {
		if err := release.WriteFile(f, []byte(r.Digest.String()+"\n")); err != nil {
			return withCode(exitRegistry, err)
		}
	}
	switch {
	case c.Bool("json") && r.Index != nil:
		return json.NewEncoder(c.App.Writer).Encode(packIndexJSON(r, dsts))
	case c.Bool("json"):
		return json.NewEncoder(c.App.Writer).Encode(packJSON(r.Builds[0], r.Digest, dsts))
	case r.Index == nil && onlyDaemons(dsts):
		fmt.Fprintln(c.App.Writer, r.ImageID)
	default:
		fmt.Fprintln(c.App.Writer, r.Digest)
	}
	return nil
}

// packSpec turns flags and arguments into a packer.Spec and destinations.
func packSpec(c *cli.Context) (packer.Spec, []transfer.Ref, error) {
	var spec packer.Spec
	check, progs, err := parsePlatforms(c.StringSlice("platform"))
	if err != nil {
		return spec, nil, err
	}
	programs, args, _ := splitArgs(c)
	switch {
	case len(programs) == 0 && len(progs) == 0:
		return spec, nil, errors.New("pack needs a PROGRAM (or --platform OS/ARCH=PATH per platform); see scratchpack pack --help")
	case len(programs) > 0 && len(progs) > 0:
		return spec, nil, fmt.Errorf("give the programs either with --platform OS/ARCH=PATH or as PROGRAM, not both (%s)", programs[0])
	case len(programs) > 1:
		return spec, nil, fmt.Errorf("pack takes one PROGRAM, not %q too: the image's command goes after --, e.g. scratchpack pack [flags] %s -- %s",
			programs[1], programs[0], strings.Join(programs[1:], " "))
	}
	if len(c.StringSlice("output")) == 0 && !c.Bool("trace-report") {
		return spec, nil, errors.New("pack needs at least one -o DEST, e.g. -o oci:out or -o image.tar; see scratchpack pack --help")
	}
	dsts, err := destinations(c.StringSlice("output"), c.StringSlice("tag"))
	if err != nil {
		return spec, nil, err
	}
	if c.String("format") == packer.FormatV2S2.String() {
		if err := transfer.CheckDockerFormat(dsts); err != nil {
			return spec, nil, fmt.Errorf("--format v2s2: %w", err)
		}
	}
	base, err := transfer.ParseRef(c.String("base"))
	if err != nil {
		return spec, nil, fmt.Errorf("--base: %w", err)
	}
	spec = packer.Spec{
		Program:     first(programs),
		Dest:        c.String("dest"),
		Platform:    check,
		LibraryPath: c.StringSlice("library-path"),
		Base:        base,
		Created:     time.Unix(c.Int64("source-date-epoch"), 0),
		Config: packer.Config{
			Env:        c.StringSlice("env"),
			WorkingDir: c.String("workdir"),
			User:       c.String("user"),
			Expose:     c.StringSlice("expose"),
		},
	}
	if spec.Config.Labels, err = keyValues("--label", c.StringSlice("label")); err != nil {
		return spec, nil, err
	}
	if spec.Config.Annotations, err = keyValues("--annotation", c.StringSlice("annotation")); err != nil {
		return spec, nil, err
	}
	if c.IsSet("entrypoint") {
		if spec.Config.Entrypoint, err = words("--entrypoint", c.String("entrypoint")); err != nil {
			return spec, nil, err
		}
	}
	switch {
	case c.IsSet("cmd") && len(args) > 0:
		return spec, nil, errors.New("give the default command either with --cmd or after --, not both")
	case c.IsSet("cmd"):
		if spec.Config.Cmd, err = words("--cmd", c.String("cmd")); err != nil {
			return spec, nil, err
		}
	case len(args) > 0:
		spec.Config.Cmd = args
	}
	for _, a := range c.StringSlice("add") {
		src, dest, ok := strings.Cut(a, ":")
		if !ok || src == "" || dest == "" {
			return spec, nil, fmt.Errorf("--add %q: want SRC:DEST, e.g. --add ./config.yaml:/etc/app/config.yaml", a)
		}
		spec.Add = append(spec.Add, packer.Addition{Src: src, Dest: dest})
	}
	spec.KeepSUID = c.Bool("keep-suid")
	if err := runtimeSpec(c, &spec); err != nil {
		return spec, nil, err
	}
	if err := layerSpec(c, &spec); err != nil {
		return spec, nil, err
	}
	return spec, dsts, nil
}

// first is the first of list, or "".
func first(list []string) string {
	if len(list) == 0 {
		return ""
	}
	return list[0]
}

func keyValues(flag string, kvs []string) (map[string]string, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	m := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%s %q: want K=V", flag, kv)
		}
		m[k] = v
	}
	return m, nil
}

// words parses a JSON array or splits at white space, as Docker users write it.
func words(flag, s string) ([]string, error) {
	if strings.HasPrefix(strings.TrimSpace(s), "[") {
		var w []string
		if err := json.Unmarshal([]byte(s), &w); err != nil {
			return nil, fmt.Errorf("%s %s: not a JSON array of strings: %w", flag, s, err)
		}
		return w, nil
	}
	return strings.Fields(s), nil
}

// classify gives an error its exit code.
func classify(err error) error {
	err = withFlagHints(err)
	var wr *packer.WontRunError
	var pe *transfer.PlatformError
	var fe *elfdeps.FileError
	var ce config.Errors
	var ee *exitError
	var se *elfdeps.SysrootError
	var re *transfer.RefusedError
	switch {
	case errors.As(err, &ee):
		return err
	case errors.As(err, &re):
		if re.Forcible {
			err = fmt.Errorf("%w (--force replaces it)", err)
		}
		return withCode(exitBadInput, err)
	case errors.Is(err, transfer.ErrUnpackLimit):
		return withCode(exitRegistry, fmt.Errorf("%w (--max-unpack SIZE raises it)", err))
	case errors.Is(err, transfer.ErrDaemon):
		return withCode(exitRegistry, err)
	case errors.As(err, &wr), errors.As(err, &pe):
		return withCode(exitWontRun, err)
	case errors.As(err, &fe), errors.As(err, &se), errors.Is(err, packer.ErrDuplicatePlatform), errors.Is(err, elfdeps.ErrNotELF), errors.Is(err, elfdeps.ErrCorrupt), errors.Is(err, elfdeps.ErrScript),
		errors.Is(err, fs.ErrNotExist), errors.Is(err, elfdeps.ErrNotRegular), errors.Is(err, transfer.ErrBadRef), errors.As(err, &ce),
		errors.Is(err, packer.ErrRefusedAdd), errors.Is(err, packer.ErrShadowsInterpreter), errors.Is(err, packer.ErrConflict),
		errors.Is(err, transfer.ErrUnsupported), errors.Is(err, transfer.ErrAmbiguous), errors.Is(err, elfdeps.ErrNoOnedir):
		return withCode(exitBadInput, err)
	case errors.Is(err, context.Canceled):
		return withCode(exitInterrupt, errInterrupted)
	}
	return withCode(exitRegistry, err)
}

// writeOptions are the transfer options of the flags every writing command
// has (and ls).
func writeOptions(c *cli.Context) ([]transfer.Option, error) {
	opts, err := registryOptions(c)
	if err != nil {
		return nil, err
	}
	if c.Bool("force") {
		opts = append(opts, transfer.WithForce())
	}
	opts = append(opts, maxUnpackOptions(c)...)
	if d := c.Duration("timeout"); d > 0 {
		opts = append(opts, transfer.WithTimeout(d))
	}
	if h := c.String("docker-host"); h != "" {
		opts = append(opts, transfer.WithDockerHost(h))
	}
	if n := c.Int("upload-jobs"); n > 0 { // pack's only
		opts = append(opts, transfer.WithJobs(n))
	}
	return opts, nil
}

// timeoutFlag bounds how long a registry may keep a command waiting.
func timeoutFlag() cli.Flag {
	return &cli.DurationFlag{Name: "timeout", Value: transfer.DefaultTimeout,
		Usage: "give up on a registry that keeps scratchpack waiting this long (`DURATION`): to connect, to answer, or between two pieces of a transfer",
		Action: func(_ *cli.Context, d time.Duration) error {
			if d <= 0 {
				return withCode(exitBadInput, fmt.Errorf("--timeout %v: want a positive duration, such as 30s or 2m", d))
			}
			return nil
		}}
}

// forceFlag lets pack, pull and build replace a file that is not an image archive.
func forceFlag() cli.Flag {
	return &cli.BoolFlag{Name: "force", Usage: "replace an output FILE that is not an image archive (never a device, fifo, socket, link or directory)"}
}

// destinations parses each -o DEST, checks that its directory exists, and
// applies the -t tags.
func destinations(outputs, tags []string) ([]transfer.Ref, error) {
	var dsts []transfer.Ref
	for _, o := range outputs {
		r, err := transfer.ParseDest(o)
		if err == nil {
			err = transfer.CheckDestDir(r)
		}
		if err != nil {
			return nil, fmt.Errorf("-o %s: %w", o, err)
		}
		dsts = append(dsts, r)
	}
	dsts, err := transfer.WithTags(dsts, tags)
	if err != nil {
		return nil, fmt.Errorf("-t: %w", err)
	}
	return dsts, nil
}
