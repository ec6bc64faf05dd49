package elfdeps

import (
	"bytes"
	"fmt"
	"io"
	"path"
	"regexp"
	"sort"
	"strings"
)

// interpreterRuntime is an interpreter's run-time library: a program that
// links it (or has it linked in) runs scripts, and the interpreter reads its
// standard library from directories no ELF header names.
type interpreterRuntime struct {
	name    string   // Python
	sonames []string // prefixes of the sonames of the shared runtime
	symbol  string   // a function only a program with the runtime linked in defines
	keyword string   // in the compiled-in directories of its library
	symptom string
	message []string
}

var interpreterRuntimes = []interpreterRuntime{
	{name: "Python", sonames: []string{"libpython3."}, symbol: "Py_Initialize", keyword: "python",
		symptom: `Python finds no standard library: "Could not find platform independent libraries", then "No module named 'encodings'"`,
		message: []string{"No module named 'encodings'", "Could not find platform independent libraries", "No module named"}},
	{name: "Perl", sonames: []string{"libperl.so"}, symbol: "perl_construct", keyword: "perl",
		symptom: "Perl finds none of its modules: \"Can't locate strict.pm in @INC\"",
		message: []string{"Can't locate", "in @INC"}},
	{name: "Tcl", sonames: []string{"libtcl8.", "libtcl9."}, symbol: "Tcl_CreateInterp", keyword: "tcl",
		symptom: "Tcl finds no init.tcl: \"Can't find a usable init.tcl\"",
		message: []string{"Can't find a usable init.tcl"}},
	{name: "Ruby", sonames: []string{"libruby"}, symbol: "ruby_init", keyword: "ruby",
		symptom: "Ruby finds none of its libraries: \"cannot load such file\"",
		message: []string{"cannot load such file"}},
}

// WithProgram gives RuntimeNeeds the program's file, for what only its
// full dynamic symbol table and strings tell: an interpreter linked in
// (Debian's python3.11 and perl have libpython and libperl built in).
func WithProgram(r io.ReaderAt) NeedsOption {
	return func(o *needsOptions) { o.program = r }
}

var libpythonSoname = regexp.MustCompile(`^libpython(3\.[0-9]+)`)

// stdlib: an interpreter's standard library, which a closure holding its
// runtime reads from directories only running it shows. It is reported,
// not added: which modules a program imports depends on its scripts.
func (a *needsAnalysis) stdlib() *Need {
	if a.rep.PyInstaller != nil {
		return nil // the archive holds its standard library
	}
	type found struct {
		rt   *interpreterRuntime
		who  string
		dirs []string
	}
	var hits []found
	if a.c != nil {
		for _, l := range a.c.Libraries {
			for i := range interpreterRuntimes {
				rt := &interpreterRuntimes[i]
				if !hasAnyPrefix(l.Soname, rt.sonames) {
					continue
				}
				dirs, err := a.runtimeDirs(rt, &libFile{name: l.Soname, path: l.RealPath}, l.Soname, path.Dir(l.RealPath))
				if err != nil {
					a.warnings = append(a.warnings, fmt.Sprintf("reading %s: %v", l.RealPath, err))
				}
				hits = append(hits, found{rt, "links " + l.Soname, dirs})
			}
		}
	}
	if len(hits) == 0 && (a.opts.program != nil || a.opts.programOpen) {
		o, err := a.rep.obj, error(nil)
		if !a.opts.programOpen {
			o, err = readObjectParts(a.opts.program, false)
		}
		if err == nil {
			for i := range interpreterRuntimes {
				rt := &interpreterRuntimes[i]
				if def, _ := o.defines(rt.symbol); def[rt.symbol] {
					dirs, _ := a.objectDirs(rt, o, "", "")
					hits = append(hits, found{rt, fmt.Sprintf("has %s built in (it defines %s)", rt.name, rt.symbol), dirs})
				}
			}
		}
	}
	if len(hits) == 0 {
		return nil
	}
	n := &Need{Kind: NeedStdlib}
	var whys, symptoms []string
	for _, h := range hits {
		whys = append(whys, h.who)
		symptoms = append(symptoms, h.rt.symptom)
		n.Messages = append(n.Messages, h.rt.message...)
		for _, d := range h.dirs {
			if !contains(n.Files, d) {
				n.Files = append(n.Files, d)
			}
		}
	}
	n.Why = strings.Join(whys, "; ")
	n.Symptom = strings.Join(symptoms, "; ") + "; which of its files a program uses is known only by running it"
	return n
}

// runtimeDirs returns the standard library directories, in the root, of an
// interpreter runtime of the closure.
func (a *needsAnalysis) runtimeDirs(rt *interpreterRuntime, l *libFile, soname, libDir string) ([]string, error) {
	var dirs []string
	err := a.withObject(l, func(o *object) error {
		var err error
		dirs, err = a.objectDirs(rt, o, soname, libDir)
		return err
	})
	return dirs, err
}

// objectDirs finds the standard library directories of rt that the root
// has: Python's lib/pythonX.Y beside the library, under /usr and
// /usr/local; for the others, the directories compiled into its strings.
func (a *needsAnalysis) objectDirs(rt *interpreterRuntime, o *object, soname, libDir string) ([]string, error) {
	var cands []string
	if rt.name == "Python" {
		ver := ""
		if m := libpythonSoname.FindStringSubmatch(soname); m != nil {
			ver = m[1]
		}
		if ver == "" {
			rodataChunks(o.f, func(b []byte) {
				if m := pythonDynload.FindSubmatch(b); m != nil && ver == "" {
					ver = "3." + string(m[1])
				}
			})
		}
		if ver == "" {
			return nil, nil
		}
		if libDir != "" {
			cands = append(cands, path.Join(libDir, "python"+ver), path.Join(path.Dir(libDir), "python"+ver))
		} else if path.IsAbs(a.rep.Path) {
			// The program's prefix: /usr/local/bin/python3.12 reads /usr/local/lib/python3.12.
			cands = append(cands, path.Join(path.Dir(path.Dir(a.rep.Path)), "lib", "python"+ver))
		}
		cands = append(cands, "/usr/lib/python"+ver)
	} else {
		rodataChunks(o.f, func(b []byte) {
			for _, s := range bytes.Split(b, []byte{0}) {
				if p := string(s); plausibleLibDir(p, rt.keyword) {
					cands = append(cands, p)
				}
			}
		})
	}
	var out []string
	for _, d := range cands {
		if fi, err := a.root.Stat(d); err == nil && fi.IsDir() && !contains(out, d) {
			out = append(out, d)
		}
	}
	sort.Strings(out)
	return out, nil
}

// plausibleLibDir reports whether s is an absolute directory of an
// interpreter's library, as compiled into it (/usr/share/perl/5.36).
func plausibleLibDir(s, keyword string) bool {
	if !strings.HasPrefix(s, "/usr/") && !strings.HasPrefix(s, "/etc/") || len(s) > maxHintName || strings.ContainsAny(s, " %*:\t\n") {
		return false
	}
	if strings.HasPrefix(s, "/usr/lib/debug/") || strings.HasPrefix(s, "/usr/include") || strings.HasPrefix(s, "/usr/share/man") || strings.HasPrefix(s, "/usr/share/doc") {
		return false
	}
	return strings.Contains(path.Base(s), keyword) || strings.Contains(s, "/"+keyword)
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
