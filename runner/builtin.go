package runner

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// initConfig is what the builtin runtime tells its init, on file
// descriptor 3.
type initConfig struct {
	Rootfs  string  `json:"rootfs"`
	Process process `json:"process"`
	NewNet  bool    `json:"new_net"`
	UserNS  bool    `json:"user_ns"`
	// Binds are host files to mount in the root (the host's network files).
	Binds []bindMount `json:"binds,omitempty"`
}

// initMessage is one line the init writes on file descriptor 4 before it
// executes the program: warnings, then possibly an error. The descriptor
// closes on exec, so end of file without an error means the program runs.
type initMessage struct {
	Warning string `json:"warning,omitempty"`
	Error   string `json:"error,omitempty"`
	Code    int    `json:"code,omitempty"`
	// Exec is the init's last message before it executes the program:
	// where the descriptor does not close on exec, because a program
	// wrapping the init (strace) holds it too, it ends the messages.
	Exec bool `json:"exec,omitempty"`
}

// builtinContainer is the program started in namespaces made by
// scratchpack: its init process, after exec.
type builtinContainer struct {
	cmd     *exec.Cmd
	done    chan struct{}
	waitErr error
	start   *StartError // from the init
}

// ambientCaps are what an unprivileged init needs in its user namespace to
// mount, pivot the root and bring up loopback; it drops them before exec.
var ambientCaps = []uintptr{unix.CAP_SYS_ADMIN, unix.CAP_SYS_CHROOT, unix.CAP_NET_ADMIN}

func startBuiltin(ctx context.Context, o *options, w *workspace, p *process) (container, error) {
	argv := o.initCmd
	if argv == nil {
		self, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("finding scratchpack's own executable for the container's init: %w", err)
		}
		argv = []string{self, InitCommand}
	}
	cfgR, cfgW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer cfgW.Close()
	msgR, msgW, err := os.Pipe()
	if err != nil {
		cfgR.Close()
		return nil, err
	}
	defer msgR.Close()

	c := &builtinContainer{done: make(chan struct{})}
	c.cmd = exec.Command(argv[0], argv[1:]...)
	c.cmd.Env = []string{}
	c.cmd.ExtraFiles = []*os.File{cfgR, msgW}
	c.cmd.Stdin, c.cmd.Stdout, c.cmd.Stderr = stdin(o.stdin), o.stdout, o.stderr
	c.cmd.WaitDelay = 2 * time.Second
	cfg := initConfig{Rootfs: w.rootfs, Process: *p, NewNet: !o.hostNet, Binds: o.binds}
	attr := &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWPID | syscall.CLONE_NEWUTS | syscall.CLONE_NEWIPC,
		Setpgid:    true, // see runcContainer: scratchpack forwards a terminal's ^C itself
	}
	if cfg.NewNet {
		attr.Cloneflags |= syscall.CLONE_NEWNET
	}
	if os.Geteuid() != 0 {
		// One id each way: the image's user is this user.
		cfg.UserNS = true
		attr.Cloneflags |= syscall.CLONE_NEWUSER
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: int(p.UID), HostID: os.Geteuid(), Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: int(p.GID), HostID: os.Getegid(), Size: 1}}
		attr.GidMappingsEnableSetgroups = false
		attr.Credential = &syscall.Credential{Uid: p.UID, Gid: p.GID, NoSetGroups: true}
		attr.AmbientCaps = ambientCaps
		if len(p.Groups) > 0 {
			o.warn("supplementary groups are not set in a user namespace without root")
			cfg.Process.Groups = nil
		}
	}
	c.cmd.SysProcAttr = attr
	// The init is PID 1 of its namespace: when it dies, so does all in it.
	err = startLocked(c.cmd, syscall.SIGKILL, c.done, &c.waitErr)
	cfgR.Close()
	msgW.Close()
	if err != nil {
		return nil, namespaceError(err, cfg.UserNS)
	}
	if err := json.NewEncoder(cfgW).Encode(cfg); err != nil {
		_ = c.Kill()
		return nil, fmt.Errorf("sending the container's configuration to its init: %w", err)
	}
	cfgW.Close()
	sc := bufio.NewScanner(msgR)
	for sc.Scan() {
		var m initMessage
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			continue
		}
		if m.Warning != "" {
			o.warn(m.Warning)
		}
		if m.Error != "" {
			c.start = &StartError{Msg: m.Error, Code: m.Code}
		}
		if m.Exec && o.heldInit {
			break // the program runs; an exec that fails now shows as exit status 126 or 127
		}
	}
	return c, nil
}

// namespaceError explains a failure to create the namespaces.
func namespaceError(err error, userNS bool) error {
	if !errors.Is(err, syscall.EPERM) && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOSPC) {
		return fmt.Errorf("starting the container's init: %w", err)
	}
	if userNS {
		return fmt.Errorf("this kernel does not let an unprivileged user make a user namespace (%w): run scratchpack run as root, "+
			"or allow it (sysctl kernel.unprivileged_userns_clone=1 on Debian kernels, user.max_user_namespaces > 0, "+
			"kernel.apparmor_restrict_unprivileged_userns=0 on Ubuntu)", err)
	}
	return fmt.Errorf("the kernel refused to make new namespaces (%w): scratchpack may itself be confined (a container without "+
		"CAP_SYS_ADMIN, a seccomp profile); use the runc runtime where runc works, or run it on the host", err)
}

func (c *builtinContainer) Signal(sig os.Signal) error { return c.cmd.Process.Signal(sig) }

// Kill sends SIGKILL to the init (the program): PID 1 of its namespace
// takes every other process in it along.
func (c *builtinContainer) Kill() error {
	err := c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.done
	if errors.Is(err, os.ErrProcessDone) {
		return nil
	}
	return err
}

func (c *builtinContainer) Wait() (int, error) {
	<-c.done
	if c.cmd.ProcessState == nil {
		return 0, c.waitErr
	}
	if c.start != nil {
		return c.start.Code, c.start
	}
	return exitStatus(c.cmd.ProcessState), nil
}

func (c *builtinContainer) Close() error { return nil }
