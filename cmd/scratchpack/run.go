package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strings"
	"syscall"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/urfave/cli/v2"

	"github.com/scratchpack/scratchpack/runner"
	"github.com/scratchpack/scratchpack/transfer"
)

// Exit codes of run, which passes the program's own through: scratchpack's
// failures use the codes docker run and podman run use.
const (
	exitRunFailed = 125 // scratchpack could not run the image
)

func runCommand() *cli.Command {
	return &cli.Command{
		Name:        "run",
		Usage:       "run an image's program once on this machine, without a daemon",
		ArgsUsage:   "IMAGE [-- ARG...]",
		Description: helpText("run"),
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "runtime", Value: "auto", Usage: "`RUNTIME` to run with: auto (runc if installed and root, else builtin), runc, builtin"},
			&cli.StringFlag{Name: "network", Value: "none", Usage: "`MODE`: none (a network namespace with loopback only) or host (with this machine's /etc/resolv.conf and /etc/hosts)"},
			&cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "set `KEY=VALUE` in the program's environment (KEY alone: this machine's value); repeatable"},
			&cli.StringSliceFlag{Name: "env-file", Usage: "read variables from `FILE`: KEY=VALUE lines, # comments; repeatable"},
			&cli.StringFlag{Name: "platform", Usage: "`OS/ARCH[/VARIANT]` of the image to run (default: this machine's)"},
			&cli.StringFlag{Name: "entrypoint", Usage: "replace the image's entrypoint with `COMMAND`: a JSON array or words (drops its command too)"},
			maxUnpackFlag(),
			timeoutFlag(),
		}, registryFlags()...),
		Action: runRun,
	}
}

// initCommand is the builtin runtime's init: scratchpack started again in
// the new namespaces. It never returns to the app: what it would print
// belongs to the container's stderr, and its errors reach run by a pipe.
func initCommand() *cli.Command {
	return &cli.Command{
		Name:            runner.InitCommand,
		Hidden:          true,
		SkipFlagParsing: true,
		Action:          func(*cli.Context) error { os.Exit(runner.Init()); return nil },
	}
}

// programExit is the exit status of the program run, passed through as
// scratchpack's own without a message.
type programExit struct{ code int }

func (e *programExit) Error() string { return fmt.Sprintf("the program exited with status %d", e.code) }

func runRun(c *cli.Context) error {
	images, _, _ := splitArgs(c)
	switch {
	case len(images) == 0:
		return withCode(exitRunFailed, errors.New("run needs an IMAGE; see scratchpack run --help"))
	case len(images) > 1:
		return withCode(exitRunFailed, fmt.Errorf("run takes one IMAGE, not %q too: the program's arguments go after --, e.g. scratchpack run %s -- %s",
			images[1], images[0], strings.Join(images[1:], " ")))
	}
	ref, err := transfer.ParseRef(images[0])
	if err != nil {
		return withCode(exitRunFailed, err)
	}
	if ref.Transport == transfer.Scratch {
		return withCode(exitRunFailed, errors.New("scratch is empty: there is nothing to run"))
	}
	platform := v1.Platform{OS: "linux", Architecture: runtime.GOARCH}
	if p := c.String("platform"); p != "" {
		pl, err := v1.ParsePlatform(p)
		if err != nil {
			return withCode(exitRunFailed, fmt.Errorf("--platform %q: %w", p, err))
		}
		platform = *pl
	}
	opts, err := runOptions(c)
	if err != nil {
		return withCode(exitRunFailed, err)
	}
	tmp, err := tempDir()
	if err != nil {
		return withCode(exitRunFailed, err)
	}
	opts = append(opts, runner.WithWorkDir(tmp))
	popts, err := registryOptions(c)
	if err != nil {
		return withCode(exitRunFailed, err)
	}
	popts = append(append(popts, maxUnpackOptions(c)...), transfer.WithTimeout(c.Duration("timeout")))
	img, err := transfer.LoadBase(c.Context, ref, platform, popts...)
	if err != nil {
		var pe *transfer.PlatformError
		if errors.As(err, &pe) {
			err = platformError(ref, pe)
		}
		if errors.Is(err, context.Canceled) {
			return withCode(exitInterrupt, errInterrupted)
		}
		return withCode(exitRunFailed, withFlagHints(err))
	}

	// Signals go to the program (runner forwards them), not to the
	// context: the context main made ends at the first ^C.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	opts = append(opts, runner.WithSignals(sigs))
	res, err := runner.Run(context.WithoutCancel(c.Context), img, opts...)
	if errors.Is(err, runner.ErrInterrupted) {
		return withCode(exitInterrupt, errInterrupted)
	}
	if err != nil {
		return withCode(exitRunFailed, err)
	}
	printRunFailure(c.App.ErrWriter, res)
	if res.ExitCode != 0 {
		return &programExit{res.ExitCode}
	}
	return nil
}

// platformError says which platforms an image has, and how to pick one.
func platformError(ref transfer.Ref, pe *transfer.PlatformError) error {
	if len(pe.Have) == 0 {
		return fmt.Errorf("%s has no image for %s (it declares no platforms)", ref, pe.Want)
	}
	have := make([]string, len(pe.Have))
	for i, p := range pe.Have {
		have[i] = p.String()
	}
	return fmt.Errorf("%s has no image for %s, this machine's platform (it has %s): to run one of those, "+
		"name it with --platform %s (it runs under an emulator registered with binfmt_misc)",
		ref, pe.Want, strings.Join(have, ", "), have[0])
}

// runOptions turns run's flags and arguments into runner options.
func runOptions(c *cli.Context) ([]runner.Option, error) {
	rt, err := runner.ParseRuntime(c.String("runtime"))
	if err != nil {
		return nil, fmt.Errorf("--runtime: %w", err)
	}
	stderr := c.App.ErrWriter
	opts := []runner.Option{
		runner.WithRuntime(rt),
		runner.WithStdio(c.App.Reader, c.App.Writer, stderr),
		runner.WithWarnings(func(s string) { fmt.Fprintln(stderr, "scratchpack: warning:", s) }),
	}
	if rt != runner.RuntimeBuiltin {
		runc, err := exec.LookPath("runc")
		switch {
		case err == nil:
			opts = append(opts, runner.WithRunc(runc))
		case rt == runner.RuntimeRunc:
			return nil, errors.New("--runtime runc: runc is not in PATH; install it (Debian: apt-get install runc) or use --runtime builtin")
		}
	}
	env, err := runEnv(c)
	if err != nil {
		return nil, err
	}
	if len(env) > 0 {
		opts = append(opts, runner.WithEnv(env...))
	}
	switch n := c.String("network"); n {
	case "none":
	case "host":
		opts = append(opts, runner.WithHostNetwork())
	default:
		return nil, fmt.Errorf("--network %q: want none or host", n)
	}
	if c.IsSet("entrypoint") {
		ep, err := words("--entrypoint", c.String("entrypoint"))
		if err != nil {
			return nil, err
		}
		opts = append(opts, runner.WithEntrypoint(ep...))
	}
	if _, args, _ := splitArgs(c); len(args) > 0 {
		opts = append(opts, runner.WithArgs(args...))
	}
	return opts, nil
}

// runEnv reads -e and --env-file as docker run does: KEY=VALUE as it is,
// KEY alone takes this machine's value (and is dropped if it has none);
// the files first, then -e, a later one winning.
func runEnv(c *cli.Context) ([]string, error) {
	var env []string
	add := func(kv, where string) error {
		k, _, hasValue := strings.Cut(kv, "=")
		if k == "" || strings.ContainsAny(k, " \t") {
			return fmt.Errorf("%s: %q is not KEY=VALUE", where, kv)
		}
		if !hasValue {
			v, ok := os.LookupEnv(k)
			if !ok {
				return nil
			}
			kv = k + "=" + v
		}
		env = append(env, kv)
		return nil
	}
	for _, f := range c.StringSlice("env-file") {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("--env-file: %w", err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			line = strings.TrimRight(line, "\r")
			if t := strings.TrimSpace(line); t == "" || strings.HasPrefix(t, "#") {
				continue
			}
			if err := add(strings.TrimLeft(line, " \t"), fmt.Sprintf("--env-file %s:%d", f, i+1)); err != nil {
				return nil, err
			}
		}
	}
	for _, kv := range c.StringSlice("env") {
		if err := add(kv, "-e"); err != nil {
			return nil, err
		}
	}
	return env, nil
}

// printRunFailure explains, on stderr, why the program failed, when the
// run found something to say.
func printRunFailure(w io.Writer, res *runner.Result) {
	if res.ExitCode == 0 {
		return
	}
	if res.Start != nil && res.Runtime == runner.RuntimeBuiltin {
		fmt.Fprintf(w, "scratchpack: %s\n", res.Start.Msg) // runc prints its own
	}
	if len(res.Problems) == 0 && len(res.MissingFiles) == 0 && len(res.Hints) == 0 && len(res.OutputNames) == 0 {
		return
	}
	if res.Start != nil {
		fmt.Fprintln(w, "scratchpack: the program could not start; inspecting it in the image:")
	} else {
		fmt.Fprintf(w, "scratchpack: the program exited with status %d; inspecting it in the image:\n", res.ExitCode)
	}
	printExplanation(w, res, "  ")
}

// printExplanation lists the problems, missing run-time files and dlopen
// hints of a failed run.
func printExplanation(w io.Writer, res *runner.Result, indent string) {
	// What the program itself named first.
	told := map[string]bool{}
	for _, p := range res.OutputNames {
		line := fmt.Sprintf("%s✗ the image has no %s, which the program's output names", indent, p)
		for _, f := range res.MissingFiles {
			if f.Path == p {
				line += ": " + f.Reason
				told[p] = true
			}
		}
		fmt.Fprintln(w, line)
	}
	for _, p := range res.Problems {
		fmt.Fprintf(w, "%s✗ %s\n%s  %s\n", indent, p.Symptom, indent, p.Message)
	}
	for _, f := range res.MissingFiles {
		if !told[f.Path] {
			fmt.Fprintf(w, "%s? the image has no %s: %s\n", indent, f.Path, f.Reason)
		}
	}
	printHints(w, res.Hints, indent)
}
