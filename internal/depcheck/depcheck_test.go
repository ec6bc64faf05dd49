package depcheck

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// deps lists the packages pkg imports, directly or not (go list -deps).
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", pkg).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

const module = "github.com/scratchpack/scratchpack"

// house is which of the module's packages each may import, directly or not:
// the arrows point one way, down (cmd at the top, elfdeps at the bottom).
var house = map[string][]string{
	"elfdeps":    {},
	"layercache": {},
	"sbom":       {"elfdeps"},
	"transfer":   {"layercache"},
	"packer":     {"elfdeps", "layercache", "transfer"},
	"config":     {"elfdeps", "layercache", "transfer", "packer"},
	"runner":     {"elfdeps", "layercache", "transfer", "packer"},
	"release":    {"elfdeps", "layercache", "transfer", "packer", "runner", "sbom", "config"},
}

// TestImportsPointOneWay: each package imports only the module's packages
// below it, never the CLI library nor test helpers; elfdeps imports the
// standard library (and u-root's pkg/ldd, the loader oracle) only.
func TestImportsPointOneWay(t *testing.T) {
	for pkg, below := range house {
		t.Run(pkg, func(t *testing.T) {
			for _, d := range deps(t, module+"/"+pkg) {
				own, ok := strings.CutPrefix(d, module+"/")
				switch {
				case ok && own != pkg && !slices.Contains(below, own):
					t.Errorf("%s imports %s", pkg, own)
				case strings.HasPrefix(d, "github.com/urfave/"):
					t.Errorf("%s imports the CLI library %s", pkg, d)
				case pkg == "elfdeps" && strings.Contains(strings.SplitN(d, "/", 2)[0], ".") && !ok &&
					!strings.HasPrefix(d, "github.com/u-root/u-root/pkg/ldd"):
					t.Errorf("elfdeps imports %s: it uses the standard library only", d)
				}
			}
		})
	}
}
