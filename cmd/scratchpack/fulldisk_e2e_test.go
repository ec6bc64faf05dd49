package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

// tmpfs mounts a tmpfs of size bytes at a new directory, as root; without
// root it skips loudly (fails in CI, which runs as root).
func tmpfs(t *testing.T, size int) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+strconv.Itoa(size)); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("mounting a tmpfs: %v (CI runs as root)", err)
		}
		t.Skipf("SKIP: mounting a tmpfs needs root: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, 0) })
	return dir
}

// TestPackFullDisk: a destination or work directory without room gives exit 4
// naming the problem, and leaves no partial file behind.
func TestPackFullDisk(t *testing.T) {
	hello := testenv.Fixture(t, "hello-cc") // its libraries come to ~1 MiB compressed, ~3 MiB as files
	tests := []struct {
		name string
		args func(full string) ([]string, []string)
	}{
		{"oci-archive destination", func(full string) ([]string, []string) {
			return nil, []string{"-o", "oci-archive:" + filepath.Join(full, "app.tar")}
		}},
		{"FILE.tar destination", func(full string) ([]string, []string) {
			return nil, []string{"-o", filepath.Join(full, "app.tar")}
		}},
		{"oci destination", func(full string) ([]string, []string) {
			return nil, []string{"-o", "oci:" + filepath.Join(full, "layout")}
		}},
		{"work directory", func(full string) ([]string, []string) {
			// Without the cache the layer is written in the work directory
			// (TestPackCacheFullDisk fills the cache's).
			return []string{"TMPDIR=" + full}, []string{"--no-cache", "-o", "oci-archive:" + filepath.Join(t.TempDir(), "app.tar")}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			full := tmpfs(t, 512<<10)
			env, args := tc.args(full)
			start := time.Now()
			_, errOut, code := run(t, env, append(append([]string{"pack"}, args...), hello)...)
			if code != exitRegistry || !strings.Contains(errOut, "no space left on device") {
				t.Fatalf("exit %d, want %d saying no space left on device:\n%s", code, exitRegistry, errOut)
			}
			t.Logf("%s: exit %d in %s: %s", tc.name, code, time.Since(start).Round(time.Millisecond), lastLine(errOut))
			if left := listDir(t, full); len(left) > 0 {
				t.Errorf("left %v on the full file system", left)
			}
		})
	}
}

// lastLine returns the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
