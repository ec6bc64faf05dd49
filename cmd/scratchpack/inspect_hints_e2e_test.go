package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

// TestInspectDlopenHints: inspect names what a program loads at run time,
// in its human report and as dlopen_hints in --json, and nothing for a
// program that loads nothing.
func TestInspectDlopenHints(t *testing.T) {
	prog := testenv.Fixture(t, "dlopen")
	out := mustRun(t, nil, "inspect", prog)
	for _, want := range []string{"probably loaded at run time:", "libscratchpack-plugin.so.1", "/opt/scratchpack/plugins/libcodec.so",
		"gconv", "add with --include-lib"} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect %s: no %q in\n%s", prog, want, out)
		}
	}
	var a struct {
		Hints []struct {
			Name, Family, Reason string
			FoundIn              []string `json:"found_in"`
		} `json:"dlopen_hints"`
	}
	if err := jsonUnmarshal(mustRun(t, nil, "inspect", "--json", prog), &a); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, h := range a.Hints {
		names[h.Name] = true
		if h.Reason == "" || len(h.FoundIn) == 0 {
			t.Errorf("hint without a reason or source: %+v", h)
		}
	}
	if !names["libscratchpack-plugin.so.1"] || !names["/opt/scratchpack/plugins/libcodec.so"] {
		t.Errorf("dlopen_hints: %+v", a.Hints)
	}

	plain := mustRun(t, nil, "inspect", "--json", testenv.Fixture(t, "hello-c"))
	if !strings.Contains(plain, `"dlopen_hints":[]`) {
		t.Errorf("hello-c should have an empty dlopen_hints list: %s", plain)
	}
}

// requireHostProgram returns the path of a program scripts/install-deps.sh
// installs; it skips without it, or fails in CI.
func requireHostProgram(t *testing.T, name, debianPackage string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if getenv("CI") == "true" {
			t.Fatalf("%s missing (CI=true): scripts/install-deps.sh installs %s", name, debianPackage)
		}
		t.Skipf("SKIP: %s missing: install the Debian package %s", name, debianPackage)
	}
	return p
}

// TestInspectHintsRealPrograms: the dlopen hints of real programs are whole
// names or paths. podman is a Go program whose string table, without NULs,
// once gave a 200-character "path"; node's printf'd file names
// (libv8-%d.%d.%d%s%s.so) gave globs of stars.
func TestInspectHintsRealPrograms(t *testing.T) {
	for _, tc := range []struct{ name, pkg string }{{"podman", "podman"}, {"node", "nodejs"}} {
		t.Run(tc.name, func(t *testing.T) {
			prog := requireHostProgram(t, tc.name, tc.pkg)
			var a struct {
				Hints []struct{ Name, Family string } `json:"dlopen_hints"`
			}
			if err := jsonUnmarshal(mustRun(t, nil, "inspect", "--json", prog), &a); err != nil {
				t.Fatal(err)
			}
			for _, h := range a.Hints {
				if h.Family != "" {
					continue
				}
				if len(h.Name) > 255 || strings.Contains(h.Name, "//") || strings.Count(h.Name, "*") > 1 {
					t.Errorf("%s: implausible hint %q", prog, h.Name)
				}
			}
		})
	}
}
