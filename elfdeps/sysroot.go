package elfdeps

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// hostArch is the GOARCH of this machine, whose own libraries are in "/".
var hostArch = runtime.GOARCH

// SysrootError says that a program of another architecture than this
// machine's was given no sysroot, and none was found where one usually is.
type SysrootError struct {
	Program     string
	Platform    string   // the program's: linux/riscv64
	Host        string   // this machine's: linux/amd64
	Interpreter string   // the loader that was looked for
	Searched    []string // the host directories looked in, in order
	Package     string   // the Debian package that installs the usual one, if any
}

func (e *SysrootError) Error() string {
	var where []string
	for _, d := range e.Searched {
		switch {
		case d == "/":
			where = append(where, "/ (this machine)")
		case e.Package != "":
			where = append(where, fmt.Sprintf("%s (Debian's cross sysroot: apt-get install %s)", d, e.Package))
		default:
			where = append(where, d)
		}
	}
	return fmt.Sprintf("%s is a %s program and this machine is %s: its loader %s is in none of %s. "+
		"Give a sysroot holding the target's libraries (for this platform alone: %s=DIR): "+
		"a cross sysroot, an unpacked root file system of the target, or a toolchain's sysroot",
		e.Program, e.Platform, e.Host, e.Interpreter, strings.Join(where, ", "), e.Platform)
}

// FindSysroot returns the host directory the libraries of the program of
// rep are taken from when no sysroot is given. A program of this machine's
// architecture, or one that needs no libraries, uses "/". A program of
// another architecture uses Debian's cross sysroot for it (/usr/TRIPLET, as
// libc6-ARCH-cross installs it) when that holds the program's loader, else
// "/" when this machine holds it (a multiarch installation, such as
// libc6:armhf); otherwise the error is a *SysrootError that says where it looked.
func FindSysroot(rep *Report) (string, error) {
	return findSysroot(rep, hostArch, "/")
}

// findSysroot is FindSysroot for a host of architecture host whose file
// system is under hostRoot (for tests).
func findSysroot(rep *Report, host, hostRoot string) (string, error) {
	if rep.Arch == host || (rep.Interpreter == "" && len(rep.Needed) == 0) {
		return "/", nil
	}
	var candidates []string
	cross, ok := DebianCrossSysroot(rep)
	if ok {
		candidates = append(candidates, cross.Dir)
	}
	candidates = append(candidates, "/")
	for _, dir := range candidates {
		found, err := hasLoader(filepath.Join(hostRoot, filepath.FromSlash(dir)), rep)
		if err != nil {
			return "", err
		}
		if found {
			return dir, nil
		}
	}
	return "", &SysrootError{
		Program: rep.Path, Platform: "linux/" + platformArch(rep), Host: "linux/" + host,
		Interpreter: rep.Interpreter, Searched: candidates, Package: cross.Package,
	}
}

// hasLoader reports whether dir holds the program's loader, for its
// architecture (a program without one: whether dir exists).
func hasLoader(dir string, rep *Report) (bool, error) {
	if fi, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) || err == nil && !fi.IsDir() {
		return false, nil
	}
	if rep.Interpreter == "" {
		return true, nil
	}
	c, err := Resolve(DirRoot(dir), rep)
	if err != nil {
		return false, fmt.Errorf("looking for the loader of %s in %s: %w", rep.Path, dir, err)
	}
	return c.Interpreter != nil, nil
}

// platformArch is ARCH[/VARIANT] of a program.
func platformArch(rep *Report) string {
	if rep.Variant != "" {
		return rep.Arch + "/" + rep.Variant
	}
	return rep.Arch
}
