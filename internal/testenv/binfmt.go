package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// binfmtDir is where the kernel's binfmt_misc file system is mounted.
const binfmtDir = "/proc/sys/fs/binfmt_misc"

// binfmtConfDir holds qemu-user-static's registrations, one file per
// architecture, in the kernel's register format.
const binfmtConfDir = "/usr/lib/binfmt.d"

// binfmtUnregisterWait bounds how long the test that registered an emulator
// waits, when it ends, for other tests still using it.
const binfmtUnregisterWait = 10 * time.Minute

// QemuBinfmt makes the kernel run programs of arch (qemu's name: aarch64,
// arm, riscv64, ppc64le, s390x, i386, x86_64) with qemu-user-static through
// binfmt_misc, inside containers too: the registration has the F flag, so
// the kernel opens the emulator when it is registered and the container's
// root file system need not hold it.
//
// It returns nil when the emulator is registered with the F flag: already
// (by the system, or by another test in any process) or by this call. What
// this call registered it unregisters when the test ends, and only then: it
// waits (up to 10 minutes) until no other test in any process that called
// QemuBinfmt for arch still uses it, through a shared flock on a file in
// /run/lock. It never changes a registration it did not make.
//
// It returns an error that says why when the kernel does not allow it: not
// root, binfmt_misc cannot be mounted, the kernel refuses the registration,
// or an existing one lacks the F flag. The caller then says so loudly and
// checks what it can without running the program. A missing qemu-user-static
// is a missing component (the test is skipped loudly, or fails with CI=true).
// binfmt_misc is mounted if it is not, and left mounted.
func QemuBinfmt(t testing.TB, arch string) error {
	t.Helper()
	name := "qemu-" + arch
	line, err := os.ReadFile(filepath.Join(binfmtConfDir, name+".conf"))
	if err != nil {
		missing(t, "no binfmt_misc registration for %s in %s (install the Debian package qemu-user-static): %v", arch, binfmtConfDir, err)
		return err
	}
	reg, err := parseBinfmt(strings.TrimSpace(string(line)))
	if err != nil {
		t.Fatalf("%s/%s.conf: %v", binfmtConfDir, name, err)
	}
	if _, err := os.Stat(reg.interpreter); err != nil {
		missing(t, "the emulator %s is missing (install the Debian package qemu-user-static): %v", reg.interpreter, err)
		return err
	}
	if !strings.Contains(reg.flags, "F") {
		reg.flags += "F"
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("registering %s with binfmt_misc needs root (euid is %d)", name, os.Geteuid())
	}
	if err := mountBinfmt(); err != nil {
		return err
	}
	if status, err := os.ReadFile(filepath.Join(binfmtDir, "status")); err == nil && strings.TrimSpace(string(status)) != "enabled" {
		return fmt.Errorf("binfmt_misc is %s on this machine (echo 1 > %s/status enables it)", strings.TrimSpace(string(status)), binfmtDir)
	}

	lock, err := lockBinfmt(name)
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		state, err := binfmtState(name)
		switch {
		case err != nil:
			lock.Close()
			return err
		case state.present && state.enabled && strings.Contains(state.flags, "F"):
			t.Cleanup(func() { lock.Close() })
			return nil
		case state.present:
			lock.Close()
			return fmt.Errorf("%s is already registered with binfmt_misc (enabled %t, flags %q) but not enabled with the F flag, "+
				"so the emulator would be looked for inside the container; it was not made by this test and is left alone "+
				"(update-binfmts --disable %s, or echo -1 > %s/%s, lets the test register its own)",
				name, state.enabled, state.flags, name, binfmtDir, name)
		}
		err = os.WriteFile(filepath.Join(binfmtDir, "register"), []byte(reg.String()), 0)
		if errors.Is(err, syscall.EEXIST) && attempt == 0 {
			continue // another process registered it just now: look again
		}
		if err != nil {
			lock.Close()
			return fmt.Errorf("the kernel refused to register %s with binfmt_misc: %w", name, err)
		}
		// Say in the lock file that a test made this registration, so
		// that WithoutQemuBinfmt waits for it to go instead of giving up.
		if err := markBinfmt(lock, fmt.Sprintf("%d\n", os.Getpid())); err != nil {
			t.Logf("marking %s as registered by this test: %v", lock.Name(), err)
		}
		t.Logf("registered %s with binfmt_misc (flags %s); it is unregistered when the test ends", name, reg.flags)
		t.Cleanup(func() { unregisterBinfmt(t, name, lock) })
		return nil
	}
}

// binfmtReg is one line in the kernel's register format:
// :name:type:offset:magic:mask:interpreter:flags
type binfmtReg struct {
	fields      []string // name, type, offset, magic, mask (escaped, as written)
	interpreter string
	flags       string
	delim       string
}

func parseBinfmt(line string) (binfmtReg, error) {
	if line == "" {
		return binfmtReg{}, errors.New("empty registration")
	}
	delim := line[:1]
	f := strings.Split(line[1:], delim)
	if len(f) != 7 {
		return binfmtReg{}, fmt.Errorf("registration %q has %d fields, want 7 (:name:type:offset:magic:mask:interpreter:flags)", line, len(f))
	}
	return binfmtReg{fields: f[:5], interpreter: f[5], flags: f[6], delim: delim}, nil
}

func (r binfmtReg) String() string {
	return r.delim + strings.Join(append(append([]string(nil), r.fields...), r.interpreter, r.flags), r.delim)
}

// mountBinfmt mounts binfmt_misc where it is not mounted yet.
func mountBinfmt() error {
	if _, err := os.Stat(filepath.Join(binfmtDir, "register")); err == nil {
		return nil
	}
	if err := syscall.Mount("binfmt_misc", binfmtDir, "binfmt_misc", 0, ""); err != nil {
		return fmt.Errorf("binfmt_misc is not mounted at %s and the kernel does not let this process mount it: %w", binfmtDir, err)
	}
	return nil
}

// binfmtEntry is what /proc/sys/fs/binfmt_misc/NAME says.
type binfmtEntry struct {
	present, enabled bool
	flags            string
}

func binfmtState(name string) (binfmtEntry, error) {
	b, err := os.ReadFile(filepath.Join(binfmtDir, name))
	if errors.Is(err, os.ErrNotExist) {
		return binfmtEntry{}, nil
	}
	if err != nil {
		return binfmtEntry{}, fmt.Errorf("reading %s/%s: %w", binfmtDir, name, err)
	}
	e := binfmtEntry{present: true}
	for _, l := range strings.Split(string(b), "\n") {
		switch {
		case l == "enabled":
			e.enabled = true
		case strings.HasPrefix(l, "flags:"):
			e.flags = strings.TrimSpace(strings.TrimPrefix(l, "flags:"))
		}
	}
	return e, nil
}

// lockBinfmt takes a shared flock that says "a test uses the NAME
// emulator"; the test that registered it takes it exclusively to unregister.
func lockBinfmt(name string) (*os.File, error) {
	dir := "/run/lock"
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		dir = "/tmp"
	}
	f, err := os.OpenFile(filepath.Join(dir, "scratchpack-testenv-binfmt-"+name+".lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening the binfmt_misc lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", f.Name(), err)
	}
	return f, nil
}

// unregisterBinfmt removes the registration this test made, once no other
// test holds the lock.
func unregisterBinfmt(t testing.TB, name string, lock *os.File) {
	defer lock.Close()
	deadline := time.Now().Add(binfmtUnregisterWait)
	for {
		err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			t.Logf("leaving %s registered with binfmt_misc: other tests still use it (%v)", name, err)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := os.WriteFile(filepath.Join(binfmtDir, name), []byte("-1"), 0); err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Errorf("unregistering %s from binfmt_misc: %v", name, err)
		return
	}
	if err := markBinfmt(lock, ""); err != nil {
		t.Logf("clearing %s: %v", lock.Name(), err)
	}
	t.Logf("unregistered %s from binfmt_misc", name)
}

// markBinfmt replaces the content of the lock file: the pid of the test
// process that registered the emulator, or nothing.
func markBinfmt(lock *os.File, s string) error {
	if err := lock.Truncate(0); err != nil {
		return err
	}
	_, err := lock.WriteAt([]byte(s), 0)
	return err
}

// registeredByTest reports whether the lock file names a live process as
// the test that registered the emulator.
func registeredByTest(lock *os.File) bool {
	b := make([]byte, 32)
	n, _ := lock.ReadAt(b, 0)
	var pid int
	if _, err := fmt.Sscanf(string(b[:n]), "%d", &pid); err != nil || pid <= 0 {
		return false
	}
	return syscall.Kill(pid, 0) == nil
}

// binfmtRegistered reports whether name is registered now (for tests).
func binfmtRegistered(name string) bool {
	b, err := os.ReadFile(filepath.Join(binfmtDir, name))
	return err == nil && bytes.Contains(b, []byte("interpreter"))
}

// WithoutQemuBinfmt makes sure the kernel does not run programs of arch
// with an emulator while the test runs, for tests that expect "exec format
// error": it holds the lock that QemuBinfmt takes shared, exclusively, until
// the test ends (waiting up to 10 minutes for tests that use the emulator),
// and returns an error when arch is registered anyway, by someone that does
// not take the lock (the system's binfmt-support, say).
func WithoutQemuBinfmt(t testing.TB, arch string) error {
	t.Helper()
	name := "qemu-" + arch
	lock, err := lockBinfmt(name)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(binfmtUnregisterWait)
	for {
		err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			switch {
			case !binfmtRegistered(name):
				t.Cleanup(func() { lock.Close() })
				return nil
			case !registeredByTest(lock):
				lock.Close()
				return fmt.Errorf("%s is registered with binfmt_misc on this machine, not by a test", name)
			}
			// A test registered it and waits to unregister it: let it
			// take the lock, and look again.
			err = syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
		}
		if err != nil && !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			lock.Close()
			return fmt.Errorf("other tests still use the %s emulator after %v: %v", name, binfmtUnregisterWait, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
