package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

// TestMissingTMPDIR: a TMPDIR that does not exist is named, with the fix,
// by every command that needs a temporary directory.
func TestMissingTMPDIR(t *testing.T) {
	hello := testenv.Fixture(t, "hello-c")
	dir := t.TempDir()
	layout := filepath.Join(dir, "layout")
	mustRun(t, nil, "pack", "-o", "oci:"+layout, hello)
	missing := filepath.Join(dir, "no-such-tmp")
	for _, tc := range []struct {
		name string
		args []string
		code int
	}{
		{"pack", []string{"pack", "-o", "oci:" + filepath.Join(dir, "out"), hello}, exitRegistry},
		{"run", []string{"run", "oci:" + layout}, exitRunFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, code := run(t, []string{"TMPDIR=" + missing}, tc.args...)
			if code != tc.code || !strings.Contains(errOut, "TMPDIR="+missing+" ") {
				t.Fatalf("exit %d, want %d and an error naming TMPDIR=%s:\n%s", code, tc.code, missing, errOut)
			}
			if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("%s was made (%v)", missing, err)
			}
		})
	}
}

// TestHomeNotCreated: with HOME=/nonexistent (a system user's) and no
// XDG_CACHE_HOME, pack works without a layer cache, says so, and makes no
// home directory.
func TestHomeNotCreated(t *testing.T) {
	hello := testenv.Fixture(t, "hello-c")
	dir := t.TempDir()
	home := filepath.Join(dir, "nonexistent")
	_, errOut, code := run(t, []string{"HOME=" + home, "XDG_CACHE_HOME="}, "pack", "-o", "oci:"+filepath.Join(dir, "out"), hello)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, errOut)
	}
	if _, err := os.Stat(home); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("pack made %s for its cache (%v)", home, err)
	}
	if !strings.Contains(errOut, "no layer cache") || !strings.Contains(errOut, home) {
		t.Errorf("stderr does not say the cache is off because %s is missing:\n%s", home, errOut)
	}
}
