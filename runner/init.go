package runner

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// InitCommand is the argument with which the builtin runtime starts
// scratchpack again as the container's init (see Init and WithInit).
const InitCommand = "__init"

// Init is the container's init of the builtin runtime, in the new
// namespaces: it mounts /proc and a small /dev inside the root, makes the
// root its own (pivot_root, or chroot where that fails), takes the image's
// user, and executes the program. It returns only if that fails, with the
// exit code to use (127: not found, 126: cannot execute), having told the
// parent why. A command that calls Init must do nothing else first.
func Init() int {
	var st unix.Stat_t
	if unix.Fstat(3, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO || unix.Fstat(4, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
		fmt.Fprintln(os.Stderr, "scratchpack "+InitCommand+" is the container init of scratchpack run, not a command to use")
		return 125
	}
	cfgFile, msgFile := os.NewFile(3, "init-config"), os.NewFile(4, "init-messages")
	syscall.CloseOnExec(4)
	enc := json.NewEncoder(msgFile)
	fail := func(code int, format string, args ...any) int {
		_ = enc.Encode(initMessage{Error: fmt.Sprintf(format, args...), Code: code})
		return code
	}
	var cfg initConfig
	err := json.NewDecoder(cfgFile).Decode(&cfg)
	cfgFile.Close()
	if err != nil {
		return fail(125, "reading the container's configuration: %v", err)
	}
	warn := func(msg string) { _ = enc.Encode(initMessage{Warning: msg}) }
	if err := setupRoot(cfg, warn); err != nil {
		return fail(125, "setting up the container: %v", err)
	}
	p := cfg.Process
	if err := os.Chdir(p.Cwd); err != nil {
		return fail(125, "changing to the working directory %s: %v", p.Cwd, err)
	}
	if err := takeUser(cfg); err != nil {
		return fail(125, "taking the image's user %d:%d: %v", p.UID, p.GID, err)
	}
	prog, err := lookPath(p.Args[0], envPath(p.Env))
	if err != nil {
		return fail(127, "exec: %q: %v", p.Args[0], err)
	}
	_ = enc.Encode(initMessage{Exec: true})
	err = unix.Exec(prog, p.Args, p.Env)
	code := 126
	if errors.Is(err, unix.ENOENT) {
		code = 127
	}
	return fail(code, "exec %s: %v", prog, err)
}

// setupRoot mounts /proc and /dev in the root and makes it the process's
// root directory.
func setupRoot(cfg initConfig, warn func(string)) error {
	// Nothing mounted here may reach the host's mount namespace.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making mounts private: %w", err)
	}
	root := cfg.Rootfs
	if err := unix.Mount(root, root, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind-mounting the root: %w", err)
	}
	if err := unix.Mount("proc", filepath.Join(root, "proc"), "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		warn(fmt.Sprintf("the container has no /proc: mounting it failed: %v", err))
	} else if !cfg.UserNS {
		// Root in the container is root on the host: keep it from the
		// host's kernel settings, as runc's masked and read-only paths do.
		if err := protectProc(root); err != nil {
			return fmt.Errorf("protecting /proc: %w", err)
		}
	}
	if err := mountDev(filepath.Join(root, "dev")); err != nil {
		return fmt.Errorf("making /dev: %w", err)
	}
	if err := mountBinds(root, cfg.Binds, warn); err != nil {
		return err
	}
	if err := unix.Sethostname([]byte(cfg.Process.Hostname)); err != nil {
		warn(fmt.Sprintf("setting the host name: %v", err))
	}
	if cfg.NewNet {
		if err := loopbackUp(); err != nil {
			warn(fmt.Sprintf("the loopback interface is down: %v", err))
		}
	}
	if !cfg.UserNS {
		if err := dropBounding(); err != nil {
			return fmt.Errorf("limiting capabilities: %w", err)
		}
	}
	if err := pivotRoot(root); err != nil {
		warn(fmt.Sprintf("pivot_root failed (%v); using chroot", err))
		if err := unix.Chroot(root); err != nil {
			return fmt.Errorf("chroot %s: %w", root, err)
		}
	}
	return os.Chdir("/")
}

// maskedPaths are hidden and readonlyPaths made read-only in the
// container's /proc (the lists of runtimeSpec, as Docker has them).
var (
	maskedPaths = []string{"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
		"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi"}
	readonlyPaths = []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}
)

// protectProc masks and write-protects what root in the container must not
// reach in /proc under root.
func protectProc(root string) error {
	for _, p := range readonlyPaths {
		target := filepath.Join(root, p)
		if _, err := os.Lstat(target); err != nil {
			continue
		}
		if err := unix.Mount(target, target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return err
		}
		if err := unix.Mount("", target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
			return err
		}
	}
	for _, p := range maskedPaths {
		target := filepath.Join(root, p)
		fi, err := os.Lstat(target)
		if err != nil {
			continue
		}
		if fi.IsDir() {
			err = unix.Mount("tmpfs", target, "tmpfs", unix.MS_RDONLY, "size=0")
		} else {
			err = unix.Mount("/dev/null", target, "", unix.MS_BIND, "")
		}
		if err != nil {
			return fmt.Errorf("masking %s: %w", p, err)
		}
	}
	return nil
}

// pivotRoot makes root the root of the mount namespace and detaches the
// old one, as runc does.
func pivotRoot(root string) error {
	if err := os.Chdir(root); err != nil {
		return err
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return err
	}
	return unix.Unmount(".", unix.MNT_DETACH)
}

// devices are bind-mounted from the host's /dev, which works in a user
// namespace too, where mknod does not.
var devices = []string{"null", "zero", "full", "random", "urandom", "tty"}

func mountDev(dev string) error {
	if err := unix.Mount("tmpfs", dev, "tmpfs", unix.MS_NOSUID|unix.MS_STRICTATIME, "mode=755,size=65536k"); err != nil {
		return err
	}
	for _, d := range devices {
		p := filepath.Join(dev, d)
		f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o666)
		if err != nil {
			return err
		}
		f.Close()
		if err := unix.Mount("/dev/"+d, p, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind-mounting /dev/%s: %w", d, err)
		}
	}
	for link, target := range map[string]string{"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1",
		"stderr": "/proc/self/fd/2", "ptmx": "pts/ptmx"} {
		if err := os.Symlink(target, filepath.Join(dev, link)); err != nil {
			return err
		}
	}
	shm := filepath.Join(dev, "shm")
	if err := os.Mkdir(shm, 0o1777); err != nil {
		return err
	}
	return unix.Mount("shm", shm, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=1777,size=65536k")
}

// loopbackUp brings up lo in the new network namespace.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}

// dropBounding limits the capabilities the program can ever have to
// Docker's default set, without CAP_MKNOD: no device cgroup keeps the
// builtin runtime's root from making and opening the host's disks.
func dropBounding() error {
	last := 40
	if b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap"); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			last = n
		}
	}
	keep := map[string]bool{}
	for _, c := range defaultCaps {
		keep[c] = c != "CAP_MKNOD"
	}
	for c := 0; c <= last; c++ {
		if keep[capNames[c]] {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil && !errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("dropping capability %d: %w", c, err)
		}
	}
	return nil
}

// capNames are the names of the capabilities in defaultCaps, by number.
var capNames = map[int]string{
	unix.CAP_CHOWN: "CAP_CHOWN", unix.CAP_DAC_OVERRIDE: "CAP_DAC_OVERRIDE", unix.CAP_FSETID: "CAP_FSETID",
	unix.CAP_FOWNER: "CAP_FOWNER", unix.CAP_MKNOD: "CAP_MKNOD", unix.CAP_NET_RAW: "CAP_NET_RAW",
	unix.CAP_SETGID: "CAP_SETGID", unix.CAP_SETUID: "CAP_SETUID", unix.CAP_SETFCAP: "CAP_SETFCAP",
	unix.CAP_SETPCAP: "CAP_SETPCAP", unix.CAP_NET_BIND_SERVICE: "CAP_NET_BIND_SERVICE",
	unix.CAP_SYS_CHROOT: "CAP_SYS_CHROOT", unix.CAP_KILL: "CAP_KILL", unix.CAP_AUDIT_WRITE: "CAP_AUDIT_WRITE",
}

// takeUser becomes the image's user. In a user namespace the init already
// is (see startBuiltin) and only drops the capabilities it was lent.
func takeUser(cfg initConfig) error {
	p := cfg.Process
	if cfg.UserNS {
		if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
			return err
		}
	} else {
		groups := make([]int, len(p.Groups))
		for i, g := range p.Groups {
			groups[i] = int(g)
		}
		if err := syscall.Setgroups(groups); err != nil {
			return err
		}
		if err := syscall.Setgid(int(p.GID)); err != nil {
			return err
		}
		if err := syscall.Setuid(int(p.UID)); err != nil {
			return err
		}
	}
	// A change of credentials clears the parent-death signal; set it again.
	return unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0)
}

// lookPath finds name as execvp would, in the directories of PATH, inside
// the new root; a name with a slash is used as it is.
func lookPath(name string, dirs []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	for _, d := range dirs {
		if d == "" {
			d = "."
		}
		p := path.Join(d, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", errors.New("executable file not found in $PATH")
}
