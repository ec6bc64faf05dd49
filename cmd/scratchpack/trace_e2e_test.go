package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

// requireStrace skips without strace, or fails in CI, where
// scripts/install-deps.sh installs it.
func requireStrace(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("strace"); err != nil {
		if getenv("CI") == "true" {
			t.Fatal("strace missing (CI=true): scripts/install-deps.sh installs it")
		}
		t.Skip("SKIP: strace missing: install the Debian package strace")
	}
}

// TestTrace packs the iconv fixture with --no-runtime-extras, so static
// analysis adds no gconv module, and --trace, which runs it once under
// strace: the run opens gconv-modules.cache and ISO8859-15.so, pack adds
// them, and the image converts in runc. --trace-report only prints them.
func TestTrace(t *testing.T) {
	requireStrace(t)
	prog := testenv.Fixture(t, "iconv")
	out := mustRun(t, nil, "pack", "--trace-report", prog)
	for _, want := range []string{"libraries:\n", "/usr/lib/x86_64-linux-gnu/gconv/ISO8859-15.so", "files:\n", "/usr/lib/x86_64-linux-gnu/gconv/gconv-modules.cache"} {
		if !strings.Contains(out, want) {
			t.Errorf("--trace-report should show %q:\n%s", want, out)
		}
	}
	layout := filepath.Join(t.TempDir(), "l")
	_, report, code := run(t, nil, "pack", "--no-runtime-extras", "--trace", "-o", "oci:"+layout+":t", prog)
	if code != 0 || !strings.Contains(report, "--trace") {
		t.Fatalf("pack --trace: exit %d\n%s", code, report)
	}
	want, _ := hostOutput(t, prog)
	if out, errOut, code := testenv.RunOCI(t, layout, "t"); out != want || code != 0 {
		t.Errorf("in runc: exit %d, stdout %q, stderr %q; want %q", code, out, errOut, want)
	}
}
