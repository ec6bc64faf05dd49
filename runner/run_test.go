package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"

	"github.com/scratchpack/scratchpack/elfdeps"
	"github.com/scratchpack/scratchpack/internal/testenv"
	"github.com/scratchpack/scratchpack/packer"
)

// TestRunFixtures runs packed fixtures with each runtime and compares what
// they print and return with the program run on the host.
func TestRunFixtures(t *testing.T) {
	requireNamespaces(t)
	for rt, opts := range runtimes(t) {
		for _, name := range []string{"hello-c", "hello-cc", "hello-musl", "hello-go", "exit3", "rpath/bin/greet"} {
			t.Run(rt+"/"+name, func(t *testing.T) {
				prog := testenv.Fixture(t, name)
				want, err := exec.Command(prog).Output()
				wantCode := 0
				if ee, ok := err.(*exec.ExitError); ok {
					wantCode = ee.ExitCode()
				} else if err != nil {
					t.Fatal(err)
				}
				out, errOut, res := output(t, packed(t, name, packer.Config{}), opts...)
				if out != string(want) || res.ExitCode != wantCode {
					t.Errorf("%s: exit %d, stdout %q, stderr %q; on the host exit %d, stdout %q", rt, res.ExitCode, out, errOut, wantCode, want)
				}
				if string(res.Runtime) != rt {
					t.Errorf("ran with %q, want %q", res.Runtime, rt)
				}
			})
		}
	}
}

// TestRunProcess checks arguments, environment, working directory, user,
// groups, host name, stdin and the network of the program.
func TestRunProcess(t *testing.T) {
	requireNamespaces(t)
	img := withLayer(t, testenv.BusyboxGlibcImage(t),
		ent{name: "etc/passwd", data: "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001:app:/home/app:/bin/sh\n"},
		ent{name: "etc/group", data: "root:x:0:\napp:x:1001:\nextra:x:2000:app\n"},
	)
	img = withConfig(t, img, func(c *v1.Config) {
		c.Env = []string{"FOO=bar baz"}
		c.WorkingDir = "/work/dir"
		c.Entrypoint = []string{"/bin/sh", "-c"}
		c.Cmd = []string{"echo image cmd"}
	})
	for rt, opts := range runtimes(t) {
		t.Run(rt, func(t *testing.T) {
			script := `busybox id -u; busybox id -g; busybox id -G; pwd; echo "$FOO|$HOME|$PATH"; busybox hostname; cat; ` +
				`busybox ls /proc/self/fd >/dev/null && echo proc; cat /proc/net/dev | busybox wc -l`
			stdin := strings.NewReader("from stdin\n")
			var stdout, stderr bytes.Buffer
			user := "app"
			if os.Geteuid() != 0 {
				user = "" // one id in a user namespace: run as the image's root
			}
			img := withConfig(t, img, func(c *v1.Config) { c.User = user })
			res, err := Run(context.Background(), img, append(opts, WithArgs(script), WithStdio(stdin, &stdout, &stderr), WithWorkDir(t.TempDir()))...)
			if err != nil {
				t.Fatal(err)
			}
			got := lines(stdout.String())
			want := []string{"1000", "1001", "1001 2000", "/work/dir", "bar baz|/home/app|" + strings.TrimPrefix(defaultPath, "PATH="),
				"scratchpack", "from stdin", "proc", "3"} // /proc/net/dev: two header lines and lo
			if user == "" {
				want[0], want[1], want[2], want[4] = "0", "0", "0", "bar baz|/root|"+strings.TrimPrefix(defaultPath, "PATH=")
			}
			if res.ExitCode != 0 || strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("exit %d, stderr %q\ngot  %q\nwant %q", res.ExitCode, stderr.String(), got, want)
			}

			// The image's own command, and the host's network.
			out, _, res := output(t, img, opts...)
			if strings.TrimSpace(out) != "image cmd" || res.ExitCode != 0 {
				t.Errorf("image cmd: exit %d, %q", res.ExitCode, out)
			}
			out, _, _ = output(t, img, append(opts, WithHostNetwork(), WithArgs("cat /proc/net/dev | busybox wc -l"))...)
			host, err := os.ReadFile("/proc/net/dev")
			if err != nil {
				t.Fatal(err)
			}
			if want := strconv.Itoa(len(lines(string(host)))); strings.TrimSpace(out) != want {
				t.Errorf("with the host's network: %s lines in /proc/net/dev, the host has %s", strings.TrimSpace(out), want)
			}
		})
	}
}

// TestRunSignals: a forwarded signal reaches the program, which may exit
// as it likes; a program that ignores it is killed after the grace period;
// a canceled context kills it at once.
func TestRunSignals(t *testing.T) {
	requireNamespaces(t)
	img := testenv.BusyboxGlibcImage(t)
	for rt, opts := range runtimes(t) {
		for _, tc := range []struct {
			name   string
			script string
			sig    os.Signal
			cancel bool
			code   int
			out    string
		}{
			{"handled", `trap 'echo got TERM; exit 7' TERM; echo ready; while :; do busybox sleep 0.05; done`, syscall.SIGTERM, false, 7, "got TERM"},
			// A shell without a trap leaves SIGTERM at its default action,
			// which the kernel does not apply to PID 1.
			{"ignored by PID 1", `echo ready; while :; do busybox sleep 0.05; done`, syscall.SIGTERM, false, 137, ""},
			{"context canceled", `echo ready; while :; do busybox sleep 0.05; done`, nil, true, 137, ""},
		} {
			t.Run(rt+"/"+tc.name, func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				sigs := make(chan os.Signal, 1)
				pr, pw, err := os.Pipe()
				if err != nil {
					t.Fatal(err)
				}
				defer pr.Close()
				go func() {
					b := make([]byte, 6)
					if _, err := pr.Read(b); err == nil && string(b) == "ready\n" {
						if tc.cancel {
							cancel()
						} else {
							sigs <- tc.sig
						}
					}
					var rest bytes.Buffer
					_, _ = rest.ReadFrom(pr)
					if !strings.Contains(rest.String(), tc.out) {
						t.Errorf("stdout after ready: %q, want %q", rest.String(), tc.out)
					}
				}()
				start := time.Now()
				res, err := Run(ctx, img, append(opts, WithArgs("/bin/sh", "-c", tc.script), WithEntrypoint(),
					WithStdio(nil, pw, nil), WithSignals(sigs), WithGrace(300*time.Millisecond), WithWorkDir(t.TempDir()))...)
				pw.Close()
				if tc.cancel && !errors.Is(err, context.Canceled) {
					t.Errorf("Run with a canceled context: %v", err)
				} else if !tc.cancel && err != nil {
					t.Fatal(err)
				}
				if res == nil || res.ExitCode != tc.code {
					t.Fatalf("result %+v, want exit %d", res, tc.code)
				}
				if d := time.Since(start); d > 20*time.Second {
					t.Errorf("took %v", d)
				}
			})
		}
	}
}

// TestRunStartFailures: a missing program and a missing loader are
// reported with the inspector's explanation.
func TestRunStartFailures(t *testing.T) {
	requireNamespaces(t)
	hello := testenv.Fixture(t, "hello-c")
	prog, err := os.ReadFile(hello)
	if err != nil {
		t.Fatal(err)
	}
	// hello-c alone on scratch: its loader is missing.
	noLoader := withConfig(t, withLayer(t, packed(t, "hello-c-static", packer.Config{}), ent{name: "app/hello-c", data: string(prog), mode: 0o755}),
		func(c *v1.Config) { c.Entrypoint = []string{"/app/hello-c"} })
	for rt, opts := range runtimes(t) {
		for _, tc := range []struct {
			name    string
			img     v1.Image
			args    []string
			code    int // 0: any non-zero
			problem string
		}{
			{"no such program", noLoader, []string{"/no/such/program"}, 127, ProblemNoProgram},
			{"not in PATH", noLoader, []string{"nothing-here"}, 127, ProblemNoProgram},
			{"no loader", noLoader, nil, 0, elfdeps.ProblemNoInterpreter},
		} {
			t.Run(rt+"/"+tc.name, func(t *testing.T) {
				var o []Option
				if tc.args != nil {
					o = append(o, WithEntrypoint(tc.args...))
				}
				_, errOut, res := output(t, tc.img, append(opts, o...)...)
				t.Logf("exit %d, start %v, stderr %q", res.ExitCode, res.Start, errOut)
				if res.ExitCode == 0 || tc.code != 0 && res.ExitCode != tc.code {
					t.Errorf("exit %d, want %d", res.ExitCode, tc.code)
				}
				if len(res.Problems) == 0 || res.Problems[0].Code != tc.problem {
					t.Errorf("problems %+v, want %s", res.Problems, tc.problem)
				}
			})
		}
	}
}

// TestRunCleansUp: nothing is left in the work directory, and nothing is
// mounted under it, after a run, a failed start and a killed program.
func TestRunCleansUp(t *testing.T) {
	requireNamespaces(t)
	img := testenv.BusyboxGlibcImage(t)
	for rt, opts := range runtimes(t) {
		t.Run(rt, func(t *testing.T) {
			work := t.TempDir()
			for _, args := range [][]string{{"/bin/sh", "-c", "echo hi > /tmp/x; busybox mkdir -m 0500 /ro"}, {"/nothing"}} {
				if _, err := Run(context.Background(), img, append(opts, WithEntrypoint(args...), WithWorkDir(work))...); err != nil {
					t.Fatal(err)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			if _, err := Run(ctx, img, append(opts, WithEntrypoint("/bin/sh", "-c", "while :; do :; done"), WithWorkDir(work))...); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Run past its deadline: %v", err)
			}
			entries, err := os.ReadDir(work)
			if err != nil || len(entries) != 0 {
				t.Errorf("left in %s: %v %v", work, entries, err)
			}
			mounts, err := mountsUnder(work)
			if err != nil || len(mounts) != 0 {
				t.Errorf("mounted under %s: %v %v", work, mounts, err)
			}
		})
	}
}

// TestRunInterruptedBeforeStart: a signal that comes before the program
// starts stops the run, which starts nothing.
func TestRunInterruptedBeforeStart(t *testing.T) {
	requireNamespaces(t)
	sigs := make(chan os.Signal, 1)
	sigs <- os.Interrupt
	work := t.TempDir()
	var stdout bytes.Buffer
	res, err := Run(context.Background(), testenv.BusyboxGlibcImage(t), WithArgs("echo", "started"), WithEntrypoint(),
		WithSignals(sigs), WithStdio(nil, &stdout, nil), WithWorkDir(work))
	if !errors.Is(err, ErrInterrupted) || res != nil || stdout.Len() > 0 {
		t.Errorf("Run after a signal: %+v, %v, stdout %q", res, err, stdout.String())
	}
	if entries, _ := os.ReadDir(work); len(entries) != 0 {
		t.Errorf("left in %s: %v", work, entries)
	}
}

// TestRunConfined: root in the container cannot write the host's kernel
// settings, read /proc/kcore, or open a device it makes.
func TestRunConfined(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skipf("SKIP (requires root): confinement of root in the container (euid %d)", os.Geteuid())
	}
	img := testenv.BusyboxGlibcImage(t)
	// The device the host's root file system is on.
	var st unix.Stat_t
	if err := unix.Stat("/", &st); err != nil {
		t.Fatal(err)
	}
	major, minor := unix.Major(st.Dev), unix.Minor(st.Dev)
	// Writing the value it has changes nothing, should it succeed.
	script := `v=$(cat /proc/sys/vm/swappiness); echo $v > /proc/sys/vm/swappiness 2>/dev/null && echo WROTE-SYSCTL; ` +
		fmt.Sprintf("busybox mknod /dev/disk b %d %d 2>/dev/null && busybox head -c 1 /dev/disk >/dev/null 2>&1 && echo READ-DISK; ", major, minor)
	masked := 0
	for _, p := range maskedPaths {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			script += "busybox wc -c < " + p + "; " // masked: empty
			masked++
		}
	}
	script += "echo end"
	for rt, opts := range runtimes(t) {
		t.Run(rt, func(t *testing.T) {
			before, err := os.ReadFile("/proc/sys/vm/swappiness")
			if err != nil {
				t.Fatal(err)
			}
			out, errOut, res := output(t, img, append(opts, WithEntrypoint("/bin/sh", "-c", script))...)
			t.Logf("stdout %q stderr %q", out, errOut)
			if res.ExitCode != 0 || strings.Contains(out, "WROTE") || strings.Contains(out, "READ-DISK") || out != strings.Repeat("0\n", masked)+"end\n" {
				t.Errorf("exit %d, stdout %q, stderr %q", res.ExitCode, out, errOut)
			}
			if after, _ := os.ReadFile("/proc/sys/vm/swappiness"); string(after) != string(before) {
				t.Errorf("vm.swappiness changed from %q to %q", before, after)
			}
		})
	}
}
