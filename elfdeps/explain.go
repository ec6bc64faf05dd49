package elfdeps

import (
	"fmt"
	"strings"
)

// Problem is a reason a program will not start, in the words the user will
// see when it fails and in plain words of why.
type Problem struct {
	Code    string `json:"code"`    // exec-format, no-interpreter, missing-library, glibc-too-old, glibcxx-too-old, libc-mismatch
	Symptom string `json:"symptom"` // what running it prints
	Message string `json:"message"` // why, and what to do
}

// The problem codes.
const (
	ProblemExecFormat    = "exec-format"
	ProblemNoInterpreter = "no-interpreter"
	ProblemMissingLib    = "missing-library"
	ProblemGlibcTooOld   = "glibc-too-old"
	ProblemGlibcxxTooOld = "glibcxx-too-old"
	ProblemLibcMismatch  = "libc-mismatch"
)

// Diagnose explains why the program of rep, with closure c resolved in a root
// named where, would not start there. targetArch is the GOARCH of the
// machine that will run it ("" to skip that check). An empty result means
// nothing is known to be wrong.
func Diagnose(rep *Report, c *Closure, where, targetArch string) []Problem {
	var ps []Problem
	if targetArch != "" && rep.Arch != targetArch {
		ps = append(ps, Problem{ProblemExecFormat, "exec format error",
			fmt.Sprintf("the program is built for %s (%d-bit %s-endian), the target is %s: rebuild it for %s, or run it under qemu-user with binfmt_misc",
				rep.Arch, rep.Class, rep.Endian, targetArch, targetArch)})
	}
	if c == nil {
		return ps
	}
	for _, m := range c.Missing {
		if m.Soname == rep.Interpreter {
			ps = append(ps, Problem{ProblemNoInterpreter, "exec " + rep.Path + ": no such file or directory",
				fmt.Sprintf("its interpreter %s (the %s loader) is not in %s; the kernel reports the missing loader as if the program itself were missing. %s",
					rep.Interpreter, rep.Libc, where, interpHint(rep))})
			continue
		}
		if m.Dlopen != "" {
			ps = append(ps, Problem{ProblemMissingLib,
				fmt.Sprintf("%s: cannot open shared object file: No such file or directory", m.Soname),
				fmt.Sprintf("%s, loaded at run time (%s), is not in %s (searched %s): bundle it (scratchpack pack does) or install it there",
					m.Soname, m.Dlopen, where, strings.Join(m.Searched, ", "))})
			continue
		}
		ps = append(ps, Problem{ProblemMissingLib,
			fmt.Sprintf("error while loading shared libraries: %s: cannot open shared object file: No such file or directory", m.Soname),
			fmt.Sprintf("%s, needed by %s, is not in %s (searched %s): bundle it (scratchpack pack does) or install it there",
				m.Soname, strings.Join(m.NeededBy, ", "), where, strings.Join(m.Searched, ", "))})
	}
	if c.GlibcProvided != "" && CompareVersions(c.GlibcMin, c.GlibcProvided) > 0 {
		ps = append(ps, Problem{ProblemGlibcTooOld, fmt.Sprintf("version `GLIBC_%s' not found", c.GlibcMin),
			fmt.Sprintf("it needs glibc %s or newer, and the libc.so.6 in %s provides %s: use a newer base, or build on a system with glibc %s or older",
				c.GlibcMin, where, c.GlibcProvided, c.GlibcProvided)})
	}
	if c.GlibcxxProvided != "" && CompareVersions(c.GlibcxxMin, c.GlibcxxProvided) > 0 {
		ps = append(ps, Problem{ProblemGlibcxxTooOld, fmt.Sprintf("version `GLIBCXX_%s' not found", c.GlibcxxMin),
			fmt.Sprintf("it needs libstdc++ with GLIBCXX_%s, and the libstdc++.so.6 in %s provides GLIBCXX_%s: bundle the newer libstdc++ or use a newer base",
				c.GlibcxxMin, where, c.GlibcxxProvided)})
	}
	return ps
}

func interpHint(rep *Report) string {
	switch rep.Libc {
	case LibcGlibc:
		return "A glibc program cannot run on scratch or on a musl base such as Alpine as it is: bundle glibc with it (scratchpack pack does), or link it statically."
	case LibcMusl:
		return "A musl program needs musl's loader: bundle it (scratchpack pack does), or link it statically with musl-gcc -static."
	}
	return "Bundle the loader with it, or link it statically."
}
