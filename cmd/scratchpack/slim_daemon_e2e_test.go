package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

// TestSlimFromDockerDaemon: an image that Docker built itself (docker build
// FROM a busybox:glibc-shaped base, COPY of the C hello) is slimmed from
// the daemon through docker-daemon:, and the slim image runs without the
// base's shell.
func TestSlimFromDockerDaemon(t *testing.T) {
	prog := testenv.Fixture(t, "hello-c")
	d := testenv.Dockerd(t)
	dir := t.TempDir()
	base := filepath.Join(dir, "base.tar")
	testenv.WriteDockerSave(t, testenv.BusyboxGlibcImage(t), base, "local/busybox:glibc")
	if out, err := d.Docker(t, "load", "-i", base); err != nil {
		t.Fatalf("docker load: %v\n%s", err, out)
	}
	ctx := filepath.Join(dir, "ctx")
	if err := os.MkdirAll(ctx, 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(prog)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ctx, "hello-c"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	dockerfile := "FROM local/busybox:glibc\nCOPY hello-c /usr/local/bin/hello-c\nENTRYPOINT [\"/usr/local/bin/hello-c\"]\n"
	if err := os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := d.Docker(t, "build", "--network", "none", "-t", "local/fat:1", ctx); err != nil {
		t.Fatalf("docker build: %v\n%s", err, out)
	}

	env := []string{"DOCKER_HOST=" + d.Host}
	layout := filepath.Join(dir, "slim")
	_, stderr, code := run(t, env, "slim", "--no-cache", "-o", "oci:"+layout+":s", "docker-daemon:local/fat:1")
	t.Logf("scratchpack slim's report:\n%s", stderr)
	if code != 0 {
		t.Fatalf("slim docker-daemon:local/fat:1: exit %d", code)
	}
	rootfs := filepath.Join(testenv.UnpackOCI(t, layout, "s"), "rootfs")
	if _, err := os.Lstat(filepath.Join(rootfs, "bin/busybox")); err == nil {
		t.Errorf("the slim image kept the base's /bin/busybox")
	}
	if _, err := os.Stat(filepath.Join(rootfs, "usr/local/bin/hello-c")); err != nil {
		t.Errorf("the slim image lacks the program: %v", err)
	}
	if os.Geteuid() != 0 {
		t.Skipf("SKIP (requires root): running the slim image (euid %d)", os.Geteuid())
	}
	if out := mustRun(t, nil, "run", "oci:"+layout+":s"); !strings.Contains(out, "hello from C") {
		t.Errorf("the slim image printed %q", out)
	}
	// A program the image itself cannot start (the C++ hello on a base
	// without libstdc++): exit 3, said in the image's paths.
	cc, err := os.ReadFile(testenv.Fixture(t, "hello-cc"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ctx, "hello-c"), cc, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := d.Docker(t, "build", "--network", "none", "-t", "local/broken:1", ctx); err != nil {
		t.Fatalf("docker build: %v\n%s", err, out)
	}
	_, stderr, code = run(t, env, "slim", "-o", "oci:"+layout+":b", "docker-daemon:local/broken:1")
	if code != exitWontRun || !strings.Contains(stderr, "/usr/local/bin/hello-c would not start in the image") ||
		!strings.Contains(stderr, "libstdc++.so.6") || strings.Contains(stderr, os.TempDir()) {
		t.Errorf("slim of an image whose program cannot start: exit %d, want %d and the image's paths\n%s", code, exitWontRun, stderr)
	}
	// No such image in the daemon: exit 4, naming it.
	_, stderr, code = run(t, env, "slim", "-o", "oci:"+layout+":x", "docker-daemon:local/none:1")
	if code == 0 || !strings.Contains(stderr, "local/none:1") {
		t.Errorf("slim of an image the daemon lacks: exit %d\n%s", code, stderr)
	}
}
