package elfdeps

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scratchpack/scratchpack/internal/elftest"
)

// TestResolveHostileRPathAndCycles resolves crafted programs in a directory
// root next to a canary directory that holds every library they ask for: an
// RPATH that climbs out of the root with .., or names the canary absolutely,
// is read inside the root, as ld.so in a chroot would, so the canary's
// libraries are never found; libraries that need each other resolve once
// each, without looping.
func TestResolveHostileRPathAndCycles(t *testing.T) {
	amd64 := elftest.Archs["amd64"]
	top := t.TempDir()
	root, canary := filepath.Join(top, "root"), filepath.Join(top, "canary")
	write := func(dir, rel string, f elftest.File) {
		t.Helper()
		if _, err := elftest.Write(dir, rel, f); err != nil {
			t.Fatal(err)
		}
	}
	write(root, "lib64/ld-linux-x86-64.so.2", elftest.Library(amd64, "ld-linux-x86-64.so.2"))
	for _, d := range []string{root, canary} {
		write(d, "lib/libesc.so", elftest.Library(amd64, "libesc.so"))
	}
	write(canary, "libcanary.so", elftest.Library(amd64, "libcanary.so"))
	write(root, "usr/lib/libA.so", elftest.Library(amd64, "libA.so", "libB.so"))
	write(root, "usr/lib/libB.so", elftest.Library(amd64, "libB.so", "libA.so", "libB.so"))
	up := strings.Repeat("../", strings.Count(root, "/")+3)

	tests := []struct {
		name        string
		prog        elftest.File
		wantFound   []string // realpaths, sorted
		wantMissing []string
	}{
		{"absolute RPATH to a host directory", func() elftest.File {
			p := elftest.Program(amd64, "libcanary.so")
			p.RPath = []string{canary}
			return p
		}(), nil, []string{"libcanary.so"}},
		{"RPATH climbing out with ..", func() elftest.File {
			p := elftest.Program(amd64, "libcanary.so")
			p.RPath = []string{"/" + up + strings.TrimPrefix(canary, "/"), "$ORIGIN/" + up + strings.TrimPrefix(canary, "/")}
			return p
		}(), nil, []string{"libcanary.so"}},
		{"RPATH with .. that lands inside the root", func() elftest.File {
			p := elftest.Program(amd64, "libesc.so")
			p.RPath = []string{"/usr/../../../lib"}
			return p
		}(), []string{"/lib/libesc.so"}, nil},
		{"library cycle", elftest.Program(amd64, "libA.so"), []string{"/usr/lib/libA.so", "/usr/lib/libB.so"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := Inspect(bytes.NewReader(tc.prog.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			rep.Path = "/app/prog"
			done := make(chan struct{})
			var c *Closure
			go func() {
				defer close(done)
				c, err = Resolve(DirRoot(root), rep, WithLibraryPath("/usr/lib"))
			}()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Resolve hangs")
			}
			if err != nil {
				t.Fatal(err)
			}
			var found, missing []string
			for _, l := range c.Libraries {
				found = append(found, l.RealPath)
				if strings.Contains(l.RealPath, "canary") {
					t.Errorf("found %s outside the root", l.RealPath)
				}
			}
			for _, m := range c.Missing {
				missing = append(missing, m.Soname)
			}
			slices.Sort(found)
			slices.Sort(missing)
			if !slices.Equal(found, tc.wantFound) || !slices.Equal(missing, tc.wantMissing) {
				t.Errorf("found %v, missing %v; want %v, %v", found, missing, tc.wantFound, tc.wantMissing)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(canary, "libcanary.so")); err != nil {
		t.Fatal(err)
	}
}
