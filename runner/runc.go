package runner

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// defaultCaps are the capabilities Docker and runc give a container.
var defaultCaps = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
	"CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// runtimeSpec is the OCI runtime configuration (config.json) for p: the
// default namespaces, with a network namespace unless hostNet, a writable
// root, /proc, a small /dev, Docker's capabilities and masked paths, and no
// devices but the defaults.
func runtimeSpec(p *process, hostNet bool) *specs.Spec {
	ns := []specs.LinuxNamespace{{Type: specs.PIDNamespace}, {Type: specs.IPCNamespace}, {Type: specs.UTSNamespace}, {Type: specs.MountNamespace}}
	if !hostNet {
		ns = append(ns, specs.LinuxNamespace{Type: specs.NetworkNamespace})
	}
	return &specs.Spec{
		Version: "1.0.2",
		Process: &specs.Process{
			User: specs.User{UID: p.UID, GID: p.GID, AdditionalGids: p.Groups},
			Args: p.Args,
			Env:  p.Env,
			Cwd:  p.Cwd,
			Capabilities: &specs.LinuxCapabilities{
				Bounding: defaultCaps, Effective: defaultCaps, Permitted: defaultCaps,
			},
		},
		Root:     &specs.Root{Path: "rootfs"},
		Hostname: p.Hostname,
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}},
			{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
		},
		Linux: &specs.Linux{
			Namespaces:    ns,
			MaskedPaths:   maskedPaths,
			ReadonlyPaths: readonlyPaths,
			// No device but runc's defaults (null, zero, full, tty, random, urandom).
			Resources: &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}},
		},
	}
}

// runcContainer is a container run by `runc run` in the foreground.
type runcContainer struct {
	runc, state, id, log string
	cmd                  *exec.Cmd
	done                 chan struct{}
	waitErr              error
}

func startRunc(ctx context.Context, o *options, w *workspace, p *process) (container, error) {
	spec := runtimeSpec(p, o.hostNet)
	spec.Mounts = append(spec.Mounts, runcMounts(o.binds)...)
	b, err := json.MarshalIndent(spec, "", "\t")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(w.bundle, "config.json"), b, 0o644); err != nil {
		return nil, err
	}
	c := &runcContainer{runc: o.runc, state: w.state, id: filepath.Base(w.dir), log: filepath.Join(w.dir, "runc.log"), done: make(chan struct{})}
	c.cmd = exec.Command(o.runc, "--root", w.state, "--log", c.log, "--log-format", "json", "run", "--bundle", w.bundle, c.id)
	c.cmd.Dir = w.bundle
	c.cmd.Stdin, c.cmd.Stdout, c.cmd.Stderr = stdin(o.stdin), o.stdout, o.stderr
	// Its own process group: a terminal's ^C reaches scratchpack, which
	// forwards it once, and not runc (which would forward it again).
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c.cmd.WaitDelay = 2 * time.Second
	// runc reads NOTIFY_SOCKET and LISTEN_FDS; a service manager's would confuse it.
	c.cmd.Env = filterEnv(os.Environ(), "NOTIFY_SOCKET=", "LISTEN_FDS=", "LISTEN_PID=")
	// Should scratchpack die, runc forwards the SIGTERM to the program, and
	// deletes the container when it exits (a SIGKILL would leave it running).
	if err := startLocked(c.cmd, syscall.SIGTERM, c.done, &c.waitErr); err != nil {
		return nil, fmt.Errorf("starting %s: %w", o.runc, err)
	}
	return c, nil
}

// Signal sends sig to runc, which forwards it to the container's process.
func (c *runcContainer) Signal(sig os.Signal) error { return c.cmd.Process.Signal(sig) }

// Kill kills the container's processes, then runc if it is still there.
func (c *runcContainer) Kill() error {
	err := exec.Command(c.runc, "--root", c.state, "kill", c.id, "KILL").Run()
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		_ = c.cmd.Process.Kill()
	}
	return err
}

// Wait waits for runc to exit and returns the container's exit code, or a
// *StartError when runc could not start the program.
func (c *runcContainer) Wait() (int, error) {
	<-c.done
	if c.cmd.ProcessState == nil {
		return 0, c.waitErr
	}
	code := exitStatus(c.cmd.ProcessState)
	if msg := runcFailure(c.log); msg != "" {
		se := &StartError{Msg: msg, Code: startCode(msg)}
		return se.Code, se
	}
	return code, nil
}

// Close deletes the container if runc still knows it.
func (c *runcContainer) Close() error {
	if _, err := os.Stat(filepath.Join(c.state, c.id)); err != nil {
		return nil
	}
	if out, err := exec.Command(c.runc, "--root", c.state, "delete", "--force", c.id).CombinedOutput(); err != nil {
		return fmt.Errorf("runc delete %s: %v: %s", c.id, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// runcFailure returns the message of runc's own failure ("runc run failed:
// unable to start container process: ..."), from its JSON log.
func runcFailure(log string) string {
	f, err := os.Open(log)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	msg := ""
	for sc.Scan() {
		var e struct{ Level, Msg string }
		if json.Unmarshal(sc.Bytes(), &e) == nil && (e.Level == "error" || e.Level == "fatal") && strings.HasPrefix(e.Msg, "runc run failed") {
			msg = e.Msg
		}
	}
	return msg
}

// startCode is the exit code for runc's failure msg: 127 when the program
// was not found, 126 when it could not be executed (as the shell and docker
// run report them), and 125 when runc failed before it came to the program
// (an environment, a working directory or a mount it refused).
func startCode(msg string) int {
	// runc says `exec: "PROG": ...` or `exec PROG: ...` of the program.
	i := strings.Index(msg, "exec: ")
	if i < 0 {
		i = strings.Index(msg, "exec /")
	}
	isExec := i >= 0
	execErr := ""
	if isExec {
		execErr = msg[i:]
	}
	switch {
	case strings.Contains(msg, "executable file not found"), isExec && strings.Contains(execErr, "no such file or directory"):
		return 127
	case isExec:
		return 126
	}
	return 125
}

func filterEnv(env []string, prefixes ...string) []string {
	var out []string
next:
	for _, kv := range env {
		for _, p := range prefixes {
			if strings.HasPrefix(kv, p) {
				continue next
			}
		}
		out = append(out, kv)
	}
	return out
}
