package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/scratchpack/scratchpack/elfdeps"
	"github.com/scratchpack/scratchpack/packer"
	"github.com/scratchpack/scratchpack/transfer"
)

// check's own exit codes, as its help says: a script asks one question.
const (
	checkRuns     = 0
	checkWontRun  = 1
	checkCantTell = 2
)

func checkCommand() *cli.Command {
	return &cli.Command{
		Name:        "check",
		Usage:       "predict whether a program runs on a base image as it is, and why not",
		ArgsUsage:   "--base IMAGE PROGRAM",
		Description: helpText("check"),
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "base", Required: true, Usage: "`IMAGE` to check against: scratch, a registry reference, oci:DIR[:TAG], oci-archive:FILE, docker-archive:FILE"},
			&cli.StringFlag{Name: "dest", Usage: "`PATH` the program would have in the image (default /app/NAME), for $ORIGIN"},
			&cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "the program will run with `K=V` (TZ decides whether zones are needed); repeatable"},
			&cli.BoolFlag{Name: "json", Usage: "print the verdict as JSON on stdout"},
		}, registryFlags()...),
		Action: runCheck,
	}
}

func runCheck(c *cli.Context) error {
	args := operands(c)
	if len(args) != 1 {
		return withCode(checkCantTell, errors.New("check needs exactly one PROGRAM; see scratchpack check --help"))
	}
	base, err := transfer.ParseRef(c.String("base"))
	if err != nil {
		return withCode(checkCantTell, fmt.Errorf("--base: %w", err))
	}
	work, err := workDir("scratchpack-check-")
	if err != nil {
		return withCode(checkCantTell, err)
	}
	defer os.RemoveAll(work)
	opts, err := registryOptions(c)
	if err != nil {
		return withCode(checkCantTell, err)
	}
	spec := packer.Spec{Program: args[0], Dest: c.String("dest"), Base: base, WorkDir: work,
		Config: packer.Config{Env: c.StringSlice("env")}}
	popts, err := packOptions(c, false, opts)
	if err != nil {
		return withCode(checkCantTell, err)
	}
	v, err := packer.Check(c.Context, spec, popts...)
	if err != nil {
		if errors.Is(classify(err), errInterrupted) {
			return withCode(exitInterrupt, errInterrupted)
		}
		return withCode(checkCantTell, fmt.Errorf("could not tell: %w", withFlagHints(err)))
	}
	if c.Bool("json") {
		if err := json.NewEncoder(c.App.Writer).Encode(v); err != nil {
			return err
		}
	} else {
		printVerdict(c.App.Writer, v)
	}
	if !v.Runs {
		return withCode(checkWontRun, fmt.Errorf("%s will not run on %s: %s", v.Program, v.Base, v.Problems[0].Symptom))
	}
	return nil
}

func printVerdict(w io.Writer, v *packer.Verdict) {
	if v.Runs {
		prog, base := string(v.Libc)+" program", "the base provides "+string(v.BaseLibc)
		if v.Libc == elfdeps.LibcNone {
			prog = "needs no C library"
		}
		if v.BaseLibc == elfdeps.LibcNone {
			base = "the base has no C library"
		}
		fmt.Fprintf(w, "%s on %s: runs (%s; %s)\n", v.Program, v.Base, prog, base)
	} else {
		fmt.Fprintf(w, "%s on %s: WILL NOT RUN\n", v.Program, v.Base)
	}
	for _, p := range v.Problems {
		fmt.Fprintf(w, "  ✗ %s\n    %s\n", p.Symptom, p.Message)
	}
	for _, warn := range v.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", warn)
	}
}
