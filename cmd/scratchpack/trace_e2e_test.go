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
	if code != 0 || !strings.Contains(report, "traced: used by the run") {
		t.Fatalf("pack --trace: exit %d\n%s", code, report)
	}
	want, _ := hostOutput(t, prog)
	if out, errOut, code := testenv.RunOCI(t, layout, "t"); out != want || code != 0 {
		t.Errorf("in runc: exit %d, stdout %q, stderr %q; want %q", code, out, errOut, want)
	}
}

// TestTraceRealPrograms packs real programs of this machine with --trace,
// each at its own path, and runs the image in runc: it must print what the
// program prints here. Python finds its prefix by stat'ing landmarks and
// imports modules it stat's and lists; apt-get stat's /var/lib/dpkg/status
// and lists /etc/apt/apt.conf.d; gcc-ar finds its LTO plugin with access();
// gdb links libpython and runs its own Python at start.
func TestTraceRealPrograms(t *testing.T) {
	requireStrace(t)
	for _, tc := range []struct {
		prog, pkg string
		args      []string
	}{
		{"/usr/bin/python3.11", "python3.11-minimal", []string{"-c", "import json, ssl; print(json.dumps(ssl.OPENSSL_VERSION))"}},
		{"/usr/bin/apt-get", "apt", []string{"--version"}},
		{"/usr/bin/gcc-ar", "gcc", []string{"--version"}},
		{"/usr/bin/gdb", "gdb", []string{"--version"}},
	} {
		t.Run(filepath.Base(tc.prog), func(t *testing.T) {
			prog := testenv.HostProgram(t, tc.prog, tc.pkg)
			want, code := hostOutput(t, prog, tc.args...)
			if code != 0 || want == "" {
				t.Fatalf("on the host: exit %d, %q", code, want)
			}
			layout := filepath.Join(t.TempDir(), "l")
			args := append([]string{"pack", "--trace", "--dest", prog, "-o", "oci:" + layout + ":t", prog, "--"}, tc.args...)
			_, report, code := run(t, nil, args...)
			if code != 0 {
				t.Fatalf("pack --trace: exit %d\n%s", code, report)
			}
			if out, errOut, code := testenv.RunOCI(t, layout, "t"); out != want || code != 0 {
				t.Errorf("in runc: exit %d, stdout %q, stderr %q; want %q\n%s", code, out, errOut, want, report)
			}
		})
	}
}

// TestTraceReportStatOnly: --trace-report names the files a run only
// resolved, and says why it left paths out.
func TestTraceReportStatOnly(t *testing.T) {
	requireStrace(t)
	prog := testenv.HostProgram(t, "/usr/bin/python3.11", "python3.11-minimal")
	out := mustRun(t, nil, "pack", "--trace-report", prog, "--", "-c", "import json")
	for _, want := range []string{"found only with stat, access or readlink", "/usr/lib/python3.11/os.py",
		"directories (made empty, with the entries used):", "/usr/lib/python3.11/json\n", "left out:", "/etc/ld.so.cache  (per machine, or written by scratchpack)"} {
		if !strings.Contains(out, want) {
			t.Errorf("--trace-report should show %q:\n%s", want, out)
		}
	}
}
