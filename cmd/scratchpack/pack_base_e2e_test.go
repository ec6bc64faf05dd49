package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

func getenv(k string) string { return os.Getenv(k) }

// closureGlibcMin asks inspect for the newest GLIBC version the program and
// its libraries need.
func closureGlibcMin(t *testing.T, prog string) string {
	var a struct {
		Min string `json:"closure_glibc_min"`
	}
	if err := jsonUnmarshal(mustRun(t, nil, "inspect", "--json", prog), &a); err != nil || a.Min == "" {
		t.Fatalf("inspect --json %s: %v %q", prog, err, a.Min)
	}
	return a.Min
}

// packedFiles runs pack --json and returns the non-directory paths it added.
func packedFiles(t *testing.T, env []string, args ...string) []string {
	t.Helper()
	out := mustRun(t, env, append([]string{"pack", "--json"}, args...)...)
	var res packResult
	if err := jsonUnmarshal(out, &res); err != nil {
		t.Fatalf("pack --json: %v\n%s", err, out)
	}
	sort.Strings(res.Files)
	return res.Files
}

// TestPackOnBusyboxBase packs the C++ fixture onto a busybox:glibc-shaped
// base served by a real registry and, with no registry at all, from an
// oci-archive file: only what the base lacks is added, and the shell of the
// base still works.
func TestPackOnBusyboxBase(t *testing.T) {
	prog := testenv.Fixture(t, "hello-cc")
	base := testenv.BusyboxGlibcImage(t)
	reg := testenv.Registry(t)
	testenv.PushImage(t, base, reg.Addr+"/busybox:glibc")
	archive := filepath.Join(t.TempDir(), "busybox.tar")
	testenv.WriteOCIArchive(t, base, archive, "glibc")

	real := libstdcxxReal(t)
	want := []string{"/app/hello-cc", "/usr/lib/x86_64-linux-gnu/libgcc_s.so.1",
		"/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib/x86_64-linux-gnu/" + real}
	if _, err := os.Stat(filepath.Join(testenv.BusyboxGlibcRootfs(t), "usr/lib/x86_64-linux-gnu/libm.so.6")); err != nil {
		want = append(want, "/usr/lib/x86_64-linux-gnu/libm.so.6") // this base lacks libm
	}
	sort.Strings(want)
	for _, tc := range []struct{ name, base string }{
		{"registry", reg.Addr + "/busybox:glibc"},
		{"oci-archive", "oci-archive:" + archive + ":glibc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			layout := filepath.Join(t.TempDir(), "l")
			got := packedFiles(t, nil, "--base", tc.base, "-o", "oci:"+layout+":app", prog)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("files added on the base (-want +got):\n%s", diff)
			}
			if out, _, code := testenv.RunOCI(t, layout, "app"); out != "hello from C++\n" || code != 0 {
				t.Errorf("the program on the base printed %q, exit %d", out, code)
			}
			if out, errOut, code := testenv.RunOCI(t, layout, "app", "/bin/sh", "-c", "echo shell ok"); out != "shell ok\n" || code != 0 {
				t.Errorf("/bin/sh -c in the image: %q %q exit %d", out, errOut, code)
			}
		})
	}
}

// TestPackRefusesOldGlibcBase packs onto a base whose libc.so.6 defines
// symbol versions only up to GLIBC_2.17 (a real shared object built here
// with a version script): the program needs 2.34, and pack must refuse,
// naming both versions, with exit code 3 and nothing written.
func TestPackRefusesOldGlibcBase(t *testing.T) {
	prog := testenv.Fixture(t, "hello-cc")
	layout := oldGlibcBase(t)

	out := filepath.Join(t.TempDir(), "out.tar")
	_, errOut, code := run(t, nil, "pack", "--base", "oci:"+layout+":old", "-o", out, prog)
	need := closureGlibcMin(t, prog)
	if code != exitWontRun || !strings.Contains(errOut, "version `GLIBC_"+need+"' not found") || !strings.Contains(errOut, "provides 2.17") {
		t.Errorf("pack on a glibc 2.17 base: exit %d (want %d), stderr should name GLIBC_%s and 2.17:\n%s", code, exitWontRun, need, errOut)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a refused pack left %s behind", out)
	}
}

// oldGlibcBase writes an OCI layout (tag "old") of the busybox:glibc-shaped
// base whose libc.so.6 is replaced by a real shared object defining symbol
// versions only up to GLIBC_2.17 (built here with a version script).
func oldGlibcBase(t *testing.T) string {
	t.Helper()
	rootfs := testenv.BusyboxGlibcRootfs(t)
	src := filepath.Join(t.TempDir(), "oldc.c")
	vs := filepath.Join(t.TempDir(), "oldc.map")
	os.WriteFile(src, []byte("int old_libc_marker(void) { return 217; }\n"), 0o644)
	var script strings.Builder
	prev := ""
	for _, v := range []string{"2.2.5", "2.3", "2.4", "2.14", "2.17"} {
		script.WriteString("GLIBC_" + v + " { ")
		if prev == "" {
			script.WriteString("global: old_libc_marker; local: *; ")
		}
		script.WriteString("}")
		if prev != "" {
			script.WriteString(" GLIBC_" + prev)
		}
		script.WriteString(";\n")
		prev = v
	}
	os.WriteFile(vs, []byte(script.String()), 0o644)
	libc := filepath.Join(rootfs, "usr/lib/x86_64-linux-gnu/libc.so.6")
	os.Remove(libc)
	if out, err := exec.Command("gcc", "-shared", "-fPIC", "-o", libc, "-Wl,-soname,libc.so.6",
		"-Wl,--version-script="+vs, src, "-nostdlib").CombinedOutput(); err != nil {
		t.Fatalf("building the old libc: %v\n%s", err, out)
	}
	layout := filepath.Join(t.TempDir(), "base")
	testenv.WriteOCILayout(t, testenv.ImageFromRootfs(t, rootfs), layout, "old")
	return layout
}

// TestPackBaseFromAnywhere: the same base bytes read from two files give
// the same image: no local path goes into it, only the base's digest.
func TestPackBaseFromAnywhere(t *testing.T) {
	prog := testenv.Fixture(t, "hello-cc")
	base := testenv.BusyboxGlibcImage(t)
	var digests []string
	for _, dir := range []string{t.TempDir(), t.TempDir()} {
		archive := filepath.Join(dir, "base.tar")
		testenv.WriteOCIArchive(t, base, archive, "glibc")
		digests = append(digests, strings.TrimSpace(mustRun(t, nil, "pack", "--base", "oci-archive:"+archive,
			"-o", "oci:"+filepath.Join(dir, "out"), prog)))
	}
	if digests[0] != digests[1] {
		t.Errorf("one base from two files gave two images: %s and %s", digests[0], digests[1])
	}
}
