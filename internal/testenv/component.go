package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// inCI reports whether the CI environment variable is set to a true value
// ("true", "1", ...), in which case a missing component is a failure.
func inCI() bool {
	ci, err := strconv.ParseBool(os.Getenv("CI"))
	return err == nil && ci
}

// missing skips the test loudly because a component cannot exist here, or
// fails it when running in CI, where every component is installed.
func missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if inCI() {
		t.Fatalf("component missing, and CI=true so this is a failure, not a skip: %s", msg)
	}
	t.Skipf("SKIP (component missing): %s", msg)
}

// requireRoot skips the test loudly, in CI too, when not running as root.
func requireRoot(t testing.TB, what string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skipf("SKIP (requires root): %s needs root; run the tests as root (euid is %d, CI=%t)", what, os.Geteuid(), inCI())
	}
}

// sbinDirs are searched after PATH: a root PATH built by sudo or su can lack
// the sbin directories where Debian puts runc and dockerd.
var sbinDirs = []string{"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"}

// tool returns the absolute path of the executable name, or calls missing
// naming the Debian package that provides it.
func tool(t testing.TB, name, debianPackage string) string {
	t.Helper()
	if p, err := findTool(name); err == nil {
		return p
	}
	missing(t, "%s not found in PATH or %v (install the Debian package %q)", name, sbinDirs, debianPackage)
	return ""
}

func findTool(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return filepath.Abs(p)
	}
	for _, dir := range sbinDirs {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: %w", name, exec.ErrNotFound)
}

// HostProgram returns path, a program of this machine that the Debian
// package debianPackage installs (scripts/install-deps.sh lists it), or
// calls missing.
func HostProgram(t testing.TB, path, debianPackage string) string {
	t.Helper()
	if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() {
		missing(t, "%s not found (install the Debian package %q)", path, debianPackage)
	}
	return path
}
