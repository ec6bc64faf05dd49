package elfdeps

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"

	"github.com/u-root/u-root/pkg/ldd"
)

// ResolveWithLoader asks the host's own loader for the closure of the host
// program at path (u-root's pkg/ldd runs the interpreter with --list). It
// executes the loader on the file, so it is never the default; it is the
// oracle that the pure resolver is tested against, and it works only for
// programs of the host's architecture whose loader the host has. Sonames
// are not known this way: each library is named by its file name.
func ResolveWithLoader(path string, rep *Report) (*Closure, error) {
	c := &Closure{Libraries: []Library{}, Missing: []Missing{}, Warnings: []string{}}
	if rep.Interpreter == "" && len(rep.Needed) == 0 {
		return c, nil
	}
	files, err := ldd.List(path)
	if err != nil {
		return nil, fmt.Errorf("running the loader: %w", err)
	}
	sort.Strings(files)
	for _, f := range files {
		if !filepath.IsAbs(f) {
			// ld.so --list prints "libfoo.so => not found"; pkg/ldd keeps "not".
			c.Warnings = append(c.Warnings, "the loader could not find every library (ld.so --list says \"not found\")")
			continue
		}
		real, err := filepath.EvalSymlinks(f)
		if err != nil {
			return nil, err
		}
		fi, err := os.Stat(real)
		if err != nil {
			return nil, err
		}
		lib := Library{Soname: filepath.Base(f), Path: f, RealPath: real, Size: fi.Size(), Via: "ldso", NeededBy: []string{}}
		if f == rep.Interpreter {
			lib.Soname, lib.Via = f, "interpreter"
			c.Interpreter = &lib
			continue
		}
		c.Libraries = append(c.Libraries, lib)
	}
	attributeNeeds(rep, c)
	return c, nil
}

// attributeNeeds fills in NeededBy, which the loader's flat list does not
// give, from the DT_NEEDED entries of the program and of each library: a
// library is needed by every object that names its soname (or file name).
func attributeNeeds(rep *Report, c *Closure) {
	index := map[string]int{}
	needed := make([][]string, len(c.Libraries))
	for i, l := range c.Libraries {
		index[l.Soname], index[filepath.Base(l.RealPath)] = i, i
		if r, err := InspectFile(l.RealPath); err == nil {
			needed[i] = r.Needed
			if r.Soname != "" {
				index[r.Soname] = i
			}
		}
	}
	add := func(by string, names []string) {
		for _, n := range names {
			if i, ok := index[n]; ok && !slices.Contains(c.Libraries[i].NeededBy, by) {
				c.Libraries[i].NeededBy = append(c.Libraries[i].NeededBy, by)
			}
		}
	}
	add(rep.Path, rep.Needed)
	for i, l := range c.Libraries {
		add(l.Path, needed[i])
	}
}
