package testenv

import (
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

func TestParseBinfmt(t *testing.T) {
	line := `:qemu-aarch64:M::\x7f\x45\x4c\x46\x02:\xff\xff\xff\xff\xff:/usr/libexec/qemu-binfmt/aarch64-binfmt-P:OP`
	r, err := parseBinfmt(line)
	if err != nil {
		t.Fatal(err)
	}
	if r.interpreter != "/usr/libexec/qemu-binfmt/aarch64-binfmt-P" || r.flags != "OP" || r.String() != line {
		t.Errorf("parseBinfmt = %+v, String %q", r, r.String())
	}
	for _, bad := range []string{"", ":a:b:c", ":qemu:M::x:y:/bin/q:F:extra"} {
		if _, err := parseBinfmt(bad); err == nil {
			t.Errorf("parseBinfmt(%q) succeeded", bad)
		}
	}
}

// TestQemuBinfmt registers the aarch64 emulator and runs Debian's aarch64
// loader (which needs no libraries) on this machine through it; what the
// test registered is gone when it ends.
func TestQemuBinfmt(t *testing.T) {
	loader := "/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1"
	before := binfmtRegistered("qemu-aarch64")
	t.Run("register", func(t *testing.T) {
		if err := QemuBinfmt(t, "aarch64"); err != nil {
			t.Skipf("SKIP: LOUDLY: the kernel does not let this test run aarch64 programs under qemu: %v", err)
		}
		out, err := exec.Command(loader, "--version").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "ld.so") {
			t.Errorf("%s --version under qemu: %v\n%s", loader, err, out)
		}
		if !binfmtRegistered("qemu-aarch64") {
			t.Errorf("qemu-aarch64 is not registered")
		}
	})
	if before {
		return
	}
	// Unless another test process uses the emulator now, the
	// registration this test made is gone.
	lock, err := lockBinfmt("qemu-aarch64")
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Logf("another test process uses qemu-aarch64 now; not checking that it was unregistered")
		return
	}
	if binfmtRegistered("qemu-aarch64") {
		t.Errorf("qemu-aarch64 is still registered after the test that registered it ended")
	}
}

// TestWithoutQemuBinfmtWaits registers the aarch64 emulator in a subtest
// while a parallel subtest asks for it to be absent: the second waits for
// the first to end and unregister it, then finds it gone.
func TestWithoutQemuBinfmtWaits(t *testing.T) {
	if binfmtRegistered("qemu-aarch64") {
		t.Skip("SKIP: qemu-aarch64 is registered already")
	}
	registered := make(chan struct{})
	t.Run("group", func(t *testing.T) {
		t.Run("register", func(t *testing.T) {
			t.Parallel()
			defer close(registered)
			if err := QemuBinfmt(t, "aarch64"); err != nil {
				t.Skipf("SKIP: LOUDLY: the kernel does not let this test register qemu-aarch64: %v", err)
			}
		})
		t.Run("without", func(t *testing.T) {
			t.Parallel()
			<-registered // the registering subtest has returned; its cleanup may still run
			if err := WithoutQemuBinfmt(t, "aarch64"); err != nil {
				t.Fatalf("WithoutQemuBinfmt: %v", err)
			}
			if binfmtRegistered("qemu-aarch64") {
				t.Errorf("qemu-aarch64 is registered while WithoutQemuBinfmt holds the lock")
			}
		})
	})
}
