// Package elfdeps reads Linux ELF programs and works out, without running them,
// exactly which files the kernel and the dynamic loader will open to start them.
//
// Everything is read through a root file system (an [fs.FS] that can read
// symbolic links), so the same code resolves a host program against "/", a
// foreign-architecture program against a sysroot, and a program against the
// file system of a base image. The package imports only the standard library.
//
// Beyond what the loader maps, [RuntimeNeeds] works out what a program needs
// once it runs, which no DT_NEEDED entry says: NSS files and modules,
// libgcc_s.so.1 for thread cancellation, gconv modules, CA certificates and
// zones (glibc.go holds the evidence), from the symbols it and its libraries
// import and from what a Go program links in. [ReadPyInstaller] reads the
// archive of a PyInstaller program, and [RootLibc] tells a glibc root from a
// musl one.
package elfdeps
