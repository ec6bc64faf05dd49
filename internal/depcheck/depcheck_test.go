package depcheck

import (
	"os/exec"
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

// TestImportsPointOneWay: elfdeps imports the standard library (and u-root's
// pkg/ldd, the loader oracle) only; packer never sees the CLI library, the
// configuration file, the SBOM writer nor runner; sbom needs no image library;
// runner (cmd → runner → packer → elfdeps) never sees the CLI.
func TestImportsPointOneWay(t *testing.T) {
	for _, tc := range []struct {
		pkg     string
		allowed func(string) bool
	}{
		{module + "/elfdeps", func(d string) bool {
			return !strings.Contains(strings.SplitN(d, "/", 2)[0], ".") || // the standard library
				d == module+"/elfdeps" || strings.HasPrefix(d, "github.com/u-root/u-root/pkg/ldd")
		}},
		{module + "/packer", func(d string) bool {
			return !strings.HasPrefix(d, "github.com/urfave/") && !strings.HasPrefix(d, module+"/cmd") &&
				!strings.HasPrefix(d, module+"/internal/") && d != module+"/sbom" && d != module+"/config" &&
				!strings.HasPrefix(d, module+"/runner")
		}},
		// sbom reads a tar stream and an fs.FS: the standard library and elfdeps' root.
		{module + "/sbom", func(d string) bool {
			return !strings.Contains(strings.SplitN(d, "/", 2)[0], ".") || d == module+"/sbom" || d == module+"/elfdeps" ||
				strings.HasPrefix(d, "github.com/u-root/u-root/pkg/ldd")
		}},
		// config turns YAML into packer specs; it never sees the CLI.
		{module + "/config", func(d string) bool {
			return !strings.HasPrefix(d, "github.com/urfave/") && !strings.HasPrefix(d, module+"/cmd") &&
				!strings.HasPrefix(d, module+"/internal/") && d != module+"/sbom"
		}},
		// runner may use packer (images, unpacking) and elfdeps, never the CLI.
		{module + "/runner", func(d string) bool {
			return !strings.HasPrefix(d, "github.com/urfave/") && !strings.HasPrefix(d, module+"/cmd") &&
				!strings.HasPrefix(d, module+"/internal/")
		}},
	} {
		t.Run(tc.pkg, func(t *testing.T) {
			for _, d := range deps(t, tc.pkg) {
				if !tc.allowed(d) {
					t.Errorf("%s imports %s", tc.pkg, d)
				}
			}
		})
	}
}
