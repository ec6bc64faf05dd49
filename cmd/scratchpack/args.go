package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// permute lets a command's flags follow its arguments, as crane, ko and
// skopeo accept them (`pack ./app -o oci:out`): Go's flag package, under
// urfave/cli, stops at the first argument. It moves every flag of the
// command named in args[1] (with its value, when the flag takes one) in
// front of the positional arguments, and puts a "--" between them, so the
// command always sees its arguments as
//
//	POSITIONAL... [-- AFTER...]
//
// where AFTER is what the user wrote after the first "--", untouched: the
// program's own arguments for pack and run. Arguments of commands that parse
// no flags, and of unknown commands, are left as they are.
func permute(app *cli.App, args []string) []string {
	if len(args) < 2 || args[len(args)-1] == "--generate-bash-completion" {
		return args // urfave/cli looks for the completion request in the last place
	}
	cmd := app.Command(args[1])
	if cmd == nil || cmd.SkipFlagParsing {
		return args
	}
	var flags, positional, after []string
	dash := false
	rest := args[2:]
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		switch {
		case a == "--":
			dash, after = true, rest[i+1:]
			i = len(rest)
		case a == "-h" || a == "--help" || a == "-help":
			return []string{args[0], args[1], "--help"} // whatever else is there
		case len(a) > 1 && a[0] == '-':
			flags = append(flags, a)
			if !strings.Contains(a, "=") && takesValue(cmd, strings.TrimLeft(a, "-")) && i+1 < len(rest) {
				i++
				flags = append(flags, rest[i])
			}
		default:
			positional = append(positional, a)
		}
	}
	out := append(append([]string{}, args[:2]...), flags...)
	out = append(append(out, "--"), positional...)
	if dash {
		out = append(append(out, "--"), after...)
	}
	return out
}

// takesValue reports whether cmd has a flag called name that needs a value
// (every flag but a boolean one).
func takesValue(cmd *cli.Command, name string) bool {
	for _, f := range cmd.Flags {
		for _, n := range f.Names() {
			if n != name {
				continue
			}
			v, ok := f.(cli.DocGenerationFlag)
			return ok && v.TakesValue()
		}
	}
	return false
}

// splitArgs returns a command's positional arguments and those after "--"
// (see permute), and whether there was a "--".
func splitArgs(c *cli.Context) (positional, after []string, dash bool) {
	args := c.Args().Slice()
	for i, a := range args {
		if a == "--" {
			return args[:i], args[i+1:], true
		}
	}
	return args, nil, false
}

// operands returns a command's arguments when "--" has no meaning of its
// own for it: the positional ones and those after "--" alike (`inspect --
// -odd-name`).
func operands(c *cli.Context) []string {
	pos, after, _ := splitArgs(c)
	return append(pos, after...)
}
