package runner

import (
	"os"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/scratchpack/scratchpack/elfdeps"
	"github.com/scratchpack/scratchpack/internal/testenv"
)

// TestRunDiagnosis: a failed run is inspected only when it looks like a
// start-up or missing-file failure, and the explanation leads with the
// paths the program's own output names; it never suggests what the image
// has. A deliberate exit 5, or a failure that names nothing missing, gets
// no explanation.
func TestRunDiagnosis(t *testing.T) {
	requireNamespaces(t)
	img := testenv.BusyboxGlibcImage(t)
	for rt, opts := range runtimes(t) {
		for _, tc := range []struct {
			name   string
			script string
			named  []string // OutputNames
			any    bool     // any explanation at all
		}{
			{"deliberate exit", "exit 5", nil, false},
			{"no network", `echo "curl: (7) Failed to connect to example.com port 80: Connection refused" >&2; exit 7`, nil, false},
			{"names a path it has", `echo "/bin/sh: cannot open it: No such file or directory" >&2; exit 1`, nil, false},
			{"names a missing path", `echo "cannot resolve /root/.config: lstat /root/.config: no such file or directory" >&2; exit 1`, []string{"/root/.config"}, true},
			{"quoted", `echo "gpg: can't create directory '/nohome/.gnupg': No such file or directory" >&2; exit 2`, []string{"/nohome/.gnupg"}, true},
		} {
			t.Run(rt+"/"+tc.name, func(t *testing.T) {
				_, errOut, res := output(t, img, append(opts, WithEntrypoint("/bin/sh", "-c", tc.script))...)
				if res.ExitCode == 0 {
					t.Fatalf("exit 0, stderr %q", errOut)
				}
				if strings.Join(res.OutputNames, " ") != strings.Join(tc.named, " ") {
					t.Errorf("output names %q, want %q", res.OutputNames, tc.named)
				}
				got := len(res.Problems)+len(res.Hints)+len(res.MissingFiles)+len(res.OutputNames) > 0
				if got != tc.any {
					t.Errorf("explained: %v, want %v: %+v", got, tc.any, res)
				}
			})
		}
	}
}

// TestExplainFilters: hints of libraries the image has (located in it)
// are dropped, as are those the output does not name; of the files C
// library functions read, only those the output names are kept.
func TestExplainFilters(t *testing.T) {
	out := "getpwnam(\"root\"): no such user (is /etc/passwd there?)\nlibfoo.so.1: cannot open shared object file: No such file or directory\n"
	hints := keepHints([]elfdeps.DlopenHint{
		{Name: "libgcc_s.so.1", Family: "libgcc_s", Path: "/usr/lib/x86_64-linux-gnu/libgcc_s.so.1"},
		{Name: "libfoo.so.1"},
		{Name: "libbar.so.2"},
	}, out)
	if len(hints) != 1 || hints[0].Name != "libfoo.so.1" {
		t.Errorf("hints kept: %+v", hints)
	}
	files := keepFiles([]elfdeps.RuntimeFile{{Path: "/etc/passwd"}, {Path: "/etc/shadow"}, {Path: "/etc/resolv.conf"}}, out)
	if len(files) != 1 || files[0].Path != "/etc/passwd" {
		t.Errorf("files kept: %+v", files)
	}
	if got := namedPaths(out + "open '/a/b.conf': ENOENT\n/proc/self/x /dev/null\n"); strings.Join(got, " ") != "/etc/passwd /a/b.conf" {
		t.Errorf("named paths %q", got)
	}
}

// TestRunEnv: WithEnv sets variables over the image's, as docker run -e.
func TestRunEnv(t *testing.T) {
	requireNamespaces(t)
	img := withConfig(t, testenv.BusyboxGlibcImage(t), func(c *v1.Config) { c.Env = append(c.Env, "A=image", "B=image") })
	for rt, opts := range runtimes(t) {
		t.Run(rt, func(t *testing.T) {
			out, errOut, res := output(t, img, append(opts, WithEnv("B=flag", "C=new=x"), WithEntrypoint("/bin/sh", "-c", `echo "$A|$B|$C"`))...)
			if res.ExitCode != 0 || strings.TrimSpace(out) != "image|flag|new=x" {
				t.Errorf("exit %d, stdout %q, stderr %q", res.ExitCode, out, errOut)
			}
		})
	}
}

// TestRunHostNetworkFiles: with the host's network the program sees the
// host's /etc/resolv.conf and /etc/hosts, as docker run --network host
// gives them, over the image's own; without it, the image's.
func TestRunHostNetworkFiles(t *testing.T) {
	requireNamespaces(t)
	img := withLayer(t, testenv.BusyboxGlibcImage(t), ent{name: "etc/hosts", data: "127.0.0.1 image-hosts\n"})
	var want []string
	for _, f := range []string{"/etc/resolv.conf", "/etc/hosts"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Skipf("SKIP: this machine has no %s", f)
		}
		want = append(want, string(b))
	}
	for rt, opts := range runtimes(t) {
		t.Run(rt, func(t *testing.T) {
			out, errOut, res := output(t, img, append(opts, WithHostNetwork(), WithEntrypoint("/bin/sh", "-c", "cat /etc/resolv.conf; echo ---; cat /etc/hosts"))...)
			if res.ExitCode != 0 || out != want[0]+"---\n"+want[1] {
				t.Errorf("exit %d, stderr %q\ngot  %q\nwant %q", res.ExitCode, errOut, out, want[0]+"---\n"+want[1])
			}
			out, _, _ = output(t, img, append(opts, WithEntrypoint("/bin/sh", "-c", "cat /etc/hosts"))...)
			if out != "127.0.0.1 image-hosts\n" {
				t.Errorf("without the host's network, /etc/hosts is %q", out)
			}
		})
	}
}
