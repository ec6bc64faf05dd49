// Package elfdeps reads Linux ELF programs and works out, without running them,
// exactly which files the kernel and the dynamic loader will open to start them.
//
// Everything is read through a root file system (an [fs.FS] that can read
// symbolic links), so the same code resolves a host program against "/", a
// foreign-architecture program against a sysroot, and a program against the
// file system of a base image. The package imports only the standard library.
package elfdeps
