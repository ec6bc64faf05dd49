package elfdeps

import (
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Kind is how the kernel and the loader treat an ELF file.
type Kind string

// The kinds of ELF file.
const (
	KindStatic        Kind = "static"         // ET_EXEC without an interpreter
	KindStaticPIE     Kind = "static-pie"     // ET_DYN executable without an interpreter
	KindDynamic       Kind = "dynamic"        // needs the interpreter in PT_INTERP
	KindSharedLibrary Kind = "shared-library" // a library (ET_DYN with a soname or no PIE flag)
)

// Libc is the C library flavour an object was built against.
type Libc string

// The C library flavours.
const (
	LibcGlibc   Libc = "glibc"
	LibcMusl    Libc = "musl"
	LibcNone    Libc = "none"    // no C library: a static Go program, say
	LibcUnknown Libc = "unknown" // static, and no trace of which libc is built in
)

// Report is what one ELF file says about itself.
type Report struct {
	Path        string       `json:"path"`
	Arch        string       `json:"arch"`               // GOARCH-style: amd64, arm64, arm, 386, riscv64, ppc64le, s390x; else the ELF machine
	Variant     string       `json:"variant,omitempty"`  // OCI platform variant (arm: v5, v6, v7, v8)
	ArmArch     string       `json:"arm_arch,omitempty"` // arm: the Tag_CPU_arch the file is built for (v5TE, v6KZ, v7), when it says
	Class       int          `json:"class"`              // 32 or 64
	Endian      string       `json:"endian"`             // little or big
	Kind        Kind         `json:"kind"`
	Interpreter string       `json:"interpreter,omitempty"`
	Libc        Libc         `json:"libc"`
	GlibcMin    string       `json:"glibc_min,omitempty"`   // highest GLIBC_x.y needed by this file
	GlibcxxMin  string       `json:"glibcxx_min,omitempty"` // highest GLIBCXX_x.y.z needed by this file
	CxxabiMin   string       `json:"cxxabi_min,omitempty"`  // highest CXXABI_x.y needed by this file
	Needed      []string     `json:"needed"`
	RPath       []string     `json:"rpath"`
	RunPath     []string     `json:"runpath"`
	Soname      string       `json:"soname,omitempty"`
	Go          *GoInfo      `json:"go"` // null for programs that are not Go
	PyInstaller *PyInstaller `json:"pyinstaller,omitempty"`
	Warnings    []string     `json:"warnings"`
	// Imports are the symbols the file takes from its libraries (its
	// undefined dynamic symbols), sorted; for a static program, the
	// functions of the run-time needs table (see RuntimeNeeds) that its
	// .symtab shows linked in.
	Imports []string `json:"-"`

	obj  *object
	data []byte // the whole file, for objects read from memory (PyInstaller's embedded libraries)
}

// Inspect reads the ELF file behind r. A file that is not ELF gives an error
// wrapping ErrNotELF (or ErrScript for "#!" scripts); a broken one, ErrCorrupt.
func Inspect(r io.ReaderAt) (*Report, error) {
	o, err := readObject(r)
	if err != nil {
		return nil, err
	}
	rep := &Report{
		Class:       32,
		Endian:      "little",
		Kind:        o.kind(),
		Interpreter: o.interp,
		Needed:      nonNil(o.needed),
		RPath:       nonNil(o.rpath),
		RunPath:     nonNil(o.runpath),
		Soname:      o.soname,
		Warnings:    []string{},
		obj:         o,
	}
	if o.class == elf.ELFCLASS64 {
		rep.Class = 64
	}
	if o.data == elf.ELFDATA2MSB {
		rep.Endian = "big"
	}
	if a, ok := archFor(o); ok {
		rep.Arch = a.goarch
	} else {
		rep.Arch = o.machine.String()
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("unknown architecture %v: its libraries cannot be resolved", o.machine))
	}
	v := maxVersions(o.verneeds)
	rep.GlibcMin, rep.GlibcxxMin, rep.CxxabiMin = v["GLIBC"], v["GLIBCXX"], v["CXXABI"]
	if rep.Go, err = readGoInfo(r); err != nil {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("Go build information is unreadable: %v", err))
	}
	if rep.Go != nil {
		if rep.Go.Uses, err = readGoUses(o.f, r); err != nil {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("the Go function table is unreadable, so run-time needs are not known: %v", err))
		}
	}
	rep.Libc = libcOf(o, rep.Go)
	if rep.Arch == "arm" {
		var err error
		if rep.Variant, rep.ArmArch, err = armVariant(o, rep.Go); err != nil {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("the ARM architecture is guessed from the float ABI: %v", err))
		}
	}
	if size, ok := sizeOf(r); ok {
		if rep.PyInstaller, err = ReadPyInstaller(r, size, o.f); err != nil {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("it looks like a PyInstaller program, but: %v", err))
		}
	}
	if err := rep.readImports(); err != nil {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("the symbol table is unreadable, so run-time needs are not known: %v", err))
	}
	if rep.Kind == KindDynamic && o.interp == "" {
		rep.Warnings = append(rep.Warnings, "dynamic program without an interpreter")
	}
	return rep, nil
}

// InspectFile inspects the file at name on the host; errors name the file.
func InspectFile(name string) (rep *Report, err error) {
	defer func() {
		if err != nil {
			err = &FileError{Path: name, Err: err}
		}
	}()
	// Stat before opening: opening a fifo for reading blocks until a writer comes.
	fi, err := os.Stat(name)
	if err != nil {
		return nil, unwrapPathError(err)
	}
	if !fi.Mode().IsRegular() {
		if fi.IsDir() {
			return nil, fmt.Errorf("%w: it is a directory", ErrNotRegular)
		}
		return nil, fmt.Errorf("%w (%s)", ErrNotRegular, fi.Mode().Type())
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, unwrapPathError(err)
	}
	defer f.Close()
	rep, err = Inspect(f)
	if err != nil {
		return nil, withHint(err, f)
	}
	rep.Path = name
	return rep, nil
}

// withHint adds what to do to the errors a user meets most.
func withHint(err error, f io.ReaderAt) error {
	switch {
	case errors.Is(err, ErrScript):
		line := make([]byte, 128)
		n, _ := f.ReadAt(line, 0)
		first, _, _ := strings.Cut(string(line[:n]), "\n")
		return fmt.Errorf("%w (%s): pack the interpreter it names, and add the script as a file", err, strings.TrimSpace(first))
	case errors.Is(err, ErrNotELF):
		return fmt.Errorf("%w: scratchpack reads compiled Linux programs; give it the binary your build produced", err)
	case errors.Is(err, ErrCorrupt):
		return fmt.Errorf("%w: is the file complete? rebuild or copy it again", err)
	}
	return err
}

// FileError is an error about one file, named once.
type FileError struct {
	Path string
	Err  error
}

func (e *FileError) Error() string { return e.Path + ": " + e.Err.Error() }
func (e *FileError) Unwrap() error { return e.Err }

// unwrapPathError drops the path from an *fs.PathError when the caller names the file itself.
func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// libcOf tells which C library an object uses.
func libcOf(o *object, g *GoInfo) Libc {
	switch {
	case o.musl():
		return LibcMusl
	case o.interp != "":
		return LibcGlibc
	}
	for _, n := range o.needed {
		switch {
		case n == "libc.so.6":
			return LibcGlibc
		case n == "libc.so" || n == "libc.musl-x86_64.so.1":
			return LibcMusl
		}
	}
	switch {
	case o.abiTag:
		return LibcGlibc // glibc links .note.ABI-tag into static programs too
	case g != nil && !g.CGO:
		return LibcNone
	case len(o.needed) > 0:
		return LibcUnknown
	case o.dynamic && o.kind() == KindSharedLibrary:
		return LibcNone // a library that needs nothing
	default:
		return LibcUnknown
	}
}

// sizeOf returns the size of what r reads, if r can say.
func sizeOf(r io.ReaderAt) (int64, bool) {
	switch v := r.(type) {
	case interface{ Size() int64 }:
		return v.Size(), true
	case interface{ Stat() (os.FileInfo, error) }:
		if fi, err := v.Stat(); err == nil {
			return fi.Size(), true
		}
	}
	return 0, false
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
