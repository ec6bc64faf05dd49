package main

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/scratchpack/scratchpack/internal/testenv"
	"github.com/scratchpack/scratchpack/runner"
)

// runFixtures are the host fixtures that `run` must run as the host does.
var runFixtures = []string{
	"hello-c", "hello-c-static", "hello-c-static-pie", "hello-cc", "hello-cc-static", "hello-musl",
	"hello-musl-static", "hello-go", "hello-cgo", "exit3", "rpath/bin/greet",
}

// noRunc is a PATH in which there is no runc, nor anything else: Debian
// links /usr/bin/runc and /bin/runc to /usr/sbin/runc, so leaving sbin out
// of PATH does not hide it. scratchpack needs no other program.
func noRunc(t *testing.T) string {
	t.Helper()
	return t.TempDir()
}

// runcSpy puts a runc in a directory of its own that records each call in
// a log and then runs the real runc, and returns a PATH with only it, and
// the log.
func runcSpy(t *testing.T) (path, log string) {
	t.Helper()
	real, err := exec.LookPath("runc")
	if err != nil {
		for _, p := range []string{"/usr/sbin/runc", "/usr/local/sbin/runc"} {
			if _, err := os.Stat(p); err == nil {
				real = p
			}
		}
	}
	if real == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("runc not found; CI installs it")
		}
		t.Skip("SKIP (component missing): runc not found (install the Debian package runc)")
	}
	dir := t.TempDir()
	log = filepath.Join(dir, "calls")
	script := "#!/bin/sh\necho \"$*\" >> " + log + "\nexec " + real + " \"$@\"\n"
	if err := os.WriteFile(filepath.Join(dir, "runc"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir, log
}

// TestRunFixturesBothRuntimes packs each fixture and runs it with `run`:
// with runc in PATH (a spy proves runc ran) and with runc hidden from PATH
// (the builtin namespaces), as root; stdout and the exit code are the
// program's own, as on the host.
func TestRunFixturesBothRuntimes(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skipf("SKIP (requires root): runc and the builtin runtime as root (euid %d)", os.Geteuid())
	}
	spyPath, spyLog := runcSpy(t)
	layout := filepath.Join(t.TempDir(), "layout")
	for _, name := range runFixtures {
		mustRun(t, nil, "pack", "-o", "oci:"+layout+":"+strings.ReplaceAll(name, "/", "-"), testenv.Fixture(t, name))
	}
	for _, rt := range []struct {
		name string
		path string
	}{{"runc", spyPath}, {"builtin", noRunc(t)}} {
		for _, name := range runFixtures {
			t.Run(rt.name+"/"+name, func(t *testing.T) {
				wantOut, wantCode := hostOutput(t, testenv.Fixture(t, name))
				before := spyCalls(t, spyLog)
				out, errOut, code := run(t, []string{"PATH=" + rt.path}, "run", "oci:"+layout+":"+strings.ReplaceAll(name, "/", "-"))
				if out != wantOut || code != wantCode {
					t.Errorf("run: exit %d, stdout %q, stderr %q; on the host: exit %d, stdout %q", code, out, errOut, wantCode, wantOut)
				}
				if ran := spyCalls(t, spyLog) > before; ran != (rt.name == "runc") {
					t.Errorf("runc ran: %t, want %t", ran, rt.name == "runc")
				}
			})
		}
	}
}

func spyCalls(t *testing.T, log string) int {
	t.Helper()
	b, err := os.ReadFile(log)
	if os.IsNotExist(err) {
		return 0
	} else if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "\n")
}

// TestRunAsUser runs the builtin runtime as an unprivileged user, in a
// user namespace.
func TestRunAsUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skipf("SKIP (requires root): the test starts scratchpack as nobody (euid %d)", os.Geteuid())
	}
	// Everything nobody reads must be readable by others.
	dir, err := os.MkdirTemp("", "scratchpack-run-user-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	tmp := filepath.Join(dir, "tmp")
	self := filepath.Join(dir, "scratchpack")
	if err := os.Mkdir(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(tmp, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(self, b, 0o755); err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(dir, "exit3.tar")
	mustRun(t, nil, "pack", "-o", archive, testenv.Fixture(t, "exit3"))
	if err := os.Chmod(archive, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "run", archive)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/bin", "TMPDIR=" + tmp, "HOME=" + tmp}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	code := cmd.ProcessState.ExitCode()
	if strings.Contains(stderr.String(), "does not let an unprivileged user make a user namespace") {
		t.Skipf("SKIP: this kernel has no unprivileged user namespaces: %s", stderr.String())
	}
	if code != 3 || stdout.String() != "exiting with 3\n" {
		t.Errorf("as nobody: %v, exit %d, stdout %q, stderr %q", err, code, stdout.String(), stderr.String())
	}
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Errorf("left in TMPDIR: %v", entries)
	}
}

// TestRunHostileTarball runs a docker-save tarball whose layers hold ../
// names, absolute links out of the root with files written through them,
// a hard link to an outside file, and a whiteout, with both runtimes, and
// checks that a canary file outside, and the directory it is in, are
// untouched.
func TestRunHostileTarball(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skipf("SKIP (requires root): both runtimes as root (euid %d)", os.Geteuid())
	}
	spyPath, _ := runcSpy(t)
	for _, rt := range []struct{ name, path string }{{"runc", spyPath}, {"builtin", noRunc(t)}} {
		t.Run(rt.name, func(t *testing.T) {
			outside := t.TempDir()
			canary := filepath.Join(outside, "canary")
			if err := os.WriteFile(canary, []byte("untouched"), 0o644); err != nil {
				t.Fatal(err)
			}
			tarPath := filepath.Join(t.TempDir(), "hostile.tar")
			testenv.WriteDockerArchive(t, hostileImage(t, outside), tarPath, "hostile:1")
			out, errOut, code := run(t, []string{"PATH=" + rt.path, "TMPDIR=" + t.TempDir()}, "run", tarPath)
			t.Logf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
			if code != 0 || !strings.HasSuffix(out, "done\n") || strings.Contains(out, "GONE") {
				t.Errorf("exit %d, stdout %q", code, out)
			}
			if !strings.Contains(errOut, "not unpacked: its name leaves the root") {
				t.Errorf("the ../ entry should be reported as skipped: %s", errOut)
			}
			if b, err := os.ReadFile(canary); err != nil || string(b) != "untouched" {
				t.Errorf("canary: %q %v", b, err)
			}
			if entries, err := os.ReadDir(outside); err != nil || len(entries) != 1 {
				t.Errorf("outside the root now: %v %v; want only the canary", entries, err)
			}
		})
	}
}

// hostileImage is busybox with layers written to reach outside its root.
func hostileImage(t *testing.T, outside string) v1.Image {
	t.Helper()
	rel := strings.Repeat("../", 12) + strings.TrimPrefix(outside, "/")
	img := appendLayer(t, testenv.BusyboxGlibcImage(t),
		tar.Header{Name: rel + "/dotdot", Typeflag: tar.TypeReg, Mode: 0o644},
		tar.Header{Name: "evil", Typeflag: tar.TypeSymlink, Linkname: outside},
		tar.Header{Name: "rel", Typeflag: tar.TypeSymlink, Linkname: rel},
		tar.Header{Name: "proc", Typeflag: tar.TypeSymlink, Linkname: outside},
		tar.Header{Name: "work", Typeflag: tar.TypeSymlink, Linkname: outside + "/work"},
		tar.Header{Name: "gone", Typeflag: tar.TypeReg, Mode: 0o644},
	)
	img = appendLayer(t, img,
		tar.Header{Name: "evil/through-link", Typeflag: tar.TypeReg, Mode: 0o644},
		tar.Header{Name: "rel/through-rel", Typeflag: tar.TypeReg, Mode: 0o644},
		tar.Header{Name: "hard", Typeflag: tar.TypeLink, Linkname: outside + "/canary"},
		tar.Header{Name: ".wh.gone", Typeflag: tar.TypeReg, Mode: 0o644},
	)
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg := cf.Config
	cfg.WorkingDir = "/work"
	cfg.Entrypoint = []string{"/bin/sh", "-c"}
	cfg.Cmd = []string{"test -e /gone && echo GONE-EXISTS; echo x > here; echo y > /evil/from-container; echo z >> /hard; echo done"}
	if img, err = mutate.Config(img, cfg); err != nil {
		t.Fatal(err)
	}
	return img
}

// appendLayer adds a layer of empty files, links and directories.
func appendLayer(t *testing.T, img v1.Image, hs ...tar.Header) v1.Image {
	t.Helper()
	var tes []testenv.TarEntry
	for _, h := range hs {
		tes = append(tes, testenv.TarEntry{Header: h})
	}
	img, err := mutate.AppendLayers(img, testenv.Layer(t, tes...))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestRunForeignArch packs the arm64 fixture with the arm64 sysroot and runs
// it under qemu-user: first, if no emulator is registered, run must refuse
// with a message that says how to register one; then, where the kernel
// allows registering qemu-aarch64 (root, binfmt_misc), it must run.
func TestRunForeignArch(t *testing.T) {
	prog := testenv.Fixture(t, "hello-c-arm64")
	if _, err := os.Stat("/usr/aarch64-linux-gnu/lib"); err != nil {
		t.Skipf("SKIP (component missing): no arm64 sysroot at /usr/aarch64-linux-gnu (install libc6-dev-arm64-cross): %v", err)
	}
	layout := filepath.Join(t.TempDir(), "layout")
	mustRun(t, nil, "pack", "--root", "/usr/aarch64-linux-gnu", "-o", "oci:"+layout+":arm64", prog)
	image := "oci:" + layout + ":arm64"

	t.Run("without an emulator", func(t *testing.T) {
		if err := testenv.WithoutQemuBinfmt(t, "aarch64"); err != nil { // until this subtest ends
			t.Skipf("SKIP: binfmt_misc runs aarch64 programs here: %v", err)
		}
		_, errOut, code := run(t, nil, "run", "--platform", "linux/arm64", image)
		for _, want := range []string{"linux/arm64", "exec format error", "qemu-user-static",
			"mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc", "/proc/sys/fs/binfmt_misc/register"} {
			if !strings.Contains(errOut, want) {
				t.Errorf("without an emulator: exit %d, stderr lacks %q:\n%s", code, want, errOut)
			}
		}
		if code != exitRunFailed {
			t.Errorf("without an emulator: exit %d, want %d", code, exitRunFailed)
		}
	})
	t.Run("under qemu", func(t *testing.T) {
		if err := testenv.QemuBinfmt(t, "aarch64"); err != nil {
			t.Logf("LOUD NOTE: the arm64 image was NOT run under qemu-user here, only the error message was checked: %v", err)
			return
		}
		wantOut, _ := hostOutput(t, testenv.Fixture(t, "hello-c"))
		for _, env := range [][]string{nil, {"PATH=" + noRunc(t)}} {
			out, errOut, code := run(t, env, "run", "--platform", "linux/arm64", image)
			if code != 0 || out != wantOut {
				t.Errorf("under qemu (env %q): exit %d, stdout %q, stderr %q; want %q", env, code, out, errOut, wantOut)
			}
		}
	})
}

// TestRunBadInput: run's own failures exit 125 and say what to do.
func TestRunBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no image", []string{"run"}, "run needs an IMAGE"},
		{"scratch", []string{"run", "scratch"}, "nothing to run"},
		{"no such layout", []string{"run", "oci:/no/such/layout"}, "not an OCI image layout"},
		{"bad runtime", []string{"run", "--runtime", "crun", "oci:x"}, "want auto, runc or builtin"},
		{"bad network", []string{"run", "--network", "bridge", "oci:x"}, "want none or host"},
		{"init by hand", []string{runner.InitCommand}, "not a command to use"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, code := run(t, nil, tc.args...)
			if code != exitRunFailed || !strings.Contains(errOut, tc.want) {
				t.Errorf("scratchpack %s: exit %d, stderr %q; want %d and %q", strings.Join(tc.args, " "), code, errOut, exitRunFailed, tc.want)
			}
		})
	}
}

// TestRunSources runs the same image from every source pack writes: an OCI
// layout, an OCI archive, a docker archive, a FILE.tar and a registry.
func TestRunSources(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skipf("SKIP (requires root): running images as root (euid %d)", os.Geteuid())
	}
	reg := testenv.Registry(t)
	dir := t.TempDir()
	srcs := []string{
		"oci:" + filepath.Join(dir, "layout") + ":v1",
		"oci-archive:" + filepath.Join(dir, "oci.tar") + ":v1",
		"docker-archive:" + filepath.Join(dir, "docker.tar") + ":exit3:v1",
		filepath.Join(dir, "both.tar"),
		"docker://" + reg.Addr + "/exit3:v1",
	}
	args := []string{"pack"}
	for _, s := range srcs {
		args = append(args, "-o", s)
	}
	mustRun(t, nil, append(args, testenv.Fixture(t, "exit3"))...)
	srcs[len(srcs)-1] = reg.Addr + "/exit3:v1" // a bare registry reference
	for _, src := range srcs {
		t.Run(src, func(t *testing.T) {
			out, errOut, code := run(t, nil, "run", src)
			if code != 3 || out != "exiting with 3\n" {
				t.Errorf("run %s: exit %d, stdout %q, stderr %q", src, code, out, errOut)
			}
		})
	}
}

// TestRunInterrupt sends scratchpack run the signals of a ^C, of kill and
// of a closed terminal:
// the first goes to the program, a second kills it, and the temporary root
// is gone either way.
func TestRunInterrupt(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skipf("SKIP (requires root): running images as root (euid %d)", os.Geteuid())
	}
	layout := filepath.Join(t.TempDir(), "layout")
	testenv.WriteOCILayout(t, testenv.BusyboxGlibcImage(t), layout, "bb")
	spyPath, _ := runcSpy(t)
	// The loop ends by itself after a minute, so that a scratchpack that
	// dies without stopping it leaves nothing running for long.
	loop := `echo ready; i=0; while [ $i -lt 1200 ]; do busybox sleep 0.05; i=$((i+1)); done`
	for _, rt := range []struct{ name, path string }{{"runc", spyPath}, {"builtin", noRunc(t)}} {
		for _, tc := range []struct {
			name   string
			script string
			sigs   []syscall.Signal
			code   int
		}{
			// sh handles SIGINT itself and exits 130.
			{"^C", loop, []syscall.Signal{syscall.SIGINT}, 130},
			// As PID 1, sh leaves SIGTERM at its default, which the kernel
			// does not apply to PID 1: the second signal kills it.
			{"TERM twice", loop, []syscall.Signal{syscall.SIGTERM, syscall.SIGTERM}, 137},
			// A closed terminal or a dropped SSH session: the same as SIGTERM.
			{"HUP twice", loop, []syscall.Signal{syscall.SIGHUP, syscall.SIGHUP}, 137},
		} {
			t.Run(rt.name+"/"+tc.name, func(t *testing.T) {
				tmp := t.TempDir()
				cmd := exec.Command(bin, "run", "--entrypoint", "/bin/sh", "oci:"+layout+":bb", "--", "-c", tc.script)
				cmd.Env = append(os.Environ(), "PATH="+rt.path, "TMPDIR="+tmp)
				stdout, err := cmd.StdoutPipe()
				if err != nil {
					t.Fatal(err)
				}
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				buf := make([]byte, 6)
				if _, err := io.ReadFull(stdout, buf); err != nil || string(buf) != "ready\n" {
					t.Fatalf("waiting for the program: %q %v; stderr %s", buf, err, stderr.String())
				}
				for _, s := range tc.sigs {
					if err := cmd.Process.Signal(s); err != nil {
						t.Fatal(err)
					}
					time.Sleep(200 * time.Millisecond)
				}
				_, _ = io.Copy(io.Discard, stdout)
				_ = cmd.Wait()
				if code := cmd.ProcessState.ExitCode(); code != tc.code {
					t.Errorf("exit %d, want %d; stderr %s", code, tc.code, stderr.String())
				}
				if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
					t.Errorf("left in TMPDIR: %v", entries)
				}
			})
		}
	}
}

// TestRunEnvAndDiagnosis: -e and --env-file set the program's environment
// (KEY alone takes this machine's value; values keep their commas); a
// deliberate non-zero exit is passed through without an explanation, and
// one whose output names a path the image lacks leads with that path.
func TestRunEnvAndDiagnosis(t *testing.T) {
	layout := t.TempDir()
	testenv.WriteOCILayout(t, testenv.BusyboxGlibcImage(t), layout, "bb")
	envFile := filepath.Join(t.TempDir(), "env")
	if err := os.WriteFile(envFile, []byte("# a comment\n\nA=from-file\nB=from-file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The script is the entrypoint, a JSON array: no arguments after IMAGE.
	sh := func(script string) string {
		b, _ := json.Marshal([]string{"/bin/sh", "-c", script})
		return string(b)
	}
	out, errOut, code := run(t, []string{"HOSTVAR=host value"}, "run", "--env-file", envFile, "-e", "B=flag,with,commas", "-e", "HOSTVAR", "-e", "UNSET_HERE_XYZ",
		"--entrypoint", sh(`echo "$A|$B|$HOSTVAR|${UNSET_HERE_XYZ-unset}"`), "oci:"+layout+":bb")
	if code != 0 || out != "from-file|flag,with,commas|host value|unset\n" {
		t.Errorf("run -e: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	_, errOut, code = run(t, nil, "run", "--entrypoint", sh("exit 5"), "oci:"+layout+":bb")
	if code != 5 || strings.Contains(errOut, "inspecting") {
		t.Errorf("exit 5: exit %d, stderr %q; want 5 and no explanation", code, errOut)
	}
	_, errOut, code = run(t, nil, "run", "--entrypoint", sh(`echo "cannot resolve /home/app: lstat /home/app: no such file or directory" >&2; exit 3`), "oci:"+layout+":bb")
	if code != 3 || !strings.Contains(errOut, "inspecting it in the image:\n  ✗ the image has no /home/app, which the program's output names") {
		t.Errorf("a missing path: exit %d, stderr %q", code, errOut)
	}
}

// TestRunArgs: what follows -- is the program's, exactly, also when it
// looks like a flag; flags may come after IMAGE; a second IMAGE-like word
// says where arguments go.
func TestRunArgs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skipf("SKIP (requires root): running images as root (euid %d)", os.Geteuid())
	}
	layout := filepath.Join(t.TempDir(), "layout")
	testenv.WriteOCILayout(t, testenv.BusyboxGlibcImage(t), layout, "bb")
	img := "oci:" + layout + ":bb"
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"after --", []string{"run", "--entrypoint", "/bin/echo", img, "--", "a", "b"}, "a b\n"},
		{"flag-like arguments", []string{"run", "--entrypoint", "/bin/echo", img, "--", "-n", "--x", "--", "y"}, "--x -- y"},
		{"flags after IMAGE", []string{"run", img, "--entrypoint", "/bin/sh", "--", "-c", "echo ok"}, "ok\n"},
		{"README: sh -c", []string{"run", "--entrypoint", "sh", img, "--", "-c", "ls /"}, "bin\ndev\netc\nlib\nlib64\nproc\nroot\ntmp\nusr\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := run(t, nil, tc.args...)
			if code != 0 || out != tc.want {
				t.Errorf("scratchpack %s: exit %d, stdout %q, want %q; stderr %s", strings.Join(tc.args, " "), code, out, tc.want, errOut)
			}
		})
	}
	_, errOut, code := run(t, nil, "run", img, "a", "b")
	if code != exitRunFailed || !strings.Contains(errOut, "-- a b") {
		t.Errorf("run IMAGE a b: exit %d, stderr %q; want %d and a hint to put a b after --", code, errOut, exitRunFailed)
	}
}
