package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/scratchpack/scratchpack/elfdeps"
)

// printAnalysis writes the human report of one file: a verdict line, then
// the loader and the tree of libraries, then problems and warnings.
func printAnalysis(w io.Writer, a *analysis) {
	fmt.Fprintf(w, "%s: %s\n", a.Path, verdict(a))
	if a.Root != "/" && a.Root != "" {
		fmt.Fprintf(w, "  sysroot  %s\n", a.Root)
	}
	if a.Go != nil {
		cgo := "cgo off: needs no C library"
		if a.Go.CGO {
			cgo = "cgo on: needs its C library closure"
		}
		fmt.Fprintf(w, "  Go %s, module %s, %s\n", strings.TrimPrefix(a.Go.Version, "go"), orDash(a.Go.Module), cgo)
	}
	if a.Loader != nil {
		fmt.Fprintf(w, "  loader   %s%s\n", a.Loader.Path, realSuffix(*a.Loader))
	}
	printTree(w, a, a.Path, "  ", map[string]bool{})
	for _, m := range a.Missing {
		fmt.Fprintf(w, "  MISSING  %s (needed by %s)\n", m.Soname, strings.Join(m.NeededBy, ", "))
	}
	if pi := a.PyInstaller; pi != nil {
		where := "inside its archive"
		if pi.Mode == "onedir" {
			where = "in _internal/ beside it"
		}
		fmt.Fprintf(w, "  PyInstaller %s program: Python %s (%s), %d archive entries, %d libraries %s\n",
			pi.Mode, orDash(pi.PythonVersion), pi.PythonLibrary, len(pi.Entries), len(pi.Libraries), where)
		for _, l := range pi.Libraries {
			needs := "needs nothing"
			if len(l.Needed) > 0 {
				needs = "needs " + strings.Join(l.Needed, ", ")
			}
			fmt.Fprintf(w, "    %-40s %9s  %s\n", l.Name, sizeOf(l.Size), needs)
		}
		if len(a.PySystem)+len(a.PyMissing) > 0 {
			fmt.Fprintf(w, "  system libraries it needs (PyInstaller leaves them out):\n")
			for _, l := range a.PySystem {
				fmt.Fprintf(w, "    %-24s %s%s\n", l.Soname, l.Path, realSuffix(l))
			}
			for _, m := range a.PyMissing {
				fmt.Fprintf(w, "    %-24s MISSING (searched %s)\n", m.Soname, strings.Join(m.Searched, ", "))
			}
		}
	}
	if len(a.Needs) > 0 {
		fmt.Fprintf(w, "  at run time:\n")
		printNeedList(w, a.Needs)
	}
	for _, p := range a.Problems {
		fmt.Fprintf(w, "  ✗ %s\n    %s\n", p.Symptom, p.Message)
	}
	printHints(w, a.DlopenHints, "  ")
	for _, warn := range a.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", warn)
	}
}

// printHints lists what the program probably loads at run time.
func printHints(w io.Writer, hints []elfdeps.DlopenHint, indent string) {
	if len(hints) == 0 {
		return
	}
	names := make([]string, len(hints))
	for i, h := range hints {
		names[i] = h.Name
	}
	fmt.Fprintf(w, "%sprobably loaded at run time: %s; add with --include-lib\n", indent, strings.Join(names, ", "))
	for _, h := range hints {
		where := ""
		if h.Path != "" {
			where = " [" + h.Path + "]"
		}
		fmt.Fprintf(w, "%s  %s%s\n%s    %s\n", indent, h.Name, where, indent, h.Reason)
	}
}

// printTree prints the libraries first loaded because of parent, indented.
func printTree(w io.Writer, a *analysis, parent, indent string, seen map[string]bool) {
	for _, l := range a.Libraries {
		if len(l.NeededBy) == 0 || l.NeededBy[0] != parent || seen[l.Path] {
			continue
		}
		seen[l.Path] = true
		fmt.Fprintf(w, "%s%-*s %s%s  %s\n", indent, 24-len(indent)+2, l.Soname, l.Path, realSuffix(l), sizeOf(l.Size))
		printTree(w, a, l.Path, indent+"  ", seen)
	}
}

func realSuffix(l elfdeps.Library) string {
	if l.RealPath == l.Path {
		return ""
	}
	return " → " + l.RealPath
}

// verdict is the one-line summary: "dynamic amd64 program, glibc ≥ 2.34, 6 libraries, 4.1 MB to bundle".
func verdict(a *analysis) string {
	what := fmt.Sprintf("%s %s", a.Kind, a.Arch)
	if a.Variant != "" {
		what += "/" + a.Variant
	}
	parts := []string{what}
	switch {
	case a.Libc == elfdeps.LibcGlibc && a.ClosureGlibcMin != "":
		parts = append(parts, "glibc ≥ "+a.ClosureGlibcMin)
	case a.Libc == elfdeps.LibcNone:
		parts = append(parts, "no C library")
	case a.Libc != elfdeps.LibcUnknown && (a.Kind == elfdeps.KindStatic || a.Kind == elfdeps.KindStaticPIE):
		parts = append(parts, string(a.Libc)+" linked in")
	case a.Libc != elfdeps.LibcUnknown:
		parts = append(parts, string(a.Libc))
	}
	switch a.Kind {
	case elfdeps.KindStatic, elfdeps.KindStaticPIE:
		parts = append(parts, "no libraries: runs on scratch as it is")
	default:
		n := len(a.Libraries)
		parts = append(parts, fmt.Sprintf("%d %s", n, plural(n, "library", "libraries")))
		if a.Loader != nil || n > 0 {
			parts = append(parts, sizeOf(a.BundleSize)+" to bundle")
		}
	}
	if len(a.Problems) > 0 {
		parts = append(parts, fmt.Sprintf("WILL NOT START (%d %s)", len(a.Problems), plural(len(a.Problems), "problem", "problems")))
	}
	return strings.Join(parts, ", ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// size formats a byte count the way du -h users read it.
func sizeOf(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f kB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
