package elfdeps

import (
	"debug/elf"
	"strings"
)

// arch describes what the loader of one architecture expects.
type arch struct {
	goarch   string // GOARCH-style name, as OCI platforms use
	machine  elf.Machine
	class    elf.Class
	data     elf.Data
	triplet  string // Debian multiarch triplet, for $LIB and the default directories
	platform string // what glibc's $PLATFORM expands to
	musl     string // the ARCH in musl's /etc/ld-musl-ARCH.path
	lib64    bool   // the distribution's 64-bit libraries may live in /lib64 (Fedora-style)
	cross    string // the GNU triplet of Debian's cross packages: /usr/TRIPLET
	debian   string // Debian's architecture name, in the cross packages' names
	glibcLD  string // glibc's loader (PT_INTERP) for this architecture
}

// archs are the architectures scratchpack knows, keyed by what the ELF header says.
// arm is hard-float here; soft-float arm differs only in triplet and musl name,
// see archFor.
var archs = []arch{
	{"amd64", elf.EM_X86_64, elf.ELFCLASS64, elf.ELFDATA2LSB, "x86_64-linux-gnu", "x86_64", "x86_64", true, "x86_64-linux-gnu", "amd64", "/lib64/ld-linux-x86-64.so.2"},
	{"arm64", elf.EM_AARCH64, elf.ELFCLASS64, elf.ELFDATA2LSB, "aarch64-linux-gnu", "aarch64", "aarch64", true, "aarch64-linux-gnu", "arm64", "/lib/ld-linux-aarch64.so.1"},
	{"arm", elf.EM_ARM, elf.ELFCLASS32, elf.ELFDATA2LSB, "arm-linux-gnueabihf", "v7l", "armhf", false, "arm-linux-gnueabihf", "armhf", "/lib/ld-linux-armhf.so.3"},
	{"386", elf.EM_386, elf.ELFCLASS32, elf.ELFDATA2LSB, "i386-linux-gnu", "i686", "i386", false, "i686-linux-gnu", "i386", "/lib/ld-linux.so.2"},
	{"riscv64", elf.EM_RISCV, elf.ELFCLASS64, elf.ELFDATA2LSB, "riscv64-linux-gnu", "riscv64", "riscv64", true, "riscv64-linux-gnu", "riscv64", "/lib/ld-linux-riscv64-lp64d.so.1"},
	{"ppc64le", elf.EM_PPC64, elf.ELFCLASS64, elf.ELFDATA2LSB, "powerpc64le-linux-gnu", "power8", "powerpc64le", true, "powerpc64le-linux-gnu", "ppc64el", "/lib64/ld64.so.2"},
	{"s390x", elf.EM_S390, elf.ELFCLASS64, elf.ELFDATA2MSB, "s390x-linux-gnu", "z900", "s390x", true, "s390x-linux-gnu", "s390x", "/lib/ld64.so.1"},
}

// ARM e_flags bits (glibc's elf.h).
const (
	efARMEABIMask     = 0xff000000
	efARMABIFloatHard = 0x00000400
	efARMABIFloatSoft = 0x00000200
)

// archFor returns the architecture of an object, or false if scratchpack does
// not know it (it is still inspected, but not resolved).
func archFor(o *object) (arch, bool) {
	for _, a := range archs {
		if a.machine == o.machine && a.class == o.class && a.data == o.data {
			if a.goarch == "arm" && o.armSoftFloat() {
				a.triplet, a.musl, a.platform, a.glibcLD = "arm-linux-gnueabi", "arm", "v5l", "/lib/ld-linux.so.3"
				a.cross, a.debian = "arm-linux-gnueabi", "armel"
			}
			return a, true
		}
	}
	return arch{}, false
}

// armSoftFloat reports whether an ARM object uses the soft-float calling convention.
func (o *object) armSoftFloat() bool {
	return o.machine == elf.EM_ARM && o.flags&efARMABIFloatHard == 0 &&
		(o.flags&efARMABIFloatSoft != 0 || o.interp == "/lib/ld-linux.so.3")
}

// armVariant returns the OCI platform variant of an ARM object and, when the
// file says, the architecture it is built for (Tag_CPU_arch: "v5TE", "v7").
// In order: the file-scope Tag_CPU_arch of .ARM.attributes (Debian's armhf
// says v7, armel v5TE, Raspberry Pi OS's armhf v6); a Go program's GOARM;
// else the float ABI: hard-float EABI5 (armhf) is v7, soft-float v5.
func armVariant(o *object, g *GoInfo) (variant, cpu string, err error) {
	v, found, err := readARMCPUArch(o.f)
	if found {
		if cpu, variant = armCPUArch(v); variant != "" {
			return variant, cpu, nil
		}
	}
	if g != nil && g.GOARM != "" {
		n, _, _ := strings.Cut(g.GOARM, ",") // "7", "6,hardfloat"
		if n >= "5" && n <= "7" && len(n) == 1 {
			return "v" + n, cpu, err
		}
	}
	if o.armSoftFloat() {
		return "v5", cpu, err
	}
	return "v7", cpu, err
}

// defaultDirs are the directories glibc's loader searches last. Debian's
// loader (multiarch) prints them in `ld.so --help` as "System search path":
// /lib/TRIPLET, /usr/lib/TRIPLET, /lib, /usr/lib. Without multiarch
// directories the root is a cross sysroot (Debian's /usr/TRIPLET keeps its
// libraries in /lib) or a Fedora-style system (64-bit libraries in /lib64):
// both are searched, /lib64 first.
func (a arch) defaultDirs(multiarch bool) []string {
	switch {
	case multiarch:
		return []string{"/lib/" + a.triplet, "/usr/lib/" + a.triplet, "/lib", "/usr/lib"}
	case a.lib64:
		return []string{"/lib64", "/usr/lib64", "/lib", "/usr/lib"}
	default:
		return []string{"/lib", "/usr/lib"}
	}
}

// muslDefaultDirs is musl's built-in search path when /etc/ld-musl-ARCH.path is absent.
var muslDefaultDirs = []string{"/lib", "/usr/local/lib", "/usr/lib"}
