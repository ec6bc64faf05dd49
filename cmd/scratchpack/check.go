package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

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
		Usage:       "predict whether programs run on a base image as they are, and why not",
		ArgsUsage:   "--base IMAGE PROGRAM...",
		Description: helpText("check"),
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "base", Required: true, Usage: "`IMAGE` to check against: scratch, a registry reference, oci:DIR[:TAG], oci-archive:FILE, docker-archive:FILE"},
			&cli.StringFlag{Name: "dest", Usage: "`PATH` the program would have in the image (default /app/NAME), for $ORIGIN"},
			&cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "the program will run with `K=V` (TZ decides whether zones are needed); repeatable"},
			&cli.BoolFlag{Name: "json", Usage: "print each verdict as JSON on stdout, one object a line"},
		}, append(registryFlags(), cacheFlags()...)...),
		Action: runCheck,
	}
}

func runCheck(c *cli.Context) error {
	args := operands(c)
	if len(args) == 0 {
		return withCode(checkCantTell, errors.New("check needs a PROGRAM (or several); see scratchpack check --help"))
	}
	base, err := transfer.ParseRef(c.String("base"))
	if err != nil {
		return withCode(checkCantTell, fmt.Errorf("--base: %w", err))
	}
	opts, err := registryOptions(c)
	if err != nil {
		return withCode(checkCantTell, err)
	}
	spec := packer.Spec{Program: args[0], Dest: c.String("dest"), Base: base,
		Config: packer.Config{Env: c.StringSlice("env")}}
	popts, err := packOptions(c, true, opts)
	if err != nil {
		return withCode(checkCantTell, err)
	}
	results, err := packer.CheckAll(c.Context, spec, args, popts...)
	if err != nil {
		if errors.Is(classify(err), errInterrupted) {
			return withCode(exitInterrupt, errInterrupted)
		}
		return withCode(checkCantTell, fmt.Errorf("could not tell: %w", withFlagHints(err)))
	}
	code, firstErr := checkRuns, error(nil)
	for i, r := range results {
		if r.Err != nil && errors.Is(classify(r.Err), errInterrupted) {
			return withCode(exitInterrupt, errInterrupted)
		}
		switch {
		case r.Err != nil:
			r.Err = fmt.Errorf("could not tell: %w", r.Err)
			code = checkCantTell
		case !r.Verdict.Runs && code == checkRuns:
			code = checkWontRun
		}
		if firstErr == nil && code != checkRuns {
			firstErr = verdictError(args[i], base, r)
		}
		if err := printCheck(c, args[i], base, r, len(results) > 1); err != nil {
			return err
		}
	}
	if code != checkRuns {
		return withCode(code, firstErr)
	}
	return nil
}

// verdictError is what check says on stderr of the first program that does
// not run.
func verdictError(prog string, base transfer.Ref, r packer.CheckResult) error {
	if r.Err != nil {
		if len(prog) > 0 && !strings.Contains(r.Err.Error(), prog) {
			return fmt.Errorf("%s: %w", prog, r.Err)
		}
		return r.Err
	}
	return fmt.Errorf("%s will not run on %s: %s", r.Verdict.Program, r.Verdict.Base, r.Verdict.Problems[0].Symptom)
}

// checkJSON is one line of check --json: a verdict, or why there is none.
type checkJSON struct {
	*packer.Verdict
	Program string `json:"program,omitempty"`
	Base    string `json:"base,omitempty"`
	Error   string `json:"error,omitempty"`
}

// printCheck prints the result for prog; an error is printed (on stderr)
// here only among several programs: alone, it is check's error.
func printCheck(c *cli.Context, prog string, base transfer.Ref, r packer.CheckResult, several bool) error {
	if c.Bool("json") {
		if r.Err != nil {
			return json.NewEncoder(c.App.Writer).Encode(checkJSON{Program: prog, Base: base.String(), Error: r.Err.Error()})
		}
		return json.NewEncoder(c.App.Writer).Encode(r.Verdict)
	}
	if r.Err != nil {
		if several {
			fmt.Fprintf(c.App.Writer, "%s on %s: COULD NOT TELL\n  %v\n", prog, base, r.Err)
		}
		return nil
	}
	printVerdict(c.App.Writer, r.Verdict)
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
