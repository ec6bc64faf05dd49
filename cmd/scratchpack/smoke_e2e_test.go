package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

// TestPackSmoke: pack --smoke writes the image only when its program exits
// 0 in the image, and otherwise exits 3 showing the program's output and
// the inspector's explanation. getpwnam needs /etc/passwd, which pack
// writes by default; with --no-runtime-extras scratch lacks it, and
// --user nonroot and --add give it one again.
func TestPackSmoke(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skipf("SKIP (requires root): the smoke run runs the image with runc or namespaces as root (euid %d)", os.Geteuid())
	}
	passwd := filepath.Join(t.TempDir(), "passwd")
	if err := os.WriteFile(passwd, []byte("root:x:0:0:root:/root:/sbin/nologin\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sleep := "/bin/sleep"
	for _, tc := range []struct {
		name    string
		args    []string
		code    int
		written bool
		stderr  []string // substrings
	}{
		{"defaults", []string{"--smoke", testenv.Fixture(t, "getpwnam")}, 0, true, []string{"exited 0"}},
		{"no passwd", []string{"--smoke", "--no-runtime-extras", testenv.Fixture(t, "getpwnam")}, exitWontRun, false,
			[]string{"smoke run: FAILED", `getpwnam("root"): no such user`, "the image has no /etc/passwd, which the program's output names: it calls getpwnam", "not written"}},
		{"nonroot writes passwd", []string{"--smoke", "--no-runtime-extras", "--user", "nonroot", testenv.Fixture(t, "getpwnam")}, 0, true,
			[]string{"smoke run: the image's program (with its command) exited 0"}},
		{"added passwd", []string{"--smoke", "--no-runtime-extras", "--add", passwd + ":/etc/passwd", testenv.Fixture(t, "getpwnam")}, 0, true, []string{"exited 0"}},
		{"exit 3", []string{"--smoke", testenv.Fixture(t, "exit3")}, exitWontRun, false, []string{"exited with status 3", "| exiting with 3"}},
		{"arguments", []string{"--smoke-args", "--version", testenv.Fixture(t, "hello-c")}, 0, true, []string{`(with ["--version"]) exited 0`}},
		{"arguments after --", []string{"--smoke", testenv.Fixture(t, "hello-go"), "--", "a", "b"}, 0, true, []string{"exited 0"}},
		{"timeout", []string{"--smoke-args", "30", "--smoke-timeout", "500ms", sleep}, exitWontRun, false, []string{"did not exit within 500ms"}},
		{"no runc", []string{"--smoke", testenv.Fixture(t, "hello-c")}, 0, true, []string{"exited 0", "(builtin)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			layout := filepath.Join(t.TempDir(), "layout")
			var env []string
			if tc.name == "no runc" {
				env = []string{"PATH=" + noRunc(t)}
			}
			args := append([]string{"pack", "-o", "oci:" + layout + ":smoke"}, tc.args...)
			out, errOut, code := run(t, env, args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstderr:\n%s", code, tc.code, errOut)
			}
			for _, want := range tc.stderr {
				if !strings.Contains(errOut, want) {
					t.Errorf("stderr lacks %q:\n%s", want, errOut)
				}
			}
			_, err := os.Stat(filepath.Join(layout, "index.json"))
			if written := err == nil; written != tc.written {
				t.Errorf("image written: %t, want %t", written, tc.written)
			}
			if tc.written != strings.HasPrefix(out, "sha256:") {
				t.Errorf("stdout %q", out)
			}
		})
	}
}

// TestPackSmokeIndex smoke-runs the images of an index this machine can
// run, and says which it skips.
func TestPackSmokeIndex(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skipf("SKIP (requires root): the smoke run runs the image as root (euid %d)", os.Geteuid())
	}
	layout := filepath.Join(t.TempDir(), "layout")
	_, errOut, code := run(t, nil, "pack", "--smoke", "--dest", "/app/hello", "-o", "oci:"+layout+":multi",
		"--platform", "linux/amd64="+testenv.Fixture(t, "hello-c"), "--platform", "linux/arm64="+testenv.Fixture(t, "hello-c-arm64"))
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	if !strings.Contains(errOut, "smoke run (linux/amd64): the image's program (with its command) exited 0") {
		t.Errorf("amd64 was not smoke-run:\n%s", errOut)
	}
	if !strings.Contains(errOut, "smoke run (linux/arm64): skipped: ") && !strings.Contains(errOut, "smoke run (linux/arm64): the image's program (with its command) exited 0") {
		t.Errorf("arm64 was neither run nor said to be skipped:\n%s", errOut)
	}
}
