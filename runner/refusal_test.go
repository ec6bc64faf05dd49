package runner

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

// TestRunRefusedConfig: an image whose environment or working directory
// no runtime accepts is refused before anything starts, with either
// runtime (scratchpack run says so and exits 125, as docker run does), not
// reported as a program that cannot be executed (126).
func TestRunRefusedConfig(t *testing.T) {
	requireNamespaces(t)
	base := withLayer(t, testenv.BusyboxGlibcImage(t), ent{name: "etc/afile", data: "x"})
	for _, tc := range []struct {
		name string
		edit func(*v1.Config)
		want string
	}{
		{"environment entry without =", func(c *v1.Config) { c.Env = append(c.Env, "NOEQUALS") }, `"NOEQUALS" is not NAME=VALUE`},
		{"environment entry with a NUL", func(c *v1.Config) { c.Env = append(c.Env, "A=b\x00c") }, "NUL"},
		{"working directory is a file", func(c *v1.Config) { c.WorkingDir = "/etc/afile" }, "working directory /etc/afile is not a directory"},
	} {
		img := withConfig(t, base, func(c *v1.Config) {
			c.Entrypoint = []string{"/bin/sh", "-c", "echo ran"}
			tc.edit(c)
		})
		for rt, opts := range runtimes(t) {
			t.Run(tc.name+"/"+rt, func(t *testing.T) {
				var stdout bytes.Buffer
				res, err := Run(context.Background(), img, append(opts, WithStdio(nil, &stdout, nil), WithWorkDir(t.TempDir()))...)
				if !errors.Is(err, ErrBadConfig) || !strings.Contains(err.Error(), tc.want) || res != nil || stdout.Len() > 0 {
					t.Fatalf("Run: %+v, %v, stdout %q; want ErrBadConfig saying %q, and nothing run", res, err, stdout.String(), tc.want)
				}
			})
		}
	}
}

// TestStartCode: runc's own failures are 125; the program's are 126 (cannot
// execute) and 127 (not found).
func TestStartCode(t *testing.T) {
	for msg, want := range map[string]int{
		`runc run failed: unable to start container process: error during container init: invalid environment variable: "X"`:                                     125,
		`runc run failed: unable to start container process: error during container init: mkdir /etc/afile: not a directory`:                                     125,
		`runc run failed: unable to start container process: error during container init: error mounting "proc" to rootfs at "/proc": no such file or directory`: 125,
		`runc run failed: unable to start container process: exec: "/no/such": stat /no/such: no such file or directory`:                                         127,
		`runc run failed: unable to start container process: exec: "nothing-here": executable file not found in $PATH`:                                           127,
		`runc run failed: unable to start container process: exec: "/etc/passwd": permission denied`:                                                             126,
		`runc run failed: unable to start container process: exec /app/hello: exec format error`:                                                                 126,
	} {
		if got := startCode(msg); got != want {
			t.Errorf("startCode(%q) = %d, want %d", msg, got, want)
		}
	}
}

// TestRunImagePath: the program is looked up in the image's PATH, in its
// order, with every runtime; the default PATH only when the image sets none.
func TestRunImagePath(t *testing.T) {
	requireNamespaces(t)
	img := withLayer(t, testenv.BusyboxGlibcImage(t),
		ent{name: "custom/bin/whoami-path", data: "#!/bin/sh\necho custom\n", mode: 0o755},
		ent{name: "usr/local/bin/whoami-path", data: "#!/bin/sh\necho default\n", mode: 0o755},
	)
	for _, tc := range []struct {
		name string
		env  []string
		want string
	}{
		{"image PATH first", []string{"PATH=/custom/bin:/usr/local/bin:/bin"}, "custom\n"},
		{"image PATH last entry", []string{"A=1", "PATH=/custom/bin:/bin"}, "custom\n"},
		{"no PATH: the default", []string{"A=1"}, "default\n"},
		// A base's default PATH, then the image's own: the last one counts,
		// as with runc and docker run.
		{"two PATHs: the last", []string{"PATH=/usr/local/bin:/bin", "A=1", "PATH=/custom/bin:/bin"}, "custom\n"},
	} {
		img := withConfig(t, img, func(c *v1.Config) {
			c.Env = tc.env
			c.Entrypoint = []string{"whoami-path"}
		})
		for rt, opts := range runtimes(t) {
			t.Run(tc.name+"/"+rt, func(t *testing.T) {
				out, errOut, res := output(t, img, opts...)
				if res.ExitCode != 0 || out != tc.want {
					t.Fatalf("exit %d, stdout %q (stderr %q), want %q", res.ExitCode, out, errOut, tc.want)
				}
			})
		}
	}
}
