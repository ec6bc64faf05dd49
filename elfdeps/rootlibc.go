package elfdeps

import "fmt"

// RootLibc tells which C library a root (a base image) provides for the
// program of rep, by the loaders it holds: glibc's (/lib64/ld-linux-x86-64.so.2
// on amd64) or musl's (/lib/ld-musl-x86_64.so.1, as on Alpine). It returns
// the flavour and the loader's path; LibcNone when the root has neither,
// as scratch. A root with both answers with the program's own flavour.
func RootLibc(root *Root, rep *Report) (Libc, string) {
	a, ok := archFor(rep.obj)
	if !ok {
		return LibcUnknown, ""
	}
	glibc, musl := a.glibcLD, "/lib/ld-musl-"+a.musl+".so.1"
	hasGlibc, hasMusl := isRegular(root, glibc), isRegular(root, musl)
	switch {
	case hasGlibc && (!hasMusl || rep.Libc != LibcMusl):
		return LibcGlibc, glibc
	case hasMusl:
		return LibcMusl, musl
	}
	return LibcNone, ""
}

func isRegular(root *Root, p string) bool {
	fi, err := root.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// DiagnoseLibc explains a program built for one C library meeting a root
// that provides the other: a glibc program on Alpine, a musl program on a
// glibc base. It returns nil when they agree, or when the program brings
// no loader need (static programs run on any libc).
func DiagnoseLibc(rep *Report, rootLibc Libc, rootLoader, where string) *Problem {
	if rep.Interpreter == "" || rootLibc == LibcNone || rootLibc == LibcUnknown || rep.Libc == rootLibc {
		return nil
	}
	if rep.Interpreter == rootLoader {
		return nil
	}
	return &Problem{ProblemLibcMismatch, "exec " + rep.Path + ": no such file or directory",
		fmt.Sprintf("the program is built against %s (its loader is %s) and %s provides %s (%s): the two C libraries are not interchangeable. "+
			"Bundle the program's own %s with it (scratchpack pack does), or rebuild it for %s, or link it statically",
			rep.Libc, rep.Interpreter, where, rootLibc, rootLoader, rep.Libc, rootLibc)}
}
