//go:build ignore

// Gen writes the small crafted ELF files in testdata/malformed that the malformed-input
// tests and fuzz targets use as inputs and seeds. The output is deterministic; `make lint`
// checks that the committed files match it. Run it from the repository root:
//
//	go run testdata/malformed/gen.go [-o testdata/malformed]
//
// See README.md beside this file for what each file is.
package main

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"flag"
	"fmt"
	"io/fs"
	"log"
	"os"
	"path/filepath"
)

// ELF header flags that debug/elf does not name.
const (
	efARMEABIVer5      = 0x05000000 // EF_ARM_EABI_VER5
	efARMABIFloatHard  = 0x00000400 // EF_ARM_ABI_FLOAT_HARD
	efRISCVRVC         = 0x0001     // EF_RISCV_RVC
	efRISCVFloatDouble = 0x0004     // EF_RISCV_FLOAT_ABI_DOUBLE
	efPPC64ABIv2       = 0x0002     // ELFv2 ABI, as used by ppc64le
)

const x86Interp = "/lib64/ld-linux-x86-64.so.2"

type file struct {
	name string
	mode fs.FileMode
	data []byte
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("gen: ")
	out := flag.String("o", "testdata/malformed", "directory to write the files into")
	flag.Parse()

	files := []file{
		{"truncated-header", 0o644, truncatedHeader()},
		{"bad-phoff", 0o644, badPhoff()},
		{"huge-phnum", 0o644, hugePhnum()},
		{"dynamic-no-terminator", 0o644, dynamicNoTerminator()},
		{"interp-no-nul", 0o644, minimal(x8664Exec, x86Interp, false)},
		{"not-elf.txt", 0o644, []byte("This is a plain text file, not an ELF program.\n")},
		{"script.sh", 0o755, []byte("#!/bin/sh\necho hello from sh\n")},
		{"elf32-arm-dyn-min", 0o644, minimal(target{
			class: elf.ELFCLASS32, order: binary.LittleEndian, machine: elf.EM_ARM,
			typ: elf.ET_DYN, flags: efARMEABIVer5 | efARMABIFloatHard, base: 0,
		}, "/lib/ld-linux-armhf.so.3", true)},
		{"riscv64-exec-min", 0o644, minimal(target{
			class: elf.ELFCLASS64, order: binary.LittleEndian, machine: elf.EM_RISCV,
			typ: elf.ET_EXEC, flags: efRISCVRVC | efRISCVFloatDouble, base: 0x10000,
		}, "/lib/ld-linux-riscv64-lp64d.so.1", true)},
		{"ppc64le-exec-min", 0o644, minimal(target{
			class: elf.ELFCLASS64, order: binary.LittleEndian, machine: elf.EM_PPC64,
			typ: elf.ET_EXEC, flags: efPPC64ABIv2, base: 0x10000000,
		}, "/lib64/ld64.so.2", true)},
		{"s390x-exec-min", 0o644, minimal(target{
			class: elf.ELFCLASS64, order: binary.BigEndian, machine: elf.EM_S390,
			typ: elf.ET_EXEC, flags: 0, base: 0x1000000,
		}, "/lib/ld64.so.1", true)},
	}

	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	for _, f := range files {
		path := filepath.Join(*out, f.name)
		if err := os.WriteFile(path, f.data, f.mode); err != nil {
			log.Fatal(err)
		}
		// WriteFile keeps the mode of an existing file; set it explicitly.
		if err := os.Chmod(path, f.mode); err != nil {
			log.Fatal(err)
		}
	}
}

// target is the architecture and type of a generated file.
type target struct {
	class   elf.Class
	order   binary.ByteOrder
	machine elf.Machine
	typ     elf.Type
	flags   uint32
	base    uint64 // virtual address of file offset 0
}

var x8664Exec = target{
	class: elf.ELFCLASS64, order: binary.LittleEndian, machine: elf.EM_X86_64,
	typ: elf.ET_EXEC, base: 0x400000,
}

func (t target) is64() bool { return t.class == elf.ELFCLASS64 }

func (t target) ehsize() uint64 {
	if t.is64() {
		return 64
	}
	return 52
}

func (t target) phentsize() uint64 {
	if t.is64() {
		return 56
	}
	return 32
}

func (t target) shentsize() uint64 {
	if t.is64() {
		return 64
	}
	return 40
}

// header describes the parts of an ELF header that differ between the files.
type header struct {
	entry, phoff, shoff    uint64
	phnum, shnum, shstrndx uint16
}

func (t target) writeHeader(b *bytes.Buffer, h header) {
	var ident [elf.EI_NIDENT]byte
	copy(ident[:], elf.ELFMAG)
	ident[elf.EI_CLASS] = byte(t.class)
	ident[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	if t.order == binary.BigEndian {
		ident[elf.EI_DATA] = byte(elf.ELFDATA2MSB)
	}
	ident[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	ident[elf.EI_OSABI] = byte(elf.ELFOSABI_NONE)
	if t.is64() {
		t.write(b, elf.Header64{
			Ident: ident, Type: uint16(t.typ), Machine: uint16(t.machine),
			Version: uint32(elf.EV_CURRENT), Entry: h.entry, Phoff: h.phoff, Shoff: h.shoff,
			Flags: t.flags, Ehsize: uint16(t.ehsize()), Phentsize: uint16(t.phentsize()),
			Phnum: h.phnum, Shentsize: uint16(t.shentsize()), Shnum: h.shnum, Shstrndx: h.shstrndx,
		})
		return
	}
	t.write(b, elf.Header32{
		Ident: ident, Type: uint16(t.typ), Machine: uint16(t.machine),
		Version: uint32(elf.EV_CURRENT), Entry: uint32(h.entry), Phoff: uint32(h.phoff),
		Shoff: uint32(h.shoff), Flags: t.flags, Ehsize: uint16(t.ehsize()),
		Phentsize: uint16(t.phentsize()), Phnum: h.phnum, Shentsize: uint16(t.shentsize()),
		Shnum: h.shnum, Shstrndx: h.shstrndx,
	})
}

// prog is a program header; vaddr and paddr are base+off.
type prog struct {
	typ       elf.ProgType
	flags     elf.ProgFlag
	off, size uint64
	align     uint64
}

func (t target) writeProg(b *bytes.Buffer, p prog) {
	if t.is64() {
		t.write(b, elf.Prog64{
			Type: uint32(p.typ), Flags: uint32(p.flags), Off: p.off,
			Vaddr: t.base + p.off, Paddr: t.base + p.off,
			Filesz: p.size, Memsz: p.size, Align: p.align,
		})
		return
	}
	t.write(b, elf.Prog32{
		Type: uint32(p.typ), Off: uint32(p.off),
		Vaddr: uint32(t.base + p.off), Paddr: uint32(t.base + p.off),
		Filesz: uint32(p.size), Memsz: uint32(p.size), Flags: uint32(p.flags),
		Align: uint32(p.align),
	})
}

func (t target) write(b *bytes.Buffer, v any) {
	if err := binary.Write(b, t.order, v); err != nil {
		panic(fmt.Sprintf("encoding %T: %v", v, err))
	}
}

// minimal returns a dynamic executable with well-formed headers, no code and no
// libraries: PT_PHDR, PT_INTERP naming interp, one PT_LOAD mapping the whole file, and a
// PT_DYNAMIC holding only DT_NULL. The interpreter path is the last thing in the file; with
// nul false it lacks its terminating NUL (PT_INTERP's size excludes it too).
func minimal(t target, interp string, nul bool) []byte {
	const phnum = 4
	phoff := t.ehsize()
	dynOff := phoff + phnum*t.phentsize() // aligned: every header size is a multiple of 8 (4 for ELF32)
	dynSize := uint64(8)                  // one Dyn32: DT_NULL
	if t.is64() {
		dynSize = 16 // one Dyn64
	}
	interpOff := dynOff + dynSize
	interpData := []byte(interp)
	if nul {
		interpData = append(interpData, 0)
	}
	size := interpOff + uint64(len(interpData))

	var b bytes.Buffer
	t.writeHeader(&b, header{entry: t.base + interpOff, phoff: phoff, phnum: phnum})
	t.writeProg(&b, prog{typ: elf.PT_PHDR, flags: elf.PF_R, off: phoff, size: phnum * t.phentsize(), align: 8})
	t.writeProg(&b, prog{typ: elf.PT_INTERP, flags: elf.PF_R, off: interpOff, size: uint64(len(interpData)), align: 1})
	t.writeProg(&b, prog{typ: elf.PT_LOAD, flags: elf.PF_R | elf.PF_X, off: 0, size: size, align: 0x1000})
	t.writeProg(&b, prog{typ: elf.PT_DYNAMIC, flags: elf.PF_R, off: dynOff, size: dynSize, align: 8})
	b.Write(make([]byte, dynSize)) // DT_NULL: tag 0, value 0
	b.Write(interpData)
	return b.Bytes()
}

// truncatedHeader is the first 20 bytes of a well-formed x86-64 ELF header: the
// identification and e_type/e_machine survive, e_version is cut in half.
func truncatedHeader() []byte {
	return minimal(x8664Exec, x86Interp, true)[:20]
}

// badPhoff is a lone x86-64 ELF header whose one program header lies past the end of
// the 64-byte file.
func badPhoff() []byte {
	t := x8664Exec
	var b bytes.Buffer
	t.writeHeader(&b, header{entry: t.base, phoff: 0x10000, phnum: 1})
	return b.Bytes()
}

// hugePhnum claims 0xffff program headers (PN_XNUM, which means "the real count is in
// section header 0" — and there are no section headers) but holds one PT_LOAD.
func hugePhnum() []byte {
	t := x8664Exec
	var b bytes.Buffer
	t.writeHeader(&b, header{entry: t.base, phoff: t.ehsize(), phnum: 0xffff})
	size := t.ehsize() + t.phentsize()
	t.writeProg(&b, prog{typ: elf.PT_LOAD, flags: elf.PF_R | elf.PF_X, off: 0, size: size, align: 0x1000})
	return b.Bytes()
}

// dynamicNoTerminator is an x86-64 dynamic executable whose only DT_NEEDED entry points
// at a string table with no NUL at all: the table is the last thing in the file, so a
// reader that looks for the terminator runs off the end. The dynamic array itself is
// well-formed (terminated by DT_NULL), and the same table is reachable both through
// PT_DYNAMIC/DT_STRTAB (as the loader finds it) and through the .dynamic section's link
// to .dynstr (as debug/elf's DynString finds it).
func dynamicNoTerminator() []byte {
	t := x8664Exec
	const (
		phnum = 3 // PT_INTERP, PT_LOAD, PT_DYNAMIC
		shnum = 4 // null, .dynstr, .dynamic, .shstrtab
		ndyn  = 4 // DT_NEEDED, DT_STRTAB, DT_STRSZ, DT_NULL
	)
	dynstr := []byte("libneeded-without-nul.so") // deliberately no trailing NUL
	shstrtab := []byte("\x00.dynstr\x00.dynamic\x00.shstrtab\x00")
	const (
		nameDynstr   = 1
		nameDynamic  = 9
		nameShstrtab = 18
	)
	interp := append([]byte(x86Interp), 0)
	align8 := func(n uint64) uint64 { return (n + 7) &^ 7 }

	phoff := t.ehsize()
	interpOff := phoff + phnum*t.phentsize()
	dynOff := align8(interpOff + uint64(len(interp)))
	dynSize := uint64(ndyn * 16)
	shstrOff := dynOff + dynSize
	shoff := align8(shstrOff + uint64(len(shstrtab)))
	dynstrOff := shoff + shnum*t.shentsize()
	size := dynstrOff + uint64(len(dynstr))

	var b bytes.Buffer
	pad := func(to uint64) {
		for uint64(b.Len()) < to {
			b.WriteByte(0)
		}
	}
	t.writeHeader(&b, header{
		entry: t.base + interpOff, phoff: phoff, shoff: shoff,
		phnum: phnum, shnum: shnum, shstrndx: 3,
	})
	t.writeProg(&b, prog{typ: elf.PT_INTERP, flags: elf.PF_R, off: interpOff, size: uint64(len(interp)), align: 1})
	t.writeProg(&b, prog{typ: elf.PT_LOAD, flags: elf.PF_R | elf.PF_X, off: 0, size: size, align: 0x1000})
	t.writeProg(&b, prog{typ: elf.PT_DYNAMIC, flags: elf.PF_R, off: dynOff, size: dynSize, align: 8})
	b.Write(interp)
	pad(dynOff)
	for _, d := range []elf.Dyn64{
		{Tag: int64(elf.DT_NEEDED), Val: 0},
		{Tag: int64(elf.DT_STRTAB), Val: t.base + dynstrOff},
		{Tag: int64(elf.DT_STRSZ), Val: uint64(len(dynstr))},
		{Tag: int64(elf.DT_NULL), Val: 0},
	} {
		t.write(&b, d)
	}
	b.Write(shstrtab)
	pad(shoff)
	for _, s := range []elf.Section64{
		{},
		{Name: nameDynstr, Type: uint32(elf.SHT_STRTAB), Flags: uint64(elf.SHF_ALLOC),
			Addr: t.base + dynstrOff, Off: dynstrOff, Size: uint64(len(dynstr)), Addralign: 1},
		{Name: nameDynamic, Type: uint32(elf.SHT_DYNAMIC), Flags: uint64(elf.SHF_ALLOC | elf.SHF_WRITE),
			Addr: t.base + dynOff, Off: dynOff, Size: dynSize, Link: 1, Addralign: 8, Entsize: 16},
		{Name: nameShstrtab, Type: uint32(elf.SHT_STRTAB), Off: shstrOff,
			Size: uint64(len(shstrtab)), Addralign: 1},
	} {
		t.write(&b, s)
	}
	b.Write(dynstr)
	return b.Bytes()
}
