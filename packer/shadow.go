package packer

import (
	"errors"
	"fmt"
	"io/fs"
	"path"

	"github.com/scratchpack/scratchpack/elfdeps"
)

// ErrShadowsInterpreter means an --add would put a file where the program's
// interpreter (dynamic loader), or a link in front of it, is in the image.
var ErrShadowsInterpreter = errors.New("an added file would replace the program's interpreter")

// interpreterGuard returns a check for --add destinations: it refuses one
// that lands, directly or through the image's symbolic links, on the
// interpreter's path, on a link the closure placed in front of it, or on the
// file behind them. Build it after the closure is placed and before --add
// files are, so the image's links are those of the base and the closure.
// A static program has no interpreter, and everything passes.
func interpreterGuard(set *FileSet, base fs.FS, c *elfdeps.Closure) func(dest, why string) error {
	if c == nil || c.Interpreter == nil {
		return func(string, string) error { return nil }
	}
	union := elfdeps.NewRoot(overlayFS{base: base, set: set}, "the image")
	resolved := func(p string) string {
		dir, err := union.ResolveExisting(path.Dir(p))
		if err != nil {
			return p
		}
		return path.Join(dir, path.Base(p))
	}
	l := c.Interpreter
	interp := map[string]bool{}
	paths := []string{l.Path, l.RealPath}
	for _, link := range l.Links {
		paths = append(paths, link.Path)
	}
	for _, p := range paths {
		if p != "" {
			interp[p], interp[resolved(p)] = true, true
		}
	}
	return func(dest, why string) error {
		if interp[dest] || interp[resolved(dest)] {
			return fmt.Errorf("%w: %s (%s) would stand where the program's interpreter %s is; "+
				"scratchpack places the interpreter itself: drop that file, or give it another destination",
				ErrShadowsInterpreter, dest, why, l.Path)
		}
		return nil
	}
}
