// Package elftest writes small, well-formed ELF files of any architecture
// scratchpack knows, for tests that need a program and a sysroot of a machine
// no cross compiler here targets. The files have headers, a dynamic section
// and a string table, and no code: they can be inspected and resolved, not run.
package elftest

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Arch is the ELF header of one architecture and the path of its glibc loader.
type Arch struct {
	Name    string // GOARCH-style: amd64, arm64, arm, 386, riscv64, ppc64le, s390x
	Class   elf.Class
	Order   binary.ByteOrder
	Machine elf.Machine
	Flags   uint32 // e_flags
	Interp  string // glibc's PT_INTERP on this architecture
	Triplet string // Debian's multiarch triplet
}

// e_flags values that debug/elf does not name.
const (
	efARMEABIVer5      = 0x05000000
	efARMABIFloatHard  = 0x00000400
	efARMABIFloatSoft  = 0x00000200
	efRISCVRVC         = 0x0001
	efRISCVFloatDouble = 0x0004
	efPPC64ABIv2       = 0x0002
)

// Archs are the architectures scratchpack resolves, with glibc's loader
// paths; "armel" is soft-float arm.
var Archs = map[string]Arch{
	"amd64":   {"amd64", elf.ELFCLASS64, binary.LittleEndian, elf.EM_X86_64, 0, "/lib64/ld-linux-x86-64.so.2", "x86_64-linux-gnu"},
	"arm64":   {"arm64", elf.ELFCLASS64, binary.LittleEndian, elf.EM_AARCH64, 0, "/lib/ld-linux-aarch64.so.1", "aarch64-linux-gnu"},
	"arm":     {"arm", elf.ELFCLASS32, binary.LittleEndian, elf.EM_ARM, efARMEABIVer5 | efARMABIFloatHard, "/lib/ld-linux-armhf.so.3", "arm-linux-gnueabihf"},
	"armel":   {"arm", elf.ELFCLASS32, binary.LittleEndian, elf.EM_ARM, efARMEABIVer5 | efARMABIFloatSoft, "/lib/ld-linux.so.3", "arm-linux-gnueabi"},
	"386":     {"386", elf.ELFCLASS32, binary.LittleEndian, elf.EM_386, 0, "/lib/ld-linux.so.2", "i386-linux-gnu"},
	"riscv64": {"riscv64", elf.ELFCLASS64, binary.LittleEndian, elf.EM_RISCV, efRISCVRVC | efRISCVFloatDouble, "/lib/ld-linux-riscv64-lp64d.so.1", "riscv64-linux-gnu"},
	"ppc64le": {"ppc64le", elf.ELFCLASS64, binary.LittleEndian, elf.EM_PPC64, efPPC64ABIv2, "/lib64/ld64.so.2", "powerpc64le-linux-gnu"},
	"s390x":   {"s390x", elf.ELFCLASS64, binary.BigEndian, elf.EM_S390, 0, "/lib/ld64.so.1", "s390x-linux-gnu"},
}

// ArchNames are the keys of Archs, sorted.
func ArchNames() []string {
	var names []string
	for n := range Archs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// File is one ELF file to write.
type File struct {
	Arch     Arch
	Type     elf.Type // elf.ET_EXEC for a program, elf.ET_DYN for a library
	Interp   string   // PT_INTERP, if any
	Needed   []string // DT_NEEDED
	Soname   string   // DT_SONAME, if any
	RPath    []string // DT_RPATH, joined with ':', if any
	Sections []Section
}

// Section is an extra section, such as .ARM.attributes.
type Section struct {
	Name string
	Type elf.SectionType
	Data []byte
}

// Program is a dynamic program of arch that needs libs.
func Program(arch Arch, libs ...string) File {
	return File{Arch: arch, Type: elf.ET_EXEC, Interp: arch.Interp, Needed: libs}
}

// Library is a shared library of arch with that soname, needing libs.
func Library(arch Arch, soname string, libs ...string) File {
	return File{Arch: arch, Type: elf.ET_DYN, Soname: soname, Needed: libs}
}

// Bytes lays the file out: ELF header, program headers (PT_INTERP, one
// PT_LOAD over the whole file, PT_DYNAMIC), the interpreter path, the dynamic
// array, the dynamic string table, the extra sections, the section-name table
// and the section headers.
func (f File) Bytes() []byte {
	a := f.Arch
	is64 := a.Class == elf.ELFCLASS64
	ehsize, phentsize, shentsize, dynsize := uint64(52), uint64(32), uint64(40), uint64(8)
	if is64 {
		ehsize, phentsize, shentsize, dynsize = 64, 56, 64, 16
	}
	base := uint64(0)
	if f.Type == elf.ET_EXEC {
		base = 0x10000
	}

	// The string table and the dynamic entries that point into it.
	dynstr := []byte{0}
	str := func(s string) uint64 {
		off := uint64(len(dynstr))
		dynstr = append(append(dynstr, s...), 0)
		return off
	}
	type dyn struct {
		tag elf.DynTag
		val uint64
	}
	var dyns []dyn
	for _, n := range f.Needed {
		dyns = append(dyns, dyn{elf.DT_NEEDED, str(n)})
	}
	if f.Soname != "" {
		dyns = append(dyns, dyn{elf.DT_SONAME, str(f.Soname)})
	}
	if len(f.RPath) > 0 {
		dyns = append(dyns, dyn{elf.DT_RPATH, str(strings.Join(f.RPath, ":"))})
	}

	phnum := uint64(2)
	if f.Interp != "" {
		phnum++
	}
	align := func(n uint64) uint64 { return (n + 7) &^ 7 }
	off := ehsize + phnum*phentsize
	interpOff := off
	interp := []byte(nil)
	if f.Interp != "" {
		interp = append([]byte(f.Interp), 0)
	}
	dynOff := align(interpOff + uint64(len(interp)))
	dynSize := uint64(len(dyns)+3) * dynsize // + DT_STRTAB, DT_STRSZ, DT_NULL
	dynstrOff := dynOff + dynSize
	dyns = append(dyns, dyn{elf.DT_STRTAB, base + dynstrOff}, dyn{elf.DT_STRSZ, uint64(len(dynstr))}, dyn{elf.DT_NULL, 0})

	// Sections: null, .interp?, .dynamic, .dynstr, extras..., .shstrtab.
	shstrtab := []byte{0}
	name := func(s string) uint32 {
		off := uint32(len(shstrtab))
		shstrtab = append(append(shstrtab, s...), 0)
		return uint32(off)
	}
	type sect struct {
		name            uint32
		typ             elf.SectionType
		flags           elf.SectionFlag
		off, size, link uint64
		entsize         uint64
		data            []byte
	}
	var sects []sect
	sects = append(sects, sect{})
	if f.Interp != "" {
		sects = append(sects, sect{name: name(".interp"), typ: elf.SHT_PROGBITS, flags: elf.SHF_ALLOC, off: interpOff, size: uint64(len(interp))})
	}
	dynstrIndex := uint64(len(sects) + 1)
	sects = append(sects,
		sect{name: name(".dynamic"), typ: elf.SHT_DYNAMIC, flags: elf.SHF_ALLOC | elf.SHF_WRITE, off: dynOff, size: dynSize, link: dynstrIndex, entsize: dynsize},
		sect{name: name(".dynstr"), typ: elf.SHT_STRTAB, flags: elf.SHF_ALLOC, off: dynstrOff, size: uint64(len(dynstr))})
	end := dynstrOff + uint64(len(dynstr))
	for _, s := range f.Sections {
		sects = append(sects, sect{name: name(s.Name), typ: s.Type, off: end, size: uint64(len(s.Data)), data: s.Data})
		end += uint64(len(s.Data))
	}
	shstrndx := len(sects)
	sects = append(sects, sect{name: name(".shstrtab"), typ: elf.SHT_STRTAB, off: end})
	sects[shstrndx].size = uint64(len(shstrtab))
	sects[shstrndx].data = shstrtab
	end += uint64(len(shstrtab))
	shoff := align(end)
	size := shoff + uint64(len(sects))*shentsize

	var b bytes.Buffer
	w := func(v any) {
		if err := binary.Write(&b, a.Order, v); err != nil {
			panic(fmt.Sprintf("elftest: encoding %T: %v", v, err))
		}
	}
	pad := func(to uint64) {
		for uint64(b.Len()) < to {
			b.WriteByte(0)
		}
	}
	var ident [elf.EI_NIDENT]byte
	copy(ident[:], elf.ELFMAG)
	ident[elf.EI_CLASS] = byte(a.Class)
	ident[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	if a.Order == binary.BigEndian {
		ident[elf.EI_DATA] = byte(elf.ELFDATA2MSB)
	}
	ident[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	entry := base + dynOff
	if is64 {
		w(elf.Header64{Ident: ident, Type: uint16(f.Type), Machine: uint16(a.Machine), Version: uint32(elf.EV_CURRENT),
			Entry: entry, Phoff: ehsize, Shoff: shoff, Flags: a.Flags, Ehsize: uint16(ehsize),
			Phentsize: uint16(phentsize), Phnum: uint16(phnum), Shentsize: uint16(shentsize),
			Shnum: uint16(len(sects)), Shstrndx: uint16(shstrndx)})
	} else {
		w(elf.Header32{Ident: ident, Type: uint16(f.Type), Machine: uint16(a.Machine), Version: uint32(elf.EV_CURRENT),
			Entry: uint32(entry), Phoff: uint32(ehsize), Shoff: uint32(shoff), Flags: a.Flags, Ehsize: uint16(ehsize),
			Phentsize: uint16(phentsize), Phnum: uint16(phnum), Shentsize: uint16(shentsize),
			Shnum: uint16(len(sects)), Shstrndx: uint16(shstrndx)})
	}
	prog := func(typ elf.ProgType, flags elf.ProgFlag, off, n, al uint64) {
		if is64 {
			w(elf.Prog64{Type: uint32(typ), Flags: uint32(flags), Off: off, Vaddr: base + off, Paddr: base + off, Filesz: n, Memsz: n, Align: al})
			return
		}
		w(elf.Prog32{Type: uint32(typ), Off: uint32(off), Vaddr: uint32(base + off), Paddr: uint32(base + off),
			Filesz: uint32(n), Memsz: uint32(n), Flags: uint32(flags), Align: uint32(al)})
	}
	if f.Interp != "" {
		prog(elf.PT_INTERP, elf.PF_R, interpOff, uint64(len(interp)), 1)
	}
	prog(elf.PT_LOAD, elf.PF_R|elf.PF_X, 0, size, 0x1000)
	prog(elf.PT_DYNAMIC, elf.PF_R, dynOff, dynSize, 8)
	b.Write(interp)
	pad(dynOff)
	for _, d := range dyns {
		if is64 {
			w(elf.Dyn64{Tag: int64(d.tag), Val: d.val})
		} else {
			w(elf.Dyn32{Tag: int32(d.tag), Val: uint32(d.val)})
		}
	}
	b.Write(dynstr)
	for _, s := range sects {
		if s.data != nil {
			pad(s.off)
			b.Write(s.data)
		}
	}
	pad(shoff)
	for _, s := range sects {
		if is64 {
			w(elf.Section64{Name: s.name, Type: uint32(s.typ), Flags: uint64(s.flags), Addr: addr(s.flags, base, s.off),
				Off: s.off, Size: s.size, Link: uint32(s.link), Addralign: 1, Entsize: s.entsize})
		} else {
			w(elf.Section32{Name: s.name, Type: uint32(s.typ), Flags: uint32(s.flags), Addr: uint32(addr(s.flags, base, s.off)),
				Off: uint32(s.off), Size: uint32(s.size), Link: uint32(s.link), Addralign: 1, Entsize: uint32(s.entsize)})
		}
	}
	return b.Bytes()
}

func addr(flags elf.SectionFlag, base, off uint64) uint64 {
	if flags&elf.SHF_ALLOC == 0 {
		return 0
	}
	return base + off
}

// ARMAttributes is an .ARM.attributes section whose "aeabi" file scope says
// Tag_CPU_name cpuName and Tag_CPU_arch cpuArch (6 = v6, 10 = v7, as in
// readelf -A), written in order's byte order.
func ARMAttributes(order binary.AppendByteOrder, cpuName string, cpuArch byte) Section {
	attrs := append([]byte{5}, cpuName...)     // Tag_CPU_name
	attrs = append(attrs, 0, 6, cpuArch, 8, 1) // Tag_CPU_arch, Tag_ARM_ISA_use: yes
	file := append([]byte{1}, order.AppendUint32(nil, uint32(1+4+len(attrs)))...)
	file = append(file, attrs...)
	vendor := append([]byte("aeabi\x00"), file...)
	data := append([]byte{'A'}, order.AppendUint32(nil, uint32(4+len(vendor)))...)
	return Section{Name: ".ARM.attributes", Type: 0x70000003, Data: append(data, vendor...)}
}

// Write writes f to dir/rel (a slash-separated path), creating directories.
func Write(dir, rel string, f File) (string, error) {
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return "", err
	}
	return p, os.WriteFile(p, f.Bytes(), 0o755)
}
