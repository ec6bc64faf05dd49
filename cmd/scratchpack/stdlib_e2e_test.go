package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

// TestPackStdlibNeed: pack of a program with an interpreter's runtime
// (Debian's python3.11 has libpython built in) succeeds, since it starts,
// but its report says the standard library is not in the image and how to
// add it; --include of the directory adds it.
func TestPackStdlibNeed(t *testing.T) {
	prog := testenv.HostProgram(t, "/usr/bin/python3.11", "python3.11-minimal")
	layout := filepath.Join(t.TempDir(), "l")
	_, report, code := run(t, nil, "pack", "-o", "oci:"+layout+":t", prog)
	if code != 0 {
		t.Fatalf("pack: exit %d\n%s", code, report)
	}
	for _, want := range []string{"NOT ADDED: stdlib", "No module named 'encodings'", "--trace -- ARGS", "--include /usr/lib/python3.11"} {
		if !strings.Contains(report, want) {
			t.Errorf("the pack report should say %q:\n%s", want, report)
		}
	}
	if inspect := mustRun(t, nil, "inspect", prog); !strings.Contains(inspect, "? stdlib: /usr/lib/python3.11") {
		t.Errorf("inspect should show the stdlib need:\n%s", inspect)
	}
	_, report, code = run(t, nil, "pack", "--include", "/usr/lib/python3.11", "-o", "oci:"+layout+":t", prog)
	if code != 0 || strings.Contains(report, "NOT ADDED: stdlib") {
		t.Errorf("pack --include /usr/lib/python3.11: exit %d, still reports the stdlib need:\n%s", code, report)
	}
}
