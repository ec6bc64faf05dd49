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

// PyInstallerContents reads the libraries of a PyInstaller program: inflated
// from its archive (--onefile), or from the _internal directory beside it
// (--onedir, PyInstaller 6), whose host path it also returns. It fills
// pi.Libraries.
func PyInstallerContents(program string, pi *elfdeps.PyInstaller) ([]*elfdeps.Report, string, error) {
	if pi.Mode == "onefile" {
		f, err := os.Open(program)
		if err != nil {
			return nil, "", err
		}
		defer f.Close()
		reps, err := pi.EmbeddedLibraries(f)
		if err != nil {
			return nil, "", fmt.Errorf("%s: reading its PyInstaller archive: %w", program, err)
		}
		return reps, "", nil
	}
	dir := filepath.Join(filepath.Dir(program), "_internal")
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, "", fmt.Errorf("%s is a PyInstaller --onedir program, but %s is not there: "+
			"keep the program in its dist/ folder (or add its files with --add)", program, dir)
	}
	reps, err := pi.OnedirLibraries(os.DirFS(dir))
	if err != nil {
		return nil, "", fmt.Errorf("%s: reading %s: %w", program, dir, err)
	}
	return reps, dir, nil
}

// pyinstallerPlan is what a PyInstaller program adds to its image: the
// system libraries its embedded ones need, and a onedir program's contents.
type pyinstallerPlan struct {
	info     *elfdeps.PyInstaller
	embedded []*elfdeps.Report
	libs     []dlopenRequest
	contents string // host _internal directory of a onedir program
}

func planPyInstaller(spec Spec, rep *elfdeps.Report) (*pyinstallerPlan, error) {
	if rep.PyInstaller == nil {
		return &pyinstallerPlan{}, nil
	}
	p := &pyinstallerPlan{info: rep.PyInstaller}
	var err error
	if p.embedded, p.contents, err = PyInstallerContents(spec.Program, rep.PyInstaller); err != nil {
		return nil, err
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
	pl := &placer{set: set, base: base, union: elfdeps.NewRoot(overlayFS{base: base, set: set}, "the image"), src: dataSource{spec.Root}}
	return pl.tree(p.contents, path.Join(path.Dir(spec.Dest), "_internal"), "PyInstaller --onedir contents", nil)
}
