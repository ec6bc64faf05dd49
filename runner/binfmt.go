package runner

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

func hostArch() string { return runtime.GOARCH }

// elfArch is how an architecture's programs start: the ELF header fields
// binfmt_misc entries match, and qemu's name for it.
type elfArch struct {
	qemu    string
	class   byte // 1: 32-bit, 2: 64-bit
	data    byte // 1: little endian, 2: big endian
	machine uint16
	// magic and mask are qemu-user-static's registration (qemu's
	// scripts/qemu-binfmt-conf.sh), for the error message.
	magic, mask string
}

// Magic and mask as qemu-binfmt-conf.sh writes them.
const (
	mask64LE  = `\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff`
	maskX86   = `\xff\xff\xff\xff\xff\xfe\xfe\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff`
	elfPrefix = `\x7fELF`
)

var elfArches = map[string]elfArch{
	"amd64":   {"x86_64", 2, 1, 62, elfPrefix + `\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x3e\x00`, maskX86},
	"386":     {"i386", 1, 1, 3, elfPrefix + `\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x03\x00`, maskX86},
	"arm64":   {"aarch64", 2, 1, 183, elfPrefix + `\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00`, mask64LE},
	"arm":     {"arm", 1, 1, 40, elfPrefix + `\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x28\x00`, mask64LE},
	"riscv64": {"riscv64", 2, 1, 243, elfPrefix + `\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xf3\x00`, mask64LE},
	"ppc64le": {"ppc64le", 2, 1, 21, elfPrefix + `\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x15\x00`,
		`\xff\xff\xff\xff\xff\xff\xff\xfc\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\x00`},
	"s390x": {"s390x", 2, 2, 22, elfPrefix + `\x02\x02\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x16`,
		`\xff\xff\xff\xff\xff\xff\xff\xfc\xff\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff`},
}

// header is the start of a typical executable of the architecture: what
// the kernel's binfmt_misc matches against.
func (a elfArch) header() []byte {
	h := make([]byte, 64)
	copy(h, "\x7fELF")
	h[4], h[5], h[6] = a.class, a.data, 1
	var bo binary.ByteOrder = binary.LittleEndian
	if a.data == 2 {
		bo = binary.BigEndian
	}
	bo.PutUint16(h[16:], 2) // ET_EXEC
	bo.PutUint16(h[18:], a.machine)
	return h
}

// NoEmulatorError says that this machine cannot run the image's programs:
// they are for another architecture, and binfmt_misc has no emulator for it.
type NoEmulatorError struct {
	Arch     string // the image's architecture (GOARCH)
	HostArch string
	Reason   string // what is missing
}

func (e *NoEmulatorError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "the image is for linux/%s and this machine is linux/%s, and %s: the kernel would refuse its programs with \"exec format error\"",
		e.Arch, e.HostArch, e.Reason)
	a, ok := elfArches[e.Arch]
	if !ok {
		b.WriteString("; run it on a linux/" + e.Arch + " machine")
		return b.String()
	}
	fmt.Fprintf(&b, ". Register qemu-user-static's emulator (as root; the F flag lets it work inside the container):\n"+
		"  apt-get install qemu-user-static        # Debian, Ubuntu: provides /usr/bin/qemu-%s-static\n"+
		"  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc   # if that directory is empty\n"+
		"  echo '%s' > /proc/sys/fs/binfmt_misc/register\n"+
		"or run it on a linux/%s machine", a.qemu, registerLine(a), e.Arch)
	return b.String()
}

func registerLine(a elfArch) string {
	return fmt.Sprintf(":qemu-%s:M::%s:%s:/usr/bin/qemu-%s-static:F", a.qemu, a.magic, a.mask, a.qemu)
}

// binfmtEntry is one registered binfmt_misc handler.
type binfmtEntry struct {
	name        string
	enabled     bool
	interpreter string
	flags       string
	offset      int
	magic, mask []byte
}

// checkEmulator returns nil when programs for arch can run here: arch is the
// host's, or an enabled binfmt_misc entry in dir matches arch's executables.
// hasInterp reports whether the image holds a file at a path (for entries
// registered without the F flag, whose interpreter the kernel opens inside
// the container).
func checkEmulator(dir, arch, host string, hasInterp func(string) bool) (*binfmtEntry, error) {
	if arch == host || (host == "amd64" && arch == "386") {
		return nil, nil
	}
	fail := func(format string, args ...any) error {
		return &NoEmulatorError{Arch: arch, HostArch: host, Reason: fmt.Sprintf(format, args...)}
	}
	a, known := elfArches[arch]
	status, err := os.ReadFile(filepath.Join(dir, "status"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fail("binfmt_misc is not mounted at %s (no emulator is registered)", dir)
	} else if err != nil {
		return nil, fmt.Errorf("reading %s: %w", dir, err)
	}
	if strings.TrimSpace(string(status)) != "enabled" {
		return nil, fail("binfmt_misc is disabled (%s/status)", dir)
	}
	names, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", dir, err)
	}
	var entries []*binfmtEntry
	for _, n := range names {
		if n.Name() == "status" || n.Name() == "register" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, n.Name()))
		if err != nil {
			continue // unregistered meanwhile
		}
		entries = append(entries, parseBinfmt(n.Name(), b))
	}
	var match *binfmtEntry
	for _, e := range entries {
		if !e.enabled {
			continue
		}
		if known && e.matches(a.header()) || !known && e.name == "qemu-"+arch {
			match = e
			break
		}
	}
	if match == nil {
		what := arch
		if known {
			what = a.qemu
		}
		return nil, fail("binfmt_misc (%s) has no enabled emulator registered for %s programs", dir, what)
	}
	if !strings.Contains(match.flags, "F") && !hasInterp(match.interpreter) {
		return nil, fail("binfmt_misc entry %s runs %s, which the image does not have, and it was registered without the F flag, "+
			"so the kernel looks for it inside the container; register it again with the F flag (echo -1 > %s/%s first)",
			match.name, match.interpreter, dir, match.name)
	}
	return match, nil
}

// parseBinfmt reads the text of /proc/sys/fs/binfmt_misc/NAME.
func parseBinfmt(name string, b []byte) *binfmtEntry {
	e := &binfmtEntry{name: name}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(line), " ")
		switch k {
		case "enabled":
			e.enabled = true
		case "interpreter":
			e.interpreter = v
		case "flags:":
			e.flags = v
		case "offset":
			e.offset, _ = strconv.Atoi(v)
		case "magic":
			e.magic, _ = hex.DecodeString(v)
		case "mask":
			e.mask, _ = hex.DecodeString(v)
		}
	}
	return e
}

// matches reports whether a file starting with header would be run by e.
func (e *binfmtEntry) matches(header []byte) bool {
	if len(e.magic) == 0 || e.offset < 0 || e.offset+len(e.magic) > len(header) {
		return false
	}
	got := header[e.offset : e.offset+len(e.magic)]
	if len(e.mask) == 0 {
		return bytes.Equal(got, e.magic)
	}
	for i := range e.magic {
		m := byte(0xff)
		if i < len(e.mask) {
			m = e.mask[i]
		}
		if got[i]&m != e.magic[i]&m {
			return false
		}
	}
	return true
}
