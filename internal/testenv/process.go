package testenv

import (
	"bytes"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// process is a started child process whose exit is watched.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited and been reaped
	err  error         // the result of cmd.Wait, valid once done is closed
}

// start starts cmd; if deathSig is not 0, the kernel sends it to the child
// when the test binary dies without running its cleanups (a -timeout panic,
// a SIGKILL).
//
// PR_SET_PDEATHSIG fires when the thread that forked the child exits, not
// the process, and the Go runtime can end threads; so start and wait happen
// in one goroutine locked to its thread, which therefore lives exactly as
// long as the child. When the whole test binary dies the signal comes once
// per dying thread, so use it only with signals whose repetition is
// harmless (SIGKILL); see deadman for the others.
func start(cmd *exec.Cmd, deathSig syscall.Signal) (*process, error) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = deathSig
	p := &process{cmd: cmd, done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.err = cmd.Wait()
		close(p.done)
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return p, nil
}

// deadman starts a watcher that runs the shell script (with args as $1...)
// once if the test binary dies before the returned disarm is called: the
// watcher reads its standard input, a pipe that only this process holds
// open, and the kernel closes it however the process ends. disarm stops the
// watcher without running the script. The watcher has its own process group
// so a terminal's ^C does not kill it first.
func deadman(script string, args ...string) (disarm func(), err error) {
	cmd := exec.Command("/bin/sh", append([]string{"-c", "read -r _; " + script, "testenv-deadman"}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	w, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return func() {
		_ = cmd.Process.Kill() // before closing w, which would fire it
		_ = cmd.Wait()
		_ = w.Close() // also keeps w reachable, so no finalizer closes it early
	}, nil
}

// exited reports whether the process has already exited.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM, waits up to grace for the process to exit, then sends
// SIGKILL and waits for it. It reports whether SIGKILL was needed.
func (p *process) stop(grace time.Duration) (killed bool) {
	if p.exited() {
		return false
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return false
	case <-time.After(grace):
	}
	_ = p.cmd.Process.Kill()
	<-p.done
	return true
}

// tail returns the last n lines of the file at path, for error messages.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := strings.Split(string(bytes.TrimRight(b, "\n")), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// cleanEnv returns the environment without the variables whose names start
// with one of prefixes, plus extra.
func cleanEnv(prefixes []string, extra ...string) []string {
	var env []string
next:
	for _, kv := range os.Environ() {
		for _, p := range prefixes {
			if strings.HasPrefix(kv, p) {
				continue next
			}
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}
