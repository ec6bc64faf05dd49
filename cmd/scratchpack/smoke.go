package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/scratchpack/scratchpack/packer"
	"github.com/scratchpack/scratchpack/runner"
)

// smokeFlags are pack's flags for a smoke run of the image before it is written.
func smokeFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "smoke", Usage: "run the image once before writing it, with its entrypoint and command (see scratchpack run); write it only if it exits 0"},
		&cli.StringFlag{Name: "smoke-args", Usage: "smoke-run with these `ARGS` instead of the image's command (a JSON array or words, e.g. --version); implies --smoke"},
		&cli.DurationFlag{Name: "smoke-timeout", Value: 30 * time.Second, Usage: "how long (`DURATION`) the smoke run may take before it counts as failed"},
	}
}

// maxSmokeOutput bounds the smoke run's output kept to show on failure.
const maxSmokeOutput = 64 << 10

func smokeAsked(c *cli.Context) bool { return c.Bool("smoke") || c.IsSet("smoke-args") }

// smokeTest runs the built image once when --smoke or --smoke-args asks,
// and fails with exit status 3, showing the program's output and what
// inspecting it in the image finds, unless it exits 0 in time.
func smokeTest(c *cli.Context, res *packer.Result, work string) error {
	if !smokeAsked(c) {
		return nil
	}
	return smokeRun(c, res, work, "smoke run")
}

// smokeIndex smoke-runs each image of an index that this machine can run
// (its own platform, and those binfmt_misc emulates); at least one must.
func smokeIndex(c *cli.Context, results []*packer.Result, work string) error {
	if !smokeAsked(c) {
		return nil
	}
	ran := 0
	var skipped []string
	for _, r := range results {
		p := "?"
		if cf, err := r.Image.ConfigFile(); err == nil && cf.Platform() != nil {
			p = cf.Platform().String()
		}
		err := smokeRun(c, r, work, "smoke run ("+p+")")
		var ne *runner.NoEmulatorError
		if errors.As(err, &ne) {
			fmt.Fprintf(c.App.ErrWriter, "smoke run (%s): skipped: %s\n", p, ne.Reason)
			skipped = append(skipped, p)
			continue
		}
		if err != nil {
			return err
		}
		ran++
	}
	if ran == 0 {
		return withCode(exitFailure, fmt.Errorf("the smoke run could run none of the platforms (%s) here, so the index was not written "+
			"(register an emulator with binfmt_misc, or drop --smoke to write it untested)", strings.Join(skipped, ", ")))
	}
	return nil
}

// smokeRun runs one image once; label starts its messages.
func smokeRun(c *cli.Context, res *packer.Result, work, label string) error {
	w := c.App.ErrWriter
	out := &tailBuffer{max: maxSmokeOutput}
	opts := []runner.Option{
		runner.WithStdio(nil, out, out),
		runner.WithWorkDir(work),
		runner.WithWarnings(func(s string) { fmt.Fprintf(w, "scratchpack: %s: warning: %s\n", label, s) }),
	}
	if runc, err := exec.LookPath("runc"); err == nil {
		opts = append(opts, runner.WithRunc(runc))
	}
	what := "its command"
	if c.IsSet("smoke-args") {
		args, err := words("--smoke-args", c.String("smoke-args"))
		if err != nil {
			return withCode(exitBadInput, err)
		}
		opts = append(opts, runner.WithArgs(args...))
		what = fmt.Sprintf("%q", args)
	}
	timeout := c.Duration("smoke-timeout")
	ctx, cancel := context.WithTimeout(c.Context, timeout)
	defer cancel()
	start := time.Now()
	r, err := runner.Run(ctx, res.Image, opts...)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		fmt.Fprintf(w, "%s: FAILED: the image's program (with %s) did not exit within %v; it was killed. Its output:\n", label, what, timeout)
		printOutput(w, out)
		return withCode(exitWontRun, fmt.Errorf("the smoke run did not finish within %v, so the image was not written: "+
			"give arguments that make the program exit (--smoke-args, e.g. --version) or more time (--smoke-timeout)", timeout))
	case errors.Is(err, context.Canceled):
		return withCode(exitInterrupt, errInterrupted)
	case err != nil:
		return withCode(exitFailure, fmt.Errorf("the smoke run could not run the image here, so it was not written (drop --smoke to write it untested): %w", err))
	}
	if r.ExitCode == 0 {
		fmt.Fprintf(w, "%s: the image's program (with %s) exited 0 in %v (%s)\n", label, what, time.Since(start).Round(time.Millisecond), r.Runtime)
		return nil
	}
	status := fmt.Sprintf("exited with status %d", r.ExitCode)
	if r.Start != nil {
		status = "could not start: " + r.Start.Msg
	}
	fmt.Fprintf(w, "%s: FAILED: the image's program (with %s) %s. Its output:\n", label, what, status)
	printOutput(w, out)
	if len(r.Problems)+len(r.MissingFiles)+len(r.Hints)+len(r.OutputNames) > 0 {
		fmt.Fprintln(w, "inspecting it in the image:")
		printExplanation(w, r, "  ")
	}
	return withCode(exitWontRun, fmt.Errorf("the smoke run %s, so the image was not written", status))
}

func printOutput(w io.Writer, out *tailBuffer) {
	s := strings.TrimRight(out.String(), "\n")
	if s == "" {
		fmt.Fprintln(w, "  (no output)")
		return
	}
	if out.dropped > 0 {
		fmt.Fprintf(w, "  ... (%d bytes before)\n", out.dropped)
	}
	for _, line := range strings.Split(s, "\n") {
		fmt.Fprintf(w, "  | %s\n", line)
	}
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max     int
	buf     []byte
	dropped int
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
		b.dropped += over
	}
	return len(p), nil
}

func (b *tailBuffer) String() string { return string(b.buf) }
