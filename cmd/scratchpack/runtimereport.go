package main

import (
	"encoding/json"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/scratchpack/scratchpack/elfdeps"
	"github.com/scratchpack/scratchpack/packer"
)

// groupMin is how many files with the same reason are shown as one line.
const groupMin = 8

// entryLines returns the report lines of the files and links of a layer,
// with every group of more than groupMin entries added for the same reason
// (the zone database, the gconv modules) shown as one line for its directory.
func entryLines(entries []*packer.Entry) []string {
	byWhy := map[string][]*packer.Entry{}
	for _, e := range entries {
		if e.Type != packer.TypeDir {
			byWhy[e.Why] = append(byWhy[e.Why], e)
		}
	}
	var lines []string
	done := map[string]bool{}
	for _, e := range entries {
		if e.Type == packer.TypeDir || done[e.Why] {
			continue
		}
		if g := byWhy[e.Why]; len(g) > groupMin {
			done[e.Why] = true
			files, links, size := 0, 0, int64(0)
			dir := path.Dir(g[0].Path)
			for _, x := range g {
				for !strings.HasPrefix(x.Path, dir+"/") && dir != "/" {
					dir = path.Dir(dir)
				}
				if x.Type == packer.TypeFile {
					files++
					size += x.Size
				} else {
					links++
				}
			}
			what := fmt.Sprintf("%s (%d files", strings.TrimSuffix(dir, "/")+"/", files) // "/", not "//"
			if links > 0 {
				what += fmt.Sprintf(", %d links", links)
			}
			lines = append(lines, fmt.Sprintf("  %-56s %9s  %s", what+")", sizeOf(size), e.Why))
			continue
		}
		switch e.Type {
		case packer.TypeFile:
			lines = append(lines, fmt.Sprintf("  %-56s %9s  %s", e.Path, sizeOf(e.Size), e.Why))
		case packer.TypeSymlink:
			lines = append(lines, fmt.Sprintf("  %-56s → %s", e.Path, e.Target))
		}
	}
	return lines
}

// printNeeds tells what the run-time analysis found and did.
func printNeeds(w io.Writer, needs []packer.NeedStatus, notes []string) {
	for _, n := range needs {
		switch {
		case n.Added:
		case n.Kind == elfdeps.NeedDlopen:
			fmt.Fprintf(w, "  note: it calls dlopen (%s): %s\n", n.Why, n.Symptom)
		case n.Kind == elfdeps.NeedStdlib && n.Reason == packer.StdlibTraced:
			fmt.Fprintf(w, "  note: %s: %s (%s)\n", n.Kind, n.Reason, n.Why)
		case n.Kind == elfdeps.NeedStdlib:
			fmt.Fprintf(w, "  NOT ADDED: %s (%s): %s\n    without it: %s\n    add what a run uses with --trace -- ARGS, or all of it with %s\n",
				n.Kind, n.Reason, n.Why, n.Symptom, includeFlags(n.Files))
		default:
			fmt.Fprintf(w, "  not added: %s (%s%s): %s\n    without it: %s\n", n.Kind, n.Reason, notAddedFlag(n), n.Why, n.Symptom)
		}
	}
	for _, note := range notes {
		fmt.Fprintf(w, "  note: %s\n", note)
	}
}

// includeFlags is the --include of each directory, or a placeholder.
func includeFlags(dirs []string) string {
	if len(dirs) == 0 {
		return "--include DIR (its standard library directory)"
	}
	var out []string
	for _, d := range dirs {
		out = append(out, "--include "+d)
	}
	return strings.Join(out, " ")
}

// printNeedList prints run-time needs for inspect.
func printNeedList(w io.Writer, needs []elfdeps.Need) {
	for _, n := range needs {
		what := append(append([]string(nil), n.Libraries...), n.Files...)
		mark := "+"
		if !n.Default {
			mark = "?"
		}
		line := fmt.Sprintf("  %s %s", mark, n.Kind)
		if len(n.Databases) > 0 {
			line += " (" + strings.Join(n.Databases, ", ") + ")"
		}
		if len(what) > 0 {
			line += ": " + strings.Join(what, ", ")
		}
		fmt.Fprintf(w, "%s\n      because %s\n      without it: %s\n", line, n.Why, n.Symptom)
		if f := needFlags(n.Kind, !n.Default); f != "" {
			fmt.Fprintf(w, "      pack: %s\n", f)
		}
	}
}

// needFlags are pack's flags for a kind of run-time need: what adds it when
// it is not added by default (asked), or what else helps.
func needFlags(k elfdeps.NeedKind, asked bool) string {
	switch {
	case k == elfdeps.NeedDlopen:
		return "--trace -- ARGS finds what a run loads; --include-lib NAME adds a library"
	case k == elfdeps.NeedTZData && asked:
		return "--tzdata adds it"
	case k == elfdeps.NeedCACerts && asked:
		return "--ca-certs adds it"
	}
	return ""
}

// notAddedFlag is the flag behind a need left out of an image.
func notAddedFlag(n packer.NeedStatus) string {
	switch n.Cause {
	case packer.NoExtras:
		return " (--no-runtime-extras)"
	case packer.SwitchedOff:
		if n.Kind == elfdeps.NeedTZData {
			return " (--no-tzdata)"
		}
		return " (--no-ca-certs)"
	case packer.NotByDefault:
		if f := needFlags(n.Kind, true); f != "" {
			return ": " + f
		}
	}
	return ""
}

// traceReport prints what pack --trace-report's run of program used on
// stdout (as JSON with --json).
func traceReport(c *cli.Context, program string, tr *packer.Trace) error {
	if c.Bool("json") {
		return json.NewEncoder(c.App.Writer).Encode(tr)
	}
	w := c.App.Writer
	status := fmt.Sprintf("exit %d", tr.ExitCode)
	if tr.TimedOut {
		status = "stopped after --trace-timeout"
	}
	fmt.Fprintf(w, "traced %s (%s)\n", program, status)
	for _, s := range []struct {
		title string
		list  []string
	}{{"libraries", tr.Libraries}, {"files", tr.Files}, {"programs executed", tr.Programs}, {"directories (made empty, with the entries used)", tr.Directories},
		{"found only with stat, access or readlink (never opened)", tr.StatOnly}} {
		if len(s.list) > 0 {
			fmt.Fprintf(w, "%s:\n", s.title)
			for _, p := range s.list {
				fmt.Fprintf(w, "  %s\n", p)
			}
		}
	}
	if len(tr.Skipped) > 0 {
		fmt.Fprintln(w, "left out:")
		for _, p := range tr.Skipped {
			fmt.Fprintf(w, "  %s  (%s)\n", p, tr.LeftOut[p])
		}
	}
	return nil
}
