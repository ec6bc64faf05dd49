package elfdeps

// CrossSysroot is where Debian's cross-compilation packages put the C
// library of a target architecture: /usr/aarch64-linux-gnu holds lib/ with
// the loader, libc.so.6 and the rest, installed by libc6-arm64-cross (and
// by the cross compilers, which depend on it).
type CrossSysroot struct {
	Dir     string // the sysroot: /usr/TRIPLET
	Package string // the Debian package that installs its C library
}

// DebianCrossSysroot returns the Debian cross sysroot for the architecture
// and C library of rep, or false when Debian has none: an architecture
// scratchpack does not know, or a musl program (Debian packages no musl
// cross sysroots).
func DebianCrossSysroot(rep *Report) (CrossSysroot, bool) {
	if rep.obj == nil || rep.obj.musl() {
		return CrossSysroot{}, false
	}
	a, ok := archFor(rep.obj)
	if !ok {
		return CrossSysroot{}, false
	}
	return CrossSysroot{Dir: "/usr/" + a.cross, Package: "libc6-" + a.debian + "-cross"}, true
}
