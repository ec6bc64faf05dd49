package testenv

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// binfmtDir is where the kernel's binfmt_misc is mounted.
const binfmtDir = "/proc/sys/fs/binfmt_misc"

// binfmtLock is the lock file that orders the tests that register an
// emulator (QemuBinfmt, exclusive) and those that need foreign programs
// refused (HoldBinfmt, shared), across test binaries: go test runs the
// packages of ./... in parallel, and registrations are machine-wide.
const binfmtLock = "/tmp/scratchpack-testenv-binfmt.lock"

// lockBinfmt takes the lock, shared or exclusive, until the test ends.
func lockBinfmt(t testing.TB, how int) {
	t.Helper()
	f, err := os.OpenFile(binfmtLock, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		t.Fatalf("opening %s: %v", binfmtLock, err)
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		f.Close()
		t.Fatalf("locking %s: %v", binfmtLock, err)
	}
	t.Cleanup(func() { f.Close() }) // closing releases the lock
}

// HoldBinfmt keeps QemuBinfmt of other tests (in this or another test
// binary) from registering an emulator until the test ends. Tests that
// expect the kernel to refuse foreign programs take it first.
func HoldBinfmt(t testing.TB) {
	t.Helper()
	lockBinfmt(t, syscall.LOCK_SH)
}

// QemuBinfmt makes the kernel run programs for qemuArch (aarch64, arm,
// riscv64...) through qemu-user-static until the test ends, and reports
// whether it could. An enabled registration that is already there is used
// as it is. Otherwise, as root, it mounts binfmt_misc if needed, registers
// the line of Debian's /usr/lib/binfmt.d/qemu-ARCH.conf with the F flag (the
// kernel opens the emulator at once, so it works inside containers), and at
// cleanup unregisters it, and unmounts binfmt_misc if it mounted it. When
// the kernel does not allow it (not root, no binfmt_misc), it says so
// loudly in the log and returns false: the caller then checks the error
// path instead.
func QemuBinfmt(t testing.TB, qemuArch string) bool {
	t.Helper()
	lockBinfmt(t, syscall.LOCK_EX)
	entry := filepath.Join(binfmtDir, "qemu-"+qemuArch)
	if b, err := os.ReadFile(entry); err == nil && strings.HasPrefix(string(b), "enabled") {
		t.Logf("binfmt_misc already runs %s programs through %s", qemuArch, entry)
		return true
	}
	conf := "/usr/lib/binfmt.d/qemu-" + qemuArch + ".conf"
	line, err := os.ReadFile(conf)
	if err != nil {
		missing(t, "%s: %v (install the Debian package \"qemu-user-static\")", conf, err)
	}
	if os.Geteuid() != 0 {
		t.Logf("NOT TESTED (requires root): registering a binfmt_misc emulator for %s needs root (euid %d)", qemuArch, os.Geteuid())
		return false
	}
	if _, err := os.Stat(filepath.Join(binfmtDir, "register")); err != nil {
		if err := syscall.Mount("binfmt_misc", binfmtDir, "binfmt_misc", 0, ""); err != nil {
			t.Logf("NOT TESTED: this kernel does not let binfmt_misc be mounted at %s: %v", binfmtDir, err)
			return false
		}
		t.Cleanup(func() {
			if err := syscall.Unmount(binfmtDir, 0); err != nil {
				t.Logf("unmounting %s: %v (left mounted)", binfmtDir, err)
			}
		})
	}
	reg := withFlagF(strings.TrimSpace(string(line)))
	if err := os.WriteFile(filepath.Join(binfmtDir, "register"), []byte(reg), 0o200); err != nil {
		t.Logf("NOT TESTED: this kernel refused to register %s with binfmt_misc: %v", conf, err)
		return false
	}
	t.Logf("registered %s with binfmt_misc: %s", entry, reg)
	t.Cleanup(func() {
		if err := os.WriteFile(entry, []byte("-1"), 0o200); err != nil {
			t.Errorf("unregistering %s: %v", entry, err)
		}
	})
	return true
}

// withFlagF adds the F flag (the last field) to a binfmt_misc
// registration line :name:type:offset:magic:mask:interpreter:flags.
func withFlagF(line string) string {
	i := strings.LastIndex(line, ":")
	if i < 0 || strings.Contains(line[i+1:], "F") {
		return line
	}
	return line + "F"
}
