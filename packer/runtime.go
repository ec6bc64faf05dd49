package packer

import (
	"fmt"
	"os"
	"path"
	"strings"

	"github.com/scratchpack/scratchpack/elfdeps"
)

// RuntimeSpec says what goes into the image beyond the loader's closure:
// the run-time needs elfdeps.RuntimeNeeds finds, and what the user names.
type RuntimeSpec struct {
	NoExtras    bool     // leave out everything the analysis found (--no-runtime-extras)
	IncludeLibs []string // libraries to add with their closure, by soname or path in the root (--include-lib)
	Include     []string // files or directories of the root to add at the same path (--include)
	CACerts     Switch   // the CA certificate bundle (--ca-certs, --no-ca-certs)
	CABundle    string   // a host PEM file to bundle instead of the root's (--ca-bundle)
	TZData      Switch   // the zone database (--tzdata, --no-tzdata)
	// Traced is what one traced run of the program used (runner.Trace):
	// it goes in too. Nil: the program was not traced.
	Traced *Trace
	// Programs are more programs of the root to add at the same path, each
	// with its loader and libraries (a script's interpreter with it): what
	// the program runs that its ELF file does not say.
	Programs []string
	// ImageRoot says that Root is an image of its own being made smaller
	// (slim): the files of the run-time needs come from Root alone, never
	// from this machine; its own /etc/nsswitch.conf and /etc/hosts are
	// copied rather than written; and no user database is written, since
	// the image's own users go in (as Add files).
	ImageRoot bool
}

// Switch is a setting that the analysis decides unless it is forced.
type Switch int

// The values of a Switch.
const (
	Auto Switch = iota // as the analysis says
	On                 // always
	Off                // never
)

// NeedStatus is one run-time need and whether it went into the image.
type NeedStatus struct {
	elfdeps.Need
	Added  bool     `json:"added"`
	Reason string   `json:"reason,omitempty"`    // why it was not added
	Cause  NotAdded `json:"not_added,omitempty"` // the same, for callers to branch on
}

// NotAdded is why a run-time need was left out of an image.
type NotAdded string

// The causes of NeedStatus.
const (
	SwitchedOff  NotAdded = "off"            // RuntimeSpec turned this kind off
	NoExtras     NotAdded = "no-extras"      // RuntimeSpec.NoExtras
	NotByDefault NotAdded = "not-by-default" // only if asked for (RuntimeSpec.TZData On, say)
	ReportedOnly NotAdded = "reported-only"  // nothing to add: dlopen calls
	Unknowable   NotAdded = "unknowable"     // what goes in is known only by running it (stdlib)
)

// runtimePlan is what the run-time needs add to an image.
type runtimePlan struct {
	needs   []NeedStatus
	closure *elfdeps.Closure // the host closure with the dlopen'd libraries
	verify  []elfdeps.Option // WithDlopen of the libraries found, to check them in the image
	include []included       // files of the root to add at the same path (--trace, Programs)
	// includeDirs are directories of this machine to make at the same path,
	// empty but for what else goes in (--trace: directories the run listed).
	includeDirs []string
	notes       []string
}

// planRuntime works out the run-time needs of the program and resolves the
// libraries they (and --include-lib) add, with their closures, on the host.
func planRuntime(spec Spec, a *elfdeps.Analysis, c *elfdeps.Closure, extraLibs []dlopenRequest) (*runtimePlan, error) {
	p := &runtimePlan{closure: c}
	needs := a.Needs
	p.notes = append(p.notes, a.Warnings...)
	rs := spec.Runtime
	needs = forcedNeeds(needs, rs)
	var reqs []dlopenRequest
	for _, n := range needs {
		st := NeedStatus{Need: n}
		sw := switchFor(n.Kind, rs)
		switch {
		case n.Kind == elfdeps.NeedDlopen:
			st.Reason, st.Cause = "reported only", ReportedOnly
		case n.Kind == elfdeps.NeedStdlib && includes(rs.Include, n.Files):
			st.Added = true // by the Include of its directories
		case n.Kind == elfdeps.NeedStdlib && rs.Traced != nil:
			st.Reason, st.Cause = StdlibTraced, Unknowable
		case n.Kind == elfdeps.NeedStdlib:
			st.Reason, st.Cause = StdlibUnknowable, Unknowable
		case sw == Off:
			st.Reason, st.Cause = "turned off", SwitchedOff
		case sw == On:
			st.Added = true
		case rs.NoExtras:
			st.Reason, st.Cause = "run-time extras turned off", NoExtras
		case !n.Default:
			st.Reason, st.Cause = "not by default", NotByDefault
		default:
			st.Added = true
		}
		if st.Added {
			for _, l := range n.Libraries {
				reqs = append(reqs, dlopenRequest{name: l, why: string(n.Kind) + ": " + shortWhy(n.Why)})
			}
		}
		p.needs = append(p.needs, st)
	}
	for _, l := range rs.IncludeLibs {
		reqs = append(reqs, dlopenRequest{name: l, why: "asked for: library " + l, required: true})
	}
	reqs = append(reqs, extraLibs...)
	if len(reqs) == 0 {
		return p, nil
	}
	var opts []elfdeps.Option
	for _, r := range reqs {
		opts = append(opts, elfdeps.WithDlopen(r.why, r.name))
	}
	c, err := a.Resolve(opts...)
	if err != nil {
		return nil, err
	}
	if p.closure, err = complete(c, a.Report, spec); err != nil {
		return nil, err
	}
	for _, m := range p.closure.Missing {
		for _, r := range reqs {
			if r.name != m.Soname || r.why != m.Dlopen {
				continue
			}
			if r.required {
				return nil, fmt.Errorf("%s: %s is not in %s (searched %s)", r.why, m.Soname, spec.Root, strings.Join(m.Searched, ", "))
			}
			p.notes = append(p.notes, fmt.Sprintf("%s is not in %s, so it is not bundled (%s)", m.Soname, spec.Root, r.why))
			p.unmark(m.Soname)
		}
	}
	for _, l := range p.closure.Libraries {
		if l.Dlopen != "" {
			p.verify = append(p.verify, elfdeps.WithDlopen(l.Dlopen, l.Soname))
		}
	}
	return p, nil
}

// The reasons a stdlib need (an interpreter's standard library) is not
// added: which of its files a program uses is known only by running it.
const (
	StdlibUnknowable = "what a run uses cannot be known without running it"
	StdlibTraced     = "only the files the traced run used"
)

// includes reports whether every one of dirs is, or is under, one of paths.
func includes(paths, dirs []string) bool {
	if len(dirs) == 0 {
		return false
	}
	for _, d := range dirs {
		in := false
		for _, p := range paths {
			p = path.Clean(p)
			in = in || d == p || strings.HasPrefix(d, p+"/") || p == "/"
		}
		if !in {
			return false
		}
	}
	return true
}

// dlopenRequest is a library to resolve as loaded at run time by name.
type dlopenRequest struct {
	name, why string
	required  bool // not finding it is an error, not a note
}

// unmark records that a need's library could not be found.
func (p *runtimePlan) unmark(soname string) {
	for i := range p.needs {
		for _, l := range p.needs[i].Libraries {
			if l == soname && p.needs[i].Added {
				p.needs[i].Added, p.needs[i].Reason = false, soname+" not found"
			}
		}
	}
}

// forcedNeeds adds the needs a flag forces that the analysis did not find.
func forcedNeeds(needs []elfdeps.Need, rs RuntimeSpec) []elfdeps.Need {
	has := map[elfdeps.NeedKind]bool{}
	for _, n := range needs {
		has[n.Kind] = true
	}
	switch {
	case has[elfdeps.NeedCACerts]:
	case rs.CABundle != "" && rs.CACerts != Off:
		needs = append(needs, elfdeps.Need{Kind: elfdeps.NeedCACerts, Why: "asked for: CA bundle " + rs.CABundle, Files: []string{elfdeps.CABundlePath}})
	case rs.CACerts == On:
		needs = append(needs, elfdeps.Need{Kind: elfdeps.NeedCACerts, Why: "asked for: CA certificates", Files: []string{elfdeps.CABundlePath}})
	}
	if rs.TZData == On && !has[elfdeps.NeedTZData] {
		needs = append(needs, elfdeps.Need{Kind: elfdeps.NeedTZData, Why: "asked for: the zone database", Files: []string{elfdeps.ZoneinfoDir}})
	}
	return needs
}

func switchFor(k elfdeps.NeedKind, rs RuntimeSpec) Switch {
	switch k {
	case elfdeps.NeedCACerts:
		if rs.CABundle != "" && rs.CACerts == Auto {
			return On
		}
		return rs.CACerts
	case elfdeps.NeedTZData:
		return rs.TZData
	}
	return Auto
}

// shortWhy cuts a need's reason for the one-line pack report.
func shortWhy(s string) string {
	const max = 72
	if len(s) <= max {
		return s
	}
	cut := strings.LastIndex(s[:max], "; ")
	if cut < 0 {
		cut = strings.LastIndex(s[:max], ", ")
	}
	if cut < 0 {
		cut = max
	}
	return s[:cut] + ", …"
}

// needWhy is the Entry.Why of a file a need adds.
func needWhy(n elfdeps.Need) string {
	return "run-time " + string(n.Kind) + ": " + shortWhy(n.Why)
}

// dataSource finds data files in the root, or, when the root is not the
// host and lacks them, on the host: CA certificates, zones and /etc/services
// do not depend on the architecture. An image's root (ImageRoot) has only
// its own.
type dataSource struct {
	root      string
	imageRoot bool
}

// find returns the host path of the file or directory behind p (a path in
// the root, links followed inside it), and where it was found.
func (d dataSource) find(p string, fallback bool) (string, string, bool) {
	if real, _, err := elfdeps.DirRoot(d.root).Resolve(p); err == nil {
		return hostPath(d.root, real), d.root, true
	}
	if fallback && d.root != "/" && !d.imageRoot {
		if real, _, err := elfdeps.DirRoot("/").Resolve(p); err == nil {
			return real, "this machine", true
		}
	}
	return "", "", false
}

// has reports whether the root itself has a regular file at p.
func (d dataSource) has(p string) bool {
	real, _, err := elfdeps.DirRoot(d.root).Resolve(p)
	if err != nil {
		return false
	}
	fi, err := os.Stat(hostPath(d.root, real))
	return err == nil && fi.Mode().IsRegular()
}
