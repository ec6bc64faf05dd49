package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/scratchpack/scratchpack/packer"
)

// Exit codes, the same for every command (see README.md).
const (
	exitOK        = 0
	exitFailure   = 1 // anything not classified below
	exitBadInput  = 2 // bad flags, a file that is not a program, a broken ELF file
	exitWontRun   = 3 // the program cannot run where it is meant to (missing loader, library, glibc)
	exitRegistry  = 4 // registry, network or I/O failures
	exitInterrupt = 130
)

// exitError carries an exit code with an error.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code, err}
}

func newApp(stdout, stderr io.Writer) *cli.App {
	return &cli.App{
		Name:  "scratchpack",
		Usage: "package a compiled Linux program into the smallest OCI image that runs it, without Docker",
		Description: "scratchpack reads a program's ELF headers, finds its loader and exactly the shared\n" +
			"libraries the loader will map, and explains why it would fail to start before it ships.\n\n" +
			"Exit status, the same for every command: 0 done; 2 bad input (flags, configuration,\n" +
			"a file that is not a program); 3 a program would not run where it is going (missing\n" +
			"loader or library, glibc too old, wrong architecture, a base without its platform);\n" +
			"4 registry, Docker daemon, network or I/O failure; 130 interrupted.",
		Writer:    stdout,
		ErrWriter: stderr,
		// Errors are printed and turned into exit codes by main, after every
		// deferred cleanup has run.
		ExitErrHandler:       func(*cli.Context, error) {},
		HideHelpCommand:      true,
		EnableBashCompletion: true,
		Version:              packer.Version,
		Commands: []*cli.Command{
			inspectCommand(),
			packCommand(),
			buildCommand(),
			pullCommand(),
			lsCommand(),
			completionCommand(),
			checkCommand(),
			runCommand(),
			initCommand(),
		},
	}
}

// exitCode prints err (if any) and returns the process exit code for it.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	var pe *programExit
	if errors.As(err, &pe) {
		return pe.code // run: the program's own status, which it has explained itself
	}
	fmt.Fprintln(stderr, "scratchpack:", err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	if errors.Is(err, errInterrupted) {
		return exitInterrupt
	}
	return exitFailure
}

var errInterrupted = errors.New("interrupted")
