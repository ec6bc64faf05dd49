package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

// TestPackRealPrograms packs real programs from the distribution onto scratch
// and expects the same version output in runc as on the host.
func TestPackRealPrograms(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIP: -short")
	}
	for _, tc := range []struct{ prog, arg string }{
		{"/usr/bin/bash", "--version"},
		{"/usr/bin/git", "--version"},
		{"/usr/bin/curl", "--version"},
		{"/usr/bin/openssl", "version"},
		{"/usr/bin/node", "--version"},
		{"/usr/lib/postgresql/15/bin/psql", "--version"}, // /usr/bin/psql is a Perl wrapper
	} {
		t.Run(filepath.Base(tc.prog), func(t *testing.T) {
			if _, err := os.Stat(tc.prog); err != nil {
				if os.Getenv("CI") == "true" {
					t.Fatalf("%s missing: make test installs it (scripts/install-deps.sh)", tc.prog)
				}
				t.Skipf("SKIP (component missing): %s", tc.prog)
			}
			want, code := hostOutput(t, tc.prog, tc.arg)
			if code != 0 {
				t.Fatalf("%s %s on the host: exit %d", tc.prog, tc.arg, code)
			}
			layout := filepath.Join(t.TempDir(), "l")
			mustRun(t, nil, "pack", "-o", "oci:"+layout+":x", tc.prog)
			got, errOut, code := testenv.RunOCI(t, layout, "x", "/app/"+filepath.Base(tc.prog), tc.arg)
			if code != 0 || got != want {
				t.Errorf("in runc: exit %d\nstdout %q\nstderr %q\non the host: %q", code, got, errOut, want)
			}
			if strings.TrimSpace(got) == "" {
				t.Error("no output: the test compared nothing")
			}
		})
	}
}

// TestPackRealDefaults: real programs that look up their user's home run
// on scratch with default flags, as here: podman resolves $HOME (lstat
// /root) and gpg makes ~/.gnupg, which needs /root to exist.
func TestPackRealDefaults(t *testing.T) {
	for _, tc := range []struct{ prog, pkg string }{{"/usr/bin/podman", "podman"}, {"/usr/bin/gpg", "gpg"}} {
		t.Run(filepath.Base(tc.prog), func(t *testing.T) {
			prog := testenv.HostProgram(t, tc.prog, tc.pkg)
			want, code := hostOutput(t, prog, "--version")
			if code != 0 {
				t.Fatalf("on the host: exit %d", code)
			}
			layout := filepath.Join(t.TempDir(), "l")
			mustRun(t, nil, "pack", "--dest", prog, "-o", "oci:"+layout+":t", prog, "--", "--version")
			if out, errOut, code := testenv.RunOCI(t, layout, "t"); out != want || code != 0 {
				t.Errorf("in runc: exit %d, stdout %q, stderr %q; want %q", code, out, errOut, want)
			}
		})
	}
}
