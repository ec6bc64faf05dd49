package testenv

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// fixtureDir is testdata/bin of this module, where `make fixtures` puts the
// compiled fixtures, found from this file's place in the module.
var fixtureDir = func() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", "bin")
}()

// Fixture returns the absolute path of a program that `make fixtures` builds
// ("hello-cc", "rpath/bin/greet"). Without it the test is skipped loudly, or
// fails when CI is set, since make test builds every fixture.
func Fixture(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(fixtureDir, filepath.FromSlash(name))
	if _, err := os.Stat(p); err != nil {
		missing(t, "fixture %s: run make fixtures (make test builds them): %v", p, err)
	}
	return p
}
