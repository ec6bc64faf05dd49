package packer

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/scratchpack/scratchpack/elfdeps"
)

// pyinstallerPlan is what a PyInstaller program adds to its image: the
// system libraries its embedded ones need, and a onedir program's contents.
type pyinstallerPlan struct {
	info     *elfdeps.PyInstaller
	embedded []*elfdeps.Report
	libs     []dlopenRequest
	contents string // host _internal directory of a onedir program
}

func planPyInstaller(spec Spec, a *elfdeps.Analysis) (*pyinstallerPlan, error) {
	rep := a.Report
	if rep.PyInstaller == nil {
		return &pyinstallerPlan{}, nil
	}
	p := &pyinstallerPlan{info: rep.PyInstaller, embedded: a.Embedded}
	if rep.PyInstaller.Mode != "onefile" {
		p.contents = filepath.Join(filepath.Dir(spec.Program), "_internal")
		if fi, err := os.Stat(p.contents); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("%w: %s: keep the program in its dist/ folder, with _internal/ beside it", elfdeps.ErrNoOnedir, spec.Program)
		}
	}
	sys := elfdeps.SystemLibraries(p.embedded)
	names := make([]string, 0, len(sys))
	for n := range sys {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p.libs = append(p.libs, dlopenRequest{name: n, why: "PyInstaller: needed by embedded " + strings.Join(sys[n], ", ")})
	}
	return p, nil
}

// placePyInstaller adds a onedir program's _internal directory beside it.
func placePyInstaller(set *FileSet, base fs.FS, p *pyinstallerPlan, spec Spec) error {
	if p.contents == "" {
		return nil
	}
	pl := &placer{set: set, base: base, union: elfdeps.NewRoot(overlayFS{base: base, set: set}, "the image"), src: dataSource{root: spec.Root, imageRoot: spec.Runtime.ImageRoot}}
	return pl.tree(p.contents, path.Join(path.Dir(spec.Dest), "_internal"), "PyInstaller --onedir contents", nil)
}
