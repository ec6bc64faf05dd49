package elfdeps

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
)

// object is what scratchpack needs from one ELF file.
type object struct {
	class   elf.Class
	data    elf.Data
	machine elf.Machine
	typ     elf.Type
	flags   uint32 // e_flags, which debug/elf does not expose

	interp   string
	dynamic  bool // has a PT_DYNAMIC segment
	needed   []string
	rpath    []string
	runpath  []string
	soname   string
	flags1   uint64
	verneeds []elf.DynamicVersionNeed
	verdefs  []elf.DynamicVersion
	abiTag   bool // has .note.ABI-tag, which glibc links into every program
	dyn      dynTables

	f *elf.File // kept for Go build info and later readers
}

const df1PIE = 0x08000000 // DF_1_PIE: an executable, not a library (debug/elf lacks it)

// readObject parses an ELF file. debug/elf is not hardened against hostile
// input and can panic; a panic becomes an ErrCorrupt error.
func readObject(r io.ReaderAt) (o *object, err error) {
	return readObjectParts(r, true)
}

// readObjectParts is readObject, reading the symbol-version sections only
// if versions is set.
func readObjectParts(r io.ReaderAt, versions bool) (o *object, err error) {
	defer func() {
		if p := recover(); p != nil {
			o, err = nil, fmt.Errorf("%w: %v", ErrCorrupt, p)
		}
	}()
	var magic [4]byte
	if _, err := r.ReadAt(magic[:], 0); err != nil || string(magic[:]) != elf.ELFMAG {
		if _, err := r.ReadAt(magic[:2], 0); err == nil && string(magic[:2]) == "#!" {
			return nil, ErrScript
		}
		return nil, ErrNotELF
	}
	f, err := elf.NewFile(r)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	o = &object{class: f.Class, data: f.Data, machine: f.Machine, typ: f.Type, f: f}
	if o.flags, err = readFlags(r, f); err != nil {
		return nil, err
	}
	for _, p := range f.Progs {
		switch p.Type {
		case elf.PT_INTERP:
			b, err := readSegment(p, 4096)
			if err != nil {
				return nil, fmt.Errorf("%w: reading PT_INTERP: %v", ErrCorrupt, err)
			}
			i := bytes.IndexByte(b, 0)
			if i < 0 {
				return nil, fmt.Errorf("%w: PT_INTERP is not NUL-terminated", ErrCorrupt)
			}
			o.interp = string(b[:i])
		case elf.PT_DYNAMIC:
			o.dynamic = true
		}
	}
	o.abiTag = f.Section(".note.ABI-tag") != nil
	if !o.dynamic {
		return o, nil
	}
	if err := o.readDynamic(f, versions); err != nil {
		return nil, fmt.Errorf("%w: reading the dynamic section: %v", ErrCorrupt, err)
	}
	return o, nil
}

func (o *object) readDynamic(f *elf.File, versions bool) error {
	if err := o.readDynamicSegment(f); err != nil {
		return err
	}
	if !versions {
		return nil
	}
	var err error
	// Version tables are optional: a library without symbol versioning has
	// none, and a broken one only loses the version report.
	tables := linkedStrings{}
	if o.verneeds, err = versionNeeds(f, tables); err != nil {
		o.verneeds = nil
	}
	if o.verdefs, err = versionDefs(f, tables); err != nil {
		o.verdefs = nil
	}
	return nil
}

// appendPaths appends the non-empty entries of a colon-separated list.
func appendPaths(dirs []string, list string) []string {
	for _, d := range strings.Split(list, ":") {
		if d != "" {
			dirs = append(dirs, d)
		}
	}
	return dirs
}

// readSegment reads at most max bytes of a segment's file image.
func readSegment(p *elf.Prog, max uint64) ([]byte, error) {
	n := p.Filesz
	if n > max {
		n = max
	}
	b := make([]byte, n)
	if _, err := p.ReadAt(b, 0); err != nil && err != io.EOF {
		return nil, err
	}
	return b, nil
}

// readFlags reads e_flags from the ELF header.
func readFlags(r io.ReaderAt, f *elf.File) (uint32, error) {
	off := int64(0x24) // ELF32
	if f.Class == elf.ELFCLASS64 {
		off = 0x30
	}
	var b [4]byte
	if _, err := r.ReadAt(b[:], off); err != nil {
		return 0, fmt.Errorf("%w: reading e_flags: %v", ErrCorrupt, err)
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if f.Data == elf.ELFDATA2MSB {
		bo = binary.BigEndian
	}
	return bo.Uint32(b[:]), nil
}

// musl reports whether the object's interpreter is musl's loader.
func (o *object) musl() bool {
	return strings.Contains(o.interp, "ld-musl-")
}

// kind classifies the object as the kernel and loader will treat it.
func (o *object) kind() Kind {
	switch {
	case o.typ == elf.ET_EXEC && o.interp != "":
		return KindDynamic
	case o.typ == elf.ET_EXEC:
		return KindStatic
	case o.typ != elf.ET_DYN:
		return Kind(strings.ToLower(strings.TrimPrefix(o.typ.String(), "ET_")))
	case o.flags1&df1PIE != 0 && o.interp != "":
		return KindDynamic
	case o.flags1&df1PIE != 0:
		return KindStaticPIE
	case o.soname != "":
		// A library that can also be run, like libc.so.6, is still a library.
		return KindSharedLibrary
	case o.interp != "":
		return KindDynamic // a PIE linked before DF_1_PIE existed
	default:
		return KindSharedLibrary
	}
}
