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
	maxStringSize  = 1 << 16 // bytes of one name (a path or a list of them) read
)

// readDynamicSegment reads the dynamic array through PT_DYNAMIC and
// DT_STRTAB, as the loader does: it works without section headers (a file
// stripped by sstrip), and reads only the strings it needs, where
// debug/elf's DynString reads the whole string table on every call.
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
			o.dyn.strsz = val
		case elf.DT_FLAGS_1:
			o.flags1 = val
		case elf.DT_SYMTAB:
			o.dyn.symtab, o.dyn.haveSymtab = val, true
		case elf.DT_SYMENT:
			o.dyn.syment = val
		case elf.DT_HASH:
			o.dyn.hash = val
		case elf.DT_GNU_HASH:
			o.dyn.gnuHash = val
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
	o.dyn.strtab, o.dyn.haveStrtab = strtab, haveStrtab
	if len(strs) == 0 {
		return nil
	}
	if !haveStrtab {
		return errors.New("the dynamic segment names libraries but has no DT_STRTAB")
	}
	for _, s := range strs {
		// Read each string where it is, not the whole table: node's is 5 MB.
		if s.off >= strsz || s.off >= maxStrtabSize {
			return fmt.Errorf("a %v entry points outside the string table", s.tag)
		}
		v, ok, err := dynString(f, strtab+s.off, min(strsz-s.off, maxStringSize))
		if err != nil {
			return fmt.Errorf("reading DT_STRTAB: %w", err)
		}
		if !ok {
			return fmt.Errorf("a %v entry is not a NUL-terminated string inside the string table", s.tag)
		}
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

// dynString reads the NUL-terminated string at virtual address addr, of at
// most limit bytes with its NUL; ok is false if there is no NUL. Names are
// short: it reads 256 bytes first, then 16 times more each time, as a 64 KiB
// read for each name was, in fresh memory, a fifth of a small pack's time.
func dynString(f *elf.File, addr, limit uint64) (string, bool, error) {
	for n := min(256, limit); ; n = min(n*16, limit) {
		chunk, err := readVaddr(f, addr, n)
		if err != nil {
			return "", false, err
		}
		if i := bytes.IndexByte(chunk, 0); i >= 0 {
			return string(chunk[:i]), true, nil
		}
		if uint64(len(chunk)) < n || n == limit {
			return "", false, nil
		}
	}
}

// readVaddr reads n bytes at virtual address addr from the PT_LOAD segment
// that maps them from the file.
func readVaddr(f *elf.File, addr, n uint64) ([]byte, error) {
	for _, p := range f.Progs {
		if p.Type != elf.PT_LOAD || addr < p.Vaddr || addr-p.Vaddr >= p.Filesz {
			continue
		}
		off := addr - p.Vaddr
		return readAtMost(io.NewSectionReader(p, int64(off), int64(min(n, p.Filesz-off))), min(n, p.Filesz-off))
	}
	return nil, fmt.Errorf("address %#x is not in a loaded segment", addr)
}
