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
