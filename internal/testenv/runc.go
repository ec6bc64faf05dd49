package testenv

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runTimeout bounds one RunOCI container run.
const runTimeout = 2 * time.Minute

// UnpackOCI unpacks the image tagged tag (the only or untagged image if tag
// is empty) in the OCI layout at layoutDir into a new runtime bundle with
// umoci, and returns the bundle directory (rootfs/ and config.json). When
// not root it uses umoci --rootless.
func UnpackOCI(t testing.TB, layoutDir, tag string) string {
	t.Helper()
	umoci := tool(t, "umoci", "umoci")
	image := layoutDir
	if tag != "" {
		image += ":" + tag
	}
	bundle := filepath.Join(t.TempDir(), "bundle")
	args := []string{"unpack"}
	if os.Geteuid() != 0 {
		args = append(args, "--rootless")
	}
	args = append(args, "--image", image, bundle)
	if out, err := exec.Command(umoci, args...).CombinedOutput(); err != nil {
		t.Fatalf("umoci %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return bundle
}

// RunOCI runs the image tagged tag in the OCI layout at layoutDir with runc
// and returns what the container wrote and its exit code. The image is
// unpacked with umoci; the bundle's config.json is changed only to turn the
// terminal off and, if args are given, to replace process.args (the
// image's entrypoint and command). The container gets umoci's default
// namespaces, including an empty network namespace. runc's own errors (such
// as "exec format error" when the entry point cannot start) appear on stderr
// with a non-zero exit code.
//
// Each run has its own runc --root state directory and a unique container
// id, so parallel tests do not collide. The container is deleted (runc
// delete --force) and the bundle removed when the test ends. RunOCI skips
// the test when not root, in CI too.
func RunOCI(t testing.TB, layoutDir, tag string, args ...string) (stdout, stderr string, exitCode int) {
	t.Helper()
	requireRoot(t, "runc")
	runc := tool(t, "runc", "runc")
	bundle := UnpackOCI(t, layoutDir, tag)
	editBundleConfig(t, filepath.Join(bundle, "config.json"), args)

	state := t.TempDir()
	id := containerID()
	// If the test binary dies, runc run gets SIGKILL and the watcher kills
	// and deletes the container it would leave running.
	disarm, err := deadman(`"$1" --root "$2" delete --force "$3" >/dev/null 2>&1`, runc, state, id)
	if err != nil {
		t.Fatalf("starting the runc watcher: %v", err)
	}
	t.Cleanup(func() {
		disarm()
		deleteContainer(t, runc, state, id)
	})

	var outBuf, errBuf bytes.Buffer
	cmd := exec.Command(runc, "--root", state, "run", "--bundle", bundle, id)
	cmd.Dir = bundle
	cmd.Stdout, cmd.Stderr = &outBuf, &errBuf
	cmd.Env = cleanEnv([]string{"NOTIFY_SOCKET=", "LISTEN_FDS=", "LISTEN_PID="})
	cmd.WaitDelay = 5 * time.Second
	p, err := start(cmd, syscall.SIGKILL)
	if err != nil {
		t.Fatalf("starting %s: %v", runc, err)
	}
	select {
	case <-p.done:
	case <-time.After(runTimeout):
		_ = cmd.Process.Kill()
		<-p.done
		t.Fatalf("runc run %s did not finish within %v; stdout:\n%s\nstderr:\n%s", id, runTimeout, outBuf.String(), errBuf.String())
	}
	if p.err != nil && cmd.ProcessState == nil {
		t.Fatalf("runc run %s: %v", id, p.err)
	}
	return outBuf.String(), errBuf.String(), cmd.ProcessState.ExitCode()
}

// editBundleConfig makes the smallest change to umoci's config.json: no
// terminal, and args as process.args if any. Unknown fields are kept.
func editBundleConfig(t testing.TB, path string, args []string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading runtime config: %v", err)
	}
	var spec map[string]any
	if err := json.Unmarshal(b, &spec); err != nil {
		t.Fatalf("parsing %s: %v", path, err)
	}
	proc, ok := spec["process"].(map[string]any)
	if !ok {
		t.Fatalf("%s: no process object", path)
	}
	proc["terminal"] = false
	if len(args) > 0 {
		proc["args"] = args
	}
	if b, err = json.MarshalIndent(spec, "", "\t"); err != nil {
		t.Fatalf("encoding %s: %v", path, err)
	}
	writeFile(t, path, string(b)+"\n")
}

// containerID returns a container id unique across parallel tests and
// concurrent test binaries.
func containerID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return fmt.Sprintf("scratchpack-testenv-%d-%s", os.Getpid(), hex.EncodeToString(b))
}

// deleteContainer force-deletes the container if runc still knows it (runc
// run deletes it itself when the container exits normally).
func deleteContainer(t testing.TB, runc, state, id string) {
	if _, err := os.Stat(filepath.Join(state, id)); err != nil {
		return
	}
	if out, err := exec.Command(runc, "--root", state, "delete", "--force", id).CombinedOutput(); err != nil {
		t.Errorf("runc delete --force %s: %v\n%s", id, err, out)
	}
}
