//go:build linux

package elfdeps_test

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing/fstest"

	"github.com/scratchpack/scratchpack/elfdeps"
)

// Inspect a host program and resolve the files its loader will map, against
// the host's own root. /bin/sh is a dynamic program on every Linux
// distribution (dash, bash or busybox; glibc or musl), so the output is the
// same everywhere.
func Example() {
	const program = "/bin/sh"
	rep, err := elfdeps.InspectFile(program)
	if err != nil {
		fmt.Println(err)
		return
	}
	// $ORIGIN is the directory of the program's real file.
	real, err := filepath.EvalSymlinks(program)
	if err != nil {
		fmt.Println(err)
		return
	}
	dir := filepath.Dir(real)
	c, err := elfdeps.Resolve(elfdeps.DirRoot("/"), rep, elfdeps.WithOrigin(dir, dir))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("kind:", rep.Kind)
	fmt.Println("needs a C library:", rep.Libc == elfdeps.LibcGlibc || rep.Libc == elfdeps.LibcMusl)
	fmt.Println("loader found:", c.Interpreter != nil && c.Interpreter.Path == rep.Interpreter)
	fmt.Println("missing:", len(c.Missing))
	// Output:
	// kind: dynamic
	// needs a C library: true
	// loader found: true
	// missing: 0
}

// Resolve a foreign program against a root that is not the host's: here an
// in-memory file system standing for an armhf base image, with the
// committed 32-bit ARM test file playing the program and its loader.
func ExampleResolve() {
	program, err := os.ReadFile("../testdata/malformed/elf32-arm-dyn-min")
	if err != nil {
		fmt.Println(err)
		return
	}
	rep, err := elfdeps.InspectFile("../testdata/malformed/elf32-arm-dyn-min")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s/%s %s, interpreter %s\n", rep.Arch, rep.Variant, rep.Kind, rep.Interpreter)

	base := fstest.MapFS{
		"lib/ld-linux-armhf.so.3":                     {Mode: fs.ModeSymlink | 0o777, Data: []byte("arm-linux-gnueabihf/ld-linux-armhf.so.3")},
		"lib/arm-linux-gnueabihf/ld-linux-armhf.so.3": {Mode: 0o755, Data: program},
	}
	c, err := elfdeps.Resolve(elfdeps.NewRoot(base, "armhf base"), rep)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("loader:", c.Interpreter.Path, "->", c.Interpreter.RealPath)

	scratch := fstest.MapFS{}
	c, err = elfdeps.Resolve(elfdeps.NewRoot(scratch, "scratch"), rep)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range elfdeps.Diagnose(rep, c, "scratch", "arm") {
		fmt.Println(p.Code+":", p.Symptom)
	}
	// Output:
	// arm/v7 dynamic, interpreter /lib/ld-linux-armhf.so.3
	// loader: /lib/ld-linux-armhf.so.3 -> /lib/arm-linux-gnueabihf/ld-linux-armhf.so.3
	// no-interpreter: exec ../testdata/malformed/elf32-arm-dyn-min: no such file or directory
}
