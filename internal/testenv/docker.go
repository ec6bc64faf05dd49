package testenv

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

const (
	dockerdStartTimeout = 60 * time.Second
	dockerdStopGrace    = 20 * time.Second
	dockerCommandLimit  = 5 * time.Minute
)

// DockerDaemon is a private dockerd with its own socket, data root, exec
// root and managed containerd, so it never touches a system daemon.
type DockerDaemon struct {
	// Host is the daemon's address for DOCKER_HOST: unix://<dir>/docker.sock.
	Host string
	// CLI is the docker client binary that Docker runs.
	CLI string

	env []string
}

// Dockerd starts a private dockerd (no iptables, no bridge, no IP
// forwarding changes) under a temporary directory and waits up to 60s until
// `docker info` succeeds against it. When the test ends it stops dockerd by
// its pid (SIGTERM, then SIGKILL after 20s), kills any containerd or shim it
// left behind, unmounts everything under its directory and removes it.
// Dockerd skips the test when not root, in CI too.
func Dockerd(t testing.TB) *DockerDaemon {
	t.Helper()
	requireRoot(t, "dockerd")
	dockerd := tool(t, "dockerd", "docker.io")
	cli := dockerCLI(t, dockerd)

	// Not t.TempDir: unix socket paths are limited to 108 bytes and
	// containerd's live under <exec-root>/containerd/.
	root, err := os.MkdirTemp("", "spk-dockerd-")
	if err != nil {
		t.Fatalf("creating the dockerd directory: %v", err)
	}
	if root, err = filepath.EvalSymlinks(root); err != nil { // as mountinfo shows it
		t.Fatalf("resolving the dockerd directory: %v", err)
	}
	sock := filepath.Join(root, "docker.sock")
	logPath := filepath.Join(root, "dockerd.log")
	d := &DockerDaemon{
		Host: "unix://" + sock,
		CLI:  cli,
		env: cleanEnv([]string{"DOCKER_"},
			"DOCKER_HOST=unix://"+sock,
			"DOCKER_CONFIG="+filepath.Join(root, "cli-config")),
	}

	// An explicit config file keeps /etc/docker/daemon.json out; before
	// Docker 25 it also moves the libtrust key out of /etc/docker.
	daemonConfig := map[string]any{}
	if major := dockerdMajor(dockerd); major > 0 && major < 25 {
		daemonConfig["deprecated-key-path"] = filepath.Join(root, "key.json")
	}
	configJSON, err := json.Marshal(daemonConfig)
	if err != nil {
		t.Fatalf("encoding daemon.json: %v", err)
	}
	writeFile(t, filepath.Join(root, "daemon.json"), string(configJSON)+"\n")

	ns := "spk-" + filepath.Base(root)
	args := []string{
		"--config-file", filepath.Join(root, "daemon.json"),
		"--host", d.Host,
		"--data-root", filepath.Join(root, "data"),
		"--exec-root", filepath.Join(root, "exec"),
		"--pidfile", filepath.Join(root, "docker.pid"),
		"--iptables=false", "--ip-forward=false", "--ip-masq=false", "--bridge=none",
		// If a system containerd is running dockerd uses it instead of
		// starting its own; private namespaces keep the two apart.
		"--containerd-namespace", ns,
		"--containerd-plugins-namespace", ns + "-plugins",
	}
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatalf("creating the dockerd log: %v", err)
	}
	defer logFile.Close()
	cmd := exec.Command(dockerd, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = cleanEnv([]string{"DOCKER_", "NOTIFY_SOCKET="})
	// Its own process group: a terminal's ^C reaches the test binary, whose
	// cleanup or deadman then stops dockerd.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p, err := start(cmd, 0)
	if err != nil {
		os.RemoveAll(root)
		t.Fatalf("starting %s: %v", dockerd, err)
	}
	// If the test binary dies without its cleanups, one SIGTERM (dockerd
	// quits without cleaning up after three) lets dockerd stop its
	// containerd and unmount its data root itself.
	disarm, err := deadman(`kill -TERM "$1"`, strconv.Itoa(cmd.Process.Pid))
	if err != nil {
		_ = cmd.Process.Kill()
		t.Fatalf("starting the dockerd watcher: %v", err)
	}
	t.Cleanup(func() {
		disarm()
		stopDockerd(t, p, root, logPath)
	})

	if err := d.waitReady(p); err != nil {
		t.Fatalf("dockerd %s: %v\ndockerd log (%s):\n%s", strings.Join(args, " "), err, logPath, tail(logPath, 40))
	}
	return d
}

// Docker runs the docker CLI against the daemon and returns its standard
// output. The error, if any, includes the standard error.
func (d *DockerDaemon) Docker(t testing.TB, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), dockerCommandLimit)
	defer cancel()
	return d.run(ctx, args...)
}

func (d *DockerDaemon) run(ctx context.Context, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, d.CLI, args...)
	cmd.Env = d.env
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

func (d *DockerDaemon) waitReady(p *process) error {
	deadline := time.Now().Add(dockerdStartTimeout)
	var last error
	for time.Now().Before(deadline) {
		if p.exited() {
			return fmt.Errorf("exited during startup: %v", p.err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := d.run(ctx, "info")
		cancel()
		if err == nil {
			return nil
		}
		last = err
		time.Sleep(250 * time.Millisecond)
	}
	return fmt.Errorf("not ready within %v: %v", dockerdStartTimeout, last)
}

// dockerCLI prefers the client installed with dockerd (Debian's docker.io
// puts both in /usr), so the two versions match; else the docker in PATH.
func dockerCLI(t testing.TB, dockerd string) string {
	t.Helper()
	dir := filepath.Dir(dockerd)
	for _, p := range []string{filepath.Join(dir, "docker"), filepath.Join(filepath.Dir(dir), "bin", "docker")} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p
		}
	}
	return tool(t, "docker", "docker.io")
}

// dockerdMajor returns dockerd's major version, or 0 if unknown.
func dockerdMajor(dockerd string) int {
	out, err := exec.Command(dockerd, "--version").Output()
	if err != nil {
		return 0
	}
	// "Docker version 20.10.24+dfsg1, build 5d6db84"
	f := strings.Fields(string(out))
	if len(f) < 3 {
		return 0
	}
	major, err := strconv.Atoi(strings.SplitN(f[2], ".", 2)[0])
	if err != nil {
		return 0
	}
	return major
}

// stopDockerd stops dockerd and removes every trace of it under root.
func stopDockerd(t testing.TB, p *process, root, logPath string) {
	if p.stop(dockerdStopGrace) {
		t.Logf("dockerd (pid %d) did not stop within %v of SIGTERM and was killed", p.cmd.Process.Pid, dockerdStopGrace)
	}
	if t.Failed() {
		t.Logf("dockerd log (%s), last lines:\n%s", logPath, tail(logPath, 40))
	}
	if err := killStragglers(root); err != nil {
		t.Errorf("dockerd cleanup: %v", err)
	}
	if err := unmountUnder(root); err != nil {
		t.Errorf("dockerd cleanup: %v", err)
	}
	if err := os.RemoveAll(root); err != nil {
		t.Errorf("dockerd cleanup: %v", err)
	}
}

// killStragglers SIGKILLs the processes whose command line names root:
// the containerd and shims a killed dockerd leaves behind.
func killStragglers(root string) error {
	pids := processesMentioning(root)
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if len(processesMentioning(root)) == 0 {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	if left := processesMentioning(root); len(left) > 0 {
		return fmt.Errorf("processes %v still running after SIGKILL", left)
	}
	return nil
}

func processesMentioning(s string) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(cmdline, []byte(s)) {
			continue
		}
		// A zombie waiting for its parent is already dead.
		if stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil {
			if i := bytes.LastIndexByte(stat, ')'); i > 0 && bytes.HasPrefix(stat[i:], []byte(") Z")) {
				continue
			}
		}
		pids = append(pids, pid)
	}
	return pids
}

// unmountUnder detaches every mount at or below dir, deepest first.
func unmountUnder(dir string) error {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	defer f.Close()
	var mounts []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw"
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMountinfo(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			mounts = append(mounts, mp)
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	sort.Sort(sort.Reverse(sort.StringSlice(mounts)))
	var errs []string
	for _, mp := range mounts {
		if err := unix.Unmount(mp, unix.MNT_DETACH); err != nil && err != unix.EINVAL && err != unix.ENOENT {
			errs = append(errs, fmt.Sprintf("unmounting %s: %v", mp, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// unescapeMountinfo decodes the \ooo octal escapes of /proc/self/mountinfo.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
