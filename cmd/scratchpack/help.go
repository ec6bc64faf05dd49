package main

import (
	"embed"
	"strings"

	"github.com/urfave/cli/v2"
)

// defaultFlagStringer is urfave/cli's own way of writing a flag's help line.
var defaultFlagStringer = cli.FlagStringer

func init() {
	cli.FlagStringer = flagString
}

// flagString is urfave/cli's help line for a flag without its repetition of
// a repeatable flag's names ("--env K=V [ --env K=V ]"): the usage says
// "repeatable" instead.
func flagString(f cli.Flag) string {
	s := defaultFlagStringer(f)
	names, usage, ok := strings.Cut(s, "\t")
	if !ok {
		return s
	}
	if i := strings.Index(names, " [ "); i >= 0 {
		names = names[:i]
	}
	return names + "\t" + usage
}

//go:embed help/*.txt
var helpFiles embed.FS

// helpText is a command's help text, kept in help/NAME.txt beside the code
// so that it reads as the text it is; docs/cli.md shows it as printed.
func helpText(name string) string {
	b, err := helpFiles.ReadFile("help/" + name + ".txt")
	if err != nil {
		panic("no help text " + name) // a missing file is caught by every test of the CLI
	}
	return strings.TrimSuffix(string(b), "\n")
}
