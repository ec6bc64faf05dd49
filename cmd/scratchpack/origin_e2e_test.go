package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

// TestOriginThroughSymlink: ./greet -> build/bin/greet, whose RUNPATH is
// $ORIGIN/../lib. The loader expands $ORIGIN of the main program to the
// directory of its real file (/proc/self/exe), not of the link, so the
// program runs on the host; inspect must say it starts, and pack must
// bundle build/lib/libgreet.so.1 so that it runs in the image too.
func TestOriginThroughSymlink(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"bin/greet", "lib/libgreet.so.1.0.0"} {
		b, err := os.ReadFile(testenv.Fixture(t, "rpath/"+f))
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, "build", f)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("libgreet.so.1.0.0", filepath.Join(dir, "build/lib/libgreet.so.1")); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "greet")
	if err := os.Symlink("build/bin/greet", link); err != nil {
		t.Fatal(err)
	}
	want, code := hostOutput(t, link)
	if code != 0 || want == "" {
		t.Fatalf("on the host: exit %d, %q", code, want)
	}

	out, errOut, code := run(t, nil, "inspect", link)
	if code != 0 || strings.Contains(out, "WILL NOT START") || !strings.Contains(out, "build/lib/libgreet.so.1") {
		t.Errorf("inspect %s: exit %d, want it to start with build/lib/libgreet.so.1:\n%s%s", link, code, out, errOut)
	}

	layout := filepath.Join(t.TempDir(), "l")
	_, report, code := run(t, nil, "pack", "-o", "oci:"+layout+":t", link)
	if code != 0 {
		t.Fatalf("pack %s: exit %d\n%s", link, code, report)
	}
	if out, errOut, code := testenv.RunOCI(t, layout, "t"); out != want || code != 0 {
		t.Errorf("in runc: exit %d, stdout %q, stderr %q; want %q", code, out, errOut, want)
	}
}
