package testenv

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// podmanTimeout bounds each podman command.
const podmanTimeout = 3 * time.Minute

// PodmanRun loads the OCI archive at archive (podman load) into a private
// containers/storage (its own --root and --runroot under a temporary
// directory, the vfs driver) and runs the image it holds, without network,
// returning what the container wrote on stdout. The storage is removed when
// the test ends. Explicit ulimits are given because podman's defaults
// (nofile 1048576) exceed the hard limits of some sandboxes. It skips the
// test when not root, in CI too.
func PodmanRun(t testing.TB, archive string) string {
	t.Helper()
	requireRoot(t, "podman")
	podman := tool(t, "podman", "podman")
	// Pinned: podman's default runtime on Debian is crun when installed,
	// and crun refuses hosts with a hybrid cgroup layout ("cgroups in
	// hybrid mode not supported"); runc runs everywhere the tests run.
	runc := tool(t, "runc", "runc")
	dir, err := os.MkdirTemp("", "spk-podman-")
	if err != nil {
		t.Fatalf("creating the podman directory: %v", err)
	}
	t.Cleanup(func() {
		// Storage that podman left mounted (not with vfs, but to be safe).
		if err := unmountUnder(dir); err != nil {
			t.Errorf("podman cleanup: %v", err)
		}
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("podman cleanup: %v", err)
		}
	})
	base := []string{"--root", filepath.Join(dir, "root"), "--runroot", filepath.Join(dir, "run"),
		"--storage-driver", "vfs", "--events-backend", "file", "--cgroup-manager", "cgroupfs", "--runtime", runc}
	run := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), podmanTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, podman, append(append([]string(nil), base...), args...)...)
		// No user or system configuration: CONTAINERS_CONF and friends
		// would point podman elsewhere.
		cmd.Env = cleanEnv([]string{"CONTAINERS_", "REGISTRIES_CONFIG_PATH="})
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("podman %s: %v\n%s", strings.Join(args, " "), exitDetail(err), stderr.String())
		}
		return stdout.String()
	}
	out := run("load", "-q", "-i", archive)
	// "Loaded image: localhost/NAME:TAG" or "Loaded image(s): sha256:..."
	_, ref, ok := strings.Cut(strings.TrimSpace(out), ": ")
	if !ok || ref == "" {
		t.Fatalf("podman load: cannot tell the image from %q", out)
	}
	return run("run", "--rm", "--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096", ref)
}
