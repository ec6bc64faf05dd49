package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

// TestPackFixturesRunInRunc packs every host fixture onto scratch, runs the
// image with runc (unpacked by umoci) and compares with the program run on
// the host.
func TestPackFixturesRunInRunc(t *testing.T) {
	for _, name := range []string{
		"hello-c", "hello-c-static", "hello-c-static-pie", "hello-cc", "hello-cc-static",
		"hello-musl", "hello-musl-static", "hello-go", "hello-cgo", "exit3", "rpath/bin/greet",
	} {
		t.Run(name, func(t *testing.T) {
			prog := testenv.Fixture(t, name)
			wantOut, wantCode := hostOutput(t, prog)
			layout := filepath.Join(t.TempDir(), "layout")
			mustRun(t, nil, "pack", "-o", "oci:"+layout+":test", prog)
			out, errOut, code := testenv.RunOCI(t, layout, "test")
			if out != wantOut || code != wantCode {
				t.Errorf("in runc: exit %d, stdout %q, stderr %q; on the host: exit %d, stdout %q", code, out, errOut, wantCode, wantOut)
			}
		})
	}
}

// TestPackHoldsOnlyTheClosure checks the files of the dynamic C++ image: the
// program, libstdc++, libm, libgcc_s, libc and the loader, and links, and
// the user database every image on scratch gets (/etc/passwd, /etc/group).
func TestPackHoldsOnlyTheClosure(t *testing.T) {
	prog := testenv.Fixture(t, "hello-cc")
	layout := filepath.Join(t.TempDir(), "layout")
	mustRun(t, nil, "pack", "-o", "oci:"+layout+":cc", prog)
	rootfs := filepath.Join(testenv.UnpackOCI(t, layout, "cc"), "rootfs")
	var files []string
	err := filepath.WalkDir(rootfs, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			files = append(files, filepath.Base(p))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	want := []string{"hello-cc", "ld-linux-x86-64.so.2", "libc.so.6", "libgcc_s.so.1", "libm.so.6", libstdcxxReal(t), "passwd", "group"}
	sort.Strings(want)
	if diff := cmp.Diff(want, files); diff != "" {
		t.Errorf("regular files in the image (-want +got):\n%s", diff)
	}
	if fi, err := os.Lstat(filepath.Join(rootfs, "usr/lib/x86_64-linux-gnu/libstdc++.so.6")); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("libstdc++.so.6 should stay a link to the versioned file: %v %v", fi, err)
	}
}

// libstdcxxReal is the host's libstdc++.so.6.0.N file name.
func libstdcxxReal(t *testing.T) string {
	real, err := filepath.EvalSymlinks("/lib/x86_64-linux-gnu/libstdc++.so.6")
	if err != nil {
		t.Skipf("SKIP: no host libstdc++: %v", err)
	}
	return filepath.Base(real)
}

// TestPackReproducible packs the same inputs twice, from different working
// directories, and expects the same digest; SOURCE_DATE_EPOCH changes it.
func TestPackReproducible(t *testing.T) {
	prog := testenv.Fixture(t, "hello-cc")
	digest := func(env ...string) string {
		return strings.TrimSpace(mustRun(t, env, "pack", "-o", "oci:"+filepath.Join(t.TempDir(), "l"), prog))
	}
	a, b := digest(), digest("TMPDIR="+t.TempDir())
	if a != b {
		t.Errorf("two packs of the same inputs: %s and %s", a, b)
	}
	if c := digest("SOURCE_DATE_EPOCH=1700000000"); c == a {
		t.Errorf("SOURCE_DATE_EPOCH did not change the digest %s", c)
	}
	if !strings.HasPrefix(a, "sha256:") {
		t.Errorf("stdout should be the digest, got %q", a)
	}
}

// TestPackValuesKeepCommas: a repeatable flag's value is one value, commas
// and all, as docker and podman read -e and -l.
func TestPackValuesKeepCommas(t *testing.T) {
	layout := filepath.Join(t.TempDir(), "layout")
	mustRun(t, nil, "pack", "-o", "oci:"+layout+":c", "-e", "LIST=a,b", "-l", "desc=one, two",
		testenv.Fixture(t, "hello-c"))
	cf, err := layoutImage(t, layout, "c").ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(cf.Config.Env, "LIST=a,b") || cf.Config.Labels["desc"] != "one, two" {
		t.Errorf("env %q, labels %q; want LIST=a,b and desc=\"one, two\"", cf.Config.Env, cf.Config.Labels)
	}
}
