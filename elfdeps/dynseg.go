package elfdeps

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
)

// Bounds for reading the dynamic segment of a file without section headers.
const (
	maxDynamicSize = 1 << 20 // bytes of PT_DYNAMIC read
	maxStrtabSize  = 1 << 24 // bytes of the DT_STRTAB string table read
)

// dynStrings is f.DynString(tag) that refuses, rather than drops, a name
// that is not a NUL-terminated string inside the string table.
func dynStrings(f *elf.File, tag elf.DynTag) ([]string, error) {
	strs, err := f.DynString(tag)
	if err != nil {
		return nil, err
	}
	offs, err := f.DynValue(tag)
	if err != nil {
		return nil, err
	}
	if len(offs) != len(strs) {
		return nil, fmt.Errorf("a %v entry is not a NUL-terminated string inside the string table", tag)
	}
	return strs, nil
}

// readDynamicSegment reads the dynamic array through PT_DYNAMIC and
// DT_STRTAB, as the loader does, for a file that has no SHT_DYNAMIC section
// (its section headers stripped, as sstrip does). Symbol versions need the
// section headers and are not read.
func (o *object) readDynamicSegment(f *elf.File) error {
	var dyn *elf.Prog
	for _, p := range f.Progs {
		if p.Type == elf.PT_DYNAMIC {
			dyn = p
			break
		}
	}
	b, err := readSegment(dyn, maxDynamicSize)
	if err != nil {
		return err
	}
	size := 16
	if o.class == elf.ELFCLASS32 {
		size = 8
	}
	var (
		strtab, strsz uint64
		haveStrtab    bool
		strs          []struct {
			tag elf.DynTag
			off uint64
		}
	)
	for ; len(b) >= size; b = b[size:] {
		var tag elf.DynTag
		var val uint64
		if size == 16 {
			tag, val = elf.DynTag(f.ByteOrder.Uint64(b)), f.ByteOrder.Uint64(b[8:])
		} else {
			tag, val = elf.DynTag(f.ByteOrder.Uint32(b)), uint64(f.ByteOrder.Uint32(b[4:]))
		}
		switch tag {
		case elf.DT_NULL:
			b = nil
		case elf.DT_STRTAB:
			strtab, haveStrtab = val, true
		case elf.DT_STRSZ:
			strsz = val
		case elf.DT_FLAGS_1:
			o.flags1 = val
		case elf.DT_NEEDED, elf.DT_RPATH, elf.DT_RUNPATH, elf.DT_SONAME:
			strs = append(strs, struct {
				tag elf.DynTag
				off uint64
			}{tag, val})
		}
		if b == nil {
			break
		}
	}
	if len(strs) == 0 {
		return nil
	}
	if !haveStrtab {
		return errors.New("the dynamic segment names libraries but has no DT_STRTAB")
	}
	table, err := readVaddr(f, strtab, min(strsz, maxStrtabSize))
	if err != nil {
		return fmt.Errorf("reading DT_STRTAB: %w", err)
	}
	for _, s := range strs {
		if s.off >= uint64(len(table)) {
			return fmt.Errorf("a %v entry points outside the string table", s.tag)
		}
		i := bytes.IndexByte(table[s.off:], 0)
		if i < 0 {
			return fmt.Errorf("a %v entry is not a NUL-terminated string inside the string table", s.tag)
		}
		v := string(table[s.off : s.off+uint64(i)])
		switch s.tag {
		case elf.DT_NEEDED:
			o.needed = append(o.needed, v)
		case elf.DT_RPATH:
			o.rpath = appendPaths(o.rpath, v)
		case elf.DT_RUNPATH:
			o.runpath = appendPaths(o.runpath, v)
		case elf.DT_SONAME:
			if o.soname == "" {
				o.soname = v
			}
		}
	}
	return nil
}

// readVaddr reads n bytes at virtual address addr from the PT_LOAD segment
// that maps them from the file.
func readVaddr(f *elf.File, addr, n uint64) ([]byte, error) {
	for _, p := range f.Progs {
		if p.Type != elf.PT_LOAD || addr < p.Vaddr || addr-p.Vaddr >= p.Filesz {
			continue
		}
		off := addr - p.Vaddr
		n = min(n, p.Filesz-off)
		// Copy rather than allocate n bytes up front: n comes from the file.
		var b bytes.Buffer
		if _, err := io.Copy(&b, io.NewSectionReader(p, int64(off), int64(n))); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	}
	return nil, fmt.Errorf("address %#x is not in a loaded segment", addr)
}
