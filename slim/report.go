package slim

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/scratchpack/scratchpack/packer"
)

// Report is what slimming one platform's image did.
type Report struct {
	Platform string `json:"platform"`
	From     string `json:"from"`    // the original's manifest digest
	Program  string `json:"program"` // kept, at this path
	Script   string `json:"script,omitempty"`
	Original Size   `json:"original"`
	Slim     Size   `json:"slim"`
	// Groups are the files kept, by why.
	Groups []Group `json:"groups"`
	// Traced are the paths only the trace added, if there was one.
	Traced []string      `json:"traced,omitempty"`
	Trace  *packer.Trace `json:"trace,omitempty"`
	Users  []string      `json:"users"` // the users kept in /etc/passwd
	Notes  []string      `json:"notes,omitempty"`
}

// Size is how big an image is.
type Size struct {
	Compressed int64 `json:"compressed"` // its layers, as stored and sent
	Files      int64 `json:"files"`      // the bytes of its regular files, each once
	Count      int   `json:"count"`      // its files, links and directories
}

// Group is the files kept for one reason.
type Group struct {
	Reason string   `json:"reason"`
	Files  int      `json:"files"`
	Bytes  int64    `json:"bytes"`
	Paths  []string `json:"paths"`
}

// Ratio is the slim image's compressed size as a share of the original's.
func (r *Report) Ratio() float64 {
	if r.Original.Compressed == 0 {
		return 0
	}
	return float64(r.Slim.Compressed) / float64(r.Original.Compressed)
}

// originalSize measures the image as stored and as unpacked in root.
func originalSize(img v1.Image, root string) (Size, error) {
	var s Size
	m, err := img.Manifest()
	if err != nil {
		return s, err
	}
	for _, l := range m.Layers {
		s.Compressed += l.Size
	}
	seen := map[uint64]bool{}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		s.Count++
		if !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Nlink > 1 {
			if seen[st.Ino] {
				return nil
			}
			seen[st.Ino] = true
		}
		s.Files += fi.Size()
		return nil
	})
	return s, err
}

// makeReports describes each build against its plan.
func makeReports(plans []*plan, builds []*packer.Result) ([]*Report, error) {
	var out []*Report
	for _, b := range builds {
		var pl *plan
		for _, p := range plans {
			if p.spec.Program == b.Report.Path {
				pl = p
			}
		}
		if pl == nil {
			return nil, fmt.Errorf("no plan for the build of %s", b.Report.Path)
		}
		out = append(out, report(pl, b))
	}
	return out, nil
}

func report(pl *plan, b *packer.Result) *Report {
	r := &Report{Platform: pl.platform.String(), From: pl.digest.String(), Program: pl.prog.real, Script: pl.prog.script,
		Original: pl.original, Users: pl.users.names(), Trace: b.Trace}
	for _, n := range append(append([]string{}, pl.notes...), b.Notes...) {
		r.Notes = append(r.Notes, inImage(n, pl.root))
	}
	for _, l := range b.Layers {
		if n, err := l.Layer.Size(); err == nil {
			r.Slim.Compressed += n
		}
	}
	groups := map[string]*Group{}
	for _, e := range b.Files.Entries() {
		r.Slim.Count++
		r.Slim.Files += e.Size
		if e.Why == "" {
			continue // a directory on the way to what goes in
		}
		reason := groupOf(e.Why)
		g := groups[reason]
		if g == nil {
			g = &Group{Reason: reason}
			groups[reason] = g
		}
		g.Files++
		g.Bytes += e.Size
		g.Paths = append(g.Paths, e.Path)
		if reason == tracedGroup {
			r.Traced = append(r.Traced, e.Path)
		}
	}
	for _, n := range b.Needs {
		if !n.Added && n.Reason != "" {
			r.Notes = append(r.Notes, inImage(fmt.Sprintf("run-time %s not added: %s (%s)", n.Kind, n.Reason, n.Why), pl.root))
		}
	}
	for _, g := range groups {
		r.Groups = append(r.Groups, *g)
	}
	sort.Slice(r.Groups, func(i, j int) bool { return groupOrder(r.Groups[i].Reason) < groupOrder(r.Groups[j].Reason) })
	return r
}

// inImage rewrites a note of packer's, which names the files of the
// unpacked root by their host paths, to name them as the image does.
func inImage(note, root string) string {
	note = strings.ReplaceAll(note, " is not in "+root, " is not in the image")
	return strings.ReplaceAll(note, root+"/", "/")
}

// tracedGroup is the group of what the traced run used.
const tracedGroup = "what the traced run used"

// The groups of a report, in the order it lists them.
var groups = []struct{ prefix, name string }{
	{"the program", "the program"},
	{"asked for: ", "what the entrypoint goes through (links, script, interpreter)"},
	{"loaded at run time by asked for", "what the entrypoint goes through (links, script, interpreter)"},
	{"needed by ", "libraries the loader maps"},
	{"loaded at run time by run-time ", "run-time needs"},
	{"run-time ", "run-time needs"},
	{"added from ", "the image's users"},
	{"the home of ", "directories kept (home, volumes, working directory)"},
	{"a volume", "directories kept (home, volumes, working directory)"},
	{"the working directory", "directories kept (home, volumes, working directory)"},
	{"included: ", "kept as asked"},
	{"traced", tracedGroup},
	{"loaded at run time by traced", tracedGroup},
	{"loaded at run time by ", "run-time needs"},
	{"always: ", "every image"},
}

// groupOf names the group of a file from why it went in.
func groupOf(why string) string {
	for _, g := range groups {
		if strings.HasPrefix(why, g.prefix) {
			return g.name
		}
	}
	return "other: " + why
}

func groupOrder(name string) int {
	for i, g := range groups {
		if g.name == name {
			return i
		}
	}
	return len(groups)
}
