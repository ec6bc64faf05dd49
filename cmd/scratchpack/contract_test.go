package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// runInProcess runs the CLI as main does, with args after the program name,
// and returns stdout, stderr and the exit code. Only for command lines that
// never reach an action with side effects (usage errors, help, version).
func runInProcess(t *testing.T, env map[string]string, args ...string) (string, string, int) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	var stdout, stderr bytes.Buffer
	err := runApp(context.Background(), newApp(&stdout, &stderr), append([]string{"scratchpack"}, args...))
	code := exitCode(err, &stderr)
	return stdout.String(), stderr.String(), code
}

// userCommands are the commands listed in --help.
func userCommands(t *testing.T) []*cli.Command {
	t.Helper()
	var cmds []*cli.Command
	for _, c := range newApp(nil, nil).Commands {
		if !c.Hidden {
			cmds = append(cmds, c)
		}
	}
	if len(cmds) < 8 {
		t.Fatalf("only %d commands", len(cmds))
	}
	return cmds
}

// TestUsageErrors: bad flags and bad flag values exit 2 with a short
// message on stderr that points to --help, and nothing on stdout.
func TestUsageErrors(t *testing.T) {
	type tc struct {
		name string
		env  map[string]string
		args []string
	}
	var cases []tc
	for _, c := range userCommands(t) {
		cases = append(cases, tc{c.Name + " --bogus", nil, []string{c.Name, "--bogus", "x"}})
		cases = append(cases, tc{c.Name + " x --bogus", nil, []string{c.Name, "x", "--bogus"}})
		for _, f := range c.Flags {
			switch f.(type) {
			case *cli.IntFlag, *cli.Int64Flag, *cli.DurationFlag:
				n := f.Names()[0]
				cases = append(cases, tc{c.Name + " --" + n + " x", nil, []string{c.Name, "--" + n, "not-a-number", "x"}})
			}
		}
	}
	cases = append(cases,
		tc{"SOURCE_DATE_EPOCH=abc pack", map[string]string{"SOURCE_DATE_EPOCH": "abc"}, []string{"pack", "-o", "oci:x", "prog"}},
		tc{"SOURCE_DATE_EPOCH=abc build", map[string]string{"SOURCE_DATE_EPOCH": "abc"}, []string{"build"}},
		tc{"unknown command", nil, []string{"frobnicate"}},
		tc{"help of an unknown command", nil, []string{"help", "frobnicate"}},
		tc{"global --bogus", nil, []string{"--bogus"}},
	)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stdout, stderr, code := runInProcess(t, c.env, c.args...)
			want := exitBadInput
			if c.args[0] == "run" {
				want = exitRunFailed // run's own failures, as docker run's
			}
			if code != want {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, want, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout not empty:\n%s", stdout)
			}
			if n := strings.Count(stderr, "\n"); n == 0 || n > 4 {
				t.Errorf("stderr has %d lines, want 1-4:\n%s", n, stderr)
			}
			if !strings.Contains(stderr, "--help") {
				t.Errorf("stderr does not point to --help:\n%s", stderr)
			}
		})
	}
}

// TestHelp: --help, help COMMAND and version answer on stdout with exit 0.
func TestHelp(t *testing.T) {
	cases := [][]string{{"--help"}, {"help"}, {}, {"version"}, {"--version"}}
	for _, c := range userCommands(t) {
		cases = append(cases, []string{c.Name, "--help"}, []string{c.Name, "-h"}, []string{"help", c.Name}, []string{c.Name, "x", "--help"})
	}
	for _, args := range cases {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			stdout, stderr, code := runInProcess(t, nil, args...)
			if code != 0 || stderr != "" {
				t.Errorf("exit %d, stderr:\n%s", code, stderr)
			}
			if stdout == "" {
				t.Error("nothing on stdout")
			}
		})
	}
	// help COMMAND is COMMAND --help.
	for _, c := range userCommands(t) {
		if c.Name == "help" {
			continue
		}
		a, _, _ := runInProcess(t, nil, "help", c.Name)
		b, _, _ := runInProcess(t, nil, c.Name, "--help")
		if a != b {
			t.Errorf("help %s differs from %s --help", c.Name, c.Name)
		}
	}
}

// TestFlagHelpText: every flag that takes a value names it (no "value"
// placeholders), switches show no "(default: false)", and no default is
// said twice.
func TestFlagHelpText(t *testing.T) {
	for _, c := range userCommands(t) {
		for _, f := range c.Flags {
			s := cli.FlagStringer(f)
			if strings.Contains(s, " value\t") || strings.Contains(s, " value,") || strings.Contains(s, " value ") {
				t.Errorf("%s: %q: name the value in the usage with `BACKTICKS`", c.Name, s)
			}
			if strings.Contains(s, "(default: false)") {
				t.Errorf("%s: %q: a switch needs no default", c.Name, s)
			}
			if strings.Count(s, "(default") > 1 {
				t.Errorf("%s: %q: the default is given twice", c.Name, s)
			}
			if strings.Contains(s, " [ ") {
				t.Errorf("%s: %q: repeated flags are said so in their usage, not by urfave/cli's [ ... ]", c.Name, s)
			}
		}
	}
}
