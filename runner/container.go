package runner

import (
	"io"
	"os"
	"os/exec"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// container is a started program, whichever runtime started it.
type container interface {
	// Signal forwards sig to the program.
	Signal(sig os.Signal) error
	// Kill kills the program and everything in its namespaces.
	Kill() error
	// Wait returns the program's exit code (128+N when signal N killed
	// it), or a *StartError when it could not be started.
	Wait() (int, error)
	// Close releases what the runtime holds for the container.
	Close() error
}

// StartError says that the program could not be started at all: not found,
// not executable, or for an architecture the kernel cannot run.
type StartError struct {
	Msg  string
	Code int // 127 not found, 126 cannot execute
}

func (e *StartError) Error() string { return e.Msg }

// startLocked starts cmd, which the kernel sends deathSig if scratchpack
// dies first, and waits for it in a goroutine locked to its OS thread,
// closing done when it has exited. PR_SET_PDEATHSIG fires when the thread
// that started the child exits, and the Go runtime may end idle threads:
// the locked thread lives exactly as long as the child.
func startLocked(cmd *exec.Cmd, deathSig syscall.Signal, done chan struct{}, waitErr *error) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = deathSig
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			close(done)
			return
		}
		started <- nil
		*waitErr = cmd.Wait()
		close(done)
	}()
	return <-started
}

// exitStatus is the shell's view of how a process ended.
func exitStatus(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// stdin returns what to give a child as standard input. A terminal is not
// passed on as it is: the child runs in its own process group, and a
// background group that reads a terminal is stopped (SIGTTIN); a pipe that
// scratchpack fills from the terminal is given instead.
func stdin(r io.Reader) io.Reader {
	f, ok := r.(*os.File)
	if !ok {
		return r
	}
	if _, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS); err == nil {
		return struct{ io.Reader }{f}
	}
	return f
}
