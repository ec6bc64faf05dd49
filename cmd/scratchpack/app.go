package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"
)

// Exit codes of every command but check and run, which have their own (see README.md).
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
	app := &cli.App{
		Name:  "scratchpack",
		Usage: "package a compiled Linux program into the smallest OCI image that runs it, without Docker",
		Description: "scratchpack reads a program's ELF headers, finds its loader and exactly the shared\n" +
			"libraries the loader will map, and explains why it would fail to start before it ships.\n\n" +
			"Flags may come before or after a command's arguments; what follows -- is never read\n" +
			"as a flag (for pack and run, it is the program's command line).\n\n" +
			"Exit status: 0 done; 2 bad input (flags, configuration, a file that is not a\n" +
			"program); 3 a program would not run where it is going (missing loader or library,\n" +
			"glibc too old, wrong architecture, a base without its platform); 4 registry, Docker\n" +
			"daemon, network or I/O failure; 130 interrupted. check and run have their own\n" +
			"(see their --help): check answers a question, run passes the program's status on.",
		Writer:    stdout,
		ErrWriter: stderr,
		// Errors are printed and turned into exit codes by main, after every
		// deferred cleanup has run.
		ExitErrHandler:  func(*cli.Context, error) {},
		HideHelpCommand: true, // helpCommand replaces urfave/cli's, which exits 3 for an unknown topic
		// -e K=a,b and -l desc=x,y mean one value each, as in docker and podman.
		DisableSliceFlagSeparator: true,
		EnableBashCompletion:      true,
		Version:                   moduleVersion(),
		OnUsageError:              usageError,
		Action:                    unknownCommand,
		// urfave/cli adds --help only where no command is called help.
		Flags: []cli.Flag{cli.HelpFlag},
		Commands: []*cli.Command{
			inspectCommand(),
			packCommand(),
			buildCommand(),
			slimCommand(),
			pullCommand(),
			lsCommand(),
			checkCommand(),
			runCommand(),
			completionCommand(),
			helpCommand(),
			versionCommand(),
			initCommand(),
		},
	}
	for _, cmd := range app.Commands {
		cmd.OnUsageError = usageError
		cmd.HideHelpCommand = true // `pack help` is not a help topic: help is a command of its own
		cmd.UsageText = strings.TrimSpace(app.Name + " " + cmd.Name + " [flags] " + cmd.ArgsUsage)
		for _, f := range cmd.Flags {
			// "(default: false)" after every switch says nothing.
			if b, ok := f.(*cli.BoolFlag); ok && !b.Value {
				b.DisableDefaultText = true
			}
		}
	}
	return app
}

// runApp runs app with the command line args (os.Args), whose flags may
// follow the command's arguments.
func runApp(ctx context.Context, app *cli.App, args []string) error {
	return app.RunContext(ctx, permute(app, args))
}

// usageError is every command's answer to flags it cannot parse: one line on
// stderr that points to --help, and exit status 2 (run: 125, as docker run
// and podman run, since 2 may be the program's own), not the whole help on stdout.
func usageError(c *cli.Context, err error, isSubcommand bool) error {
	name, code, hint := c.App.Name, exitBadInput, ""
	if isSubcommand && c.Command != nil {
		name += " " + c.Command.Name
		switch c.Command.Name {
		case "run":
			code = exitRunFailed
			hint = " (the program's own arguments go after --)"
		case "pack":
			hint = " (the image's command goes after --)"
		}
	}
	if !strings.HasPrefix(err.Error(), "flag provided but not defined") {
		hint = ""
	}
	return withCode(code, fmt.Errorf("%w%s\nRun '%s --help' for usage.", err, hint, name))
}

// unknownCommand runs for `scratchpack` alone (the help) and for a first
// argument that names no command.
func unknownCommand(c *cli.Context) error {
	if c.NArg() == 0 {
		return cli.ShowAppHelp(c)
	}
	return withCode(exitBadInput, fmt.Errorf("%q is not a scratchpack command (commands: %s)\nRun 'scratchpack --help' for usage.",
		c.Args().First(), strings.Join(commandNames(c.App), ", ")))
}

// commandNames lists the commands a user may type.
func commandNames(app *cli.App) []string {
	var names []string
	for _, cmd := range app.VisibleCommands() {
		names = append(names, cmd.Name)
	}
	return names
}

// helpCommand is `scratchpack help [COMMAND]`, the same as --help.
func helpCommand() *cli.Command {
	return &cli.Command{
		Name:      "help",
		Usage:     "show the commands, or one command's help (the same as COMMAND --help)",
		ArgsUsage: "[COMMAND]",
		Action: func(c *cli.Context) error {
			switch args := operands(c); {
			case len(args) == 0:
				return cli.ShowAppHelp(c)
			case len(args) > 1:
				return withCode(exitBadInput, errors.New("help takes one COMMAND"))
			case c.App.Command(args[0]) == nil || c.App.Command(args[0]).Hidden:
				return unknownCommand(c)
			default:
				return cli.ShowCommandHelp(c, args[0])
			}
		},
	}
}

// versionCommand is `scratchpack version`, the same as --version.
func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the version (the same as --version)",
		Action: func(c *cli.Context) error {
			if len(operands(c)) > 0 {
				return withCode(exitBadInput, errors.New("version takes no arguments"))
			}
			cli.ShowVersion(c)
			return nil
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

// outputErr is err, a failed write of a command's output, unless the
// reader of stdout stopped reading (scratchpack ls | head): that is a
// normal end of the output, not a failure.
func outputErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == "/dev/stdout" && errors.Is(err, syscall.EPIPE) {
		return nil
	}
	return err
}
