package elfdeps

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
)

// Symbol tables are read here directly, and only as far as needed.
// debug/elf's DynamicSymbols decodes every symbol and its name: 60 ms for
// node, whose .dynsym holds 75,000 symbols and whose .dynstr is 5 MB, to
// learn the 500 names node imports. Here the table is read once as raw
// bytes and only the names of the symbols asked for are read.

const (
	maxSymtabSize   = 64 << 20 // bytes of one symbol table read at most
	wholeStrtabSize = 1 << 20  // string tables up to this size are read at once; larger ones name by name
	shnUndef        = 0        // SHN_UNDEF: the symbol is defined elsewhere
)

var errBadSymbols = errors.New("malformed symbol table")

// dynTables are the dynamic-array entries that locate the dynamic symbol
// table without section headers.
type dynTables struct {
	symtab, syment, strtab, strsz, hash, gnuHash uint64
	haveSymtab, haveStrtab                       bool
}

// symbol is one entry of a symbol table, as far as scratchpack reads it.
type symbol struct {
	name  uint32 // offset in the string table
	info  byte
	shndx uint16
}

// symtab is a symbol table read into memory, with its string table.
type symtab struct {
	raw     []byte
	entsize int
	is64    bool
	bo      binary.ByteOrder
	strs    stringTable
	// undefinedOnly: the table was cut at the GNU hash table's symoffset,
	// before which all (and only the unhashed, i.e. undefined) symbols are.
	undefinedOnly bool
}

func (t *symtab) len() int { return len(t.raw) / t.entsize }

func (t *symtab) at(i int) symbol {
	e := t.raw[i*t.entsize:]
	if t.is64 { // Elf64_Sym: name u32, info u8, other u8, shndx u16, value u64, size u64
		return symbol{name: t.bo.Uint32(e), info: e[4], shndx: t.bo.Uint16(e[6:])}
	}
	// Elf32_Sym: name u32, value u32, size u32, info u8, other u8, shndx u16
	return symbol{name: t.bo.Uint32(e), info: e[12], shndx: t.bo.Uint16(e[14:])}
}

// names returns the sorted, distinct names of the symbols keep accepts
// (entry 0, the null symbol, is never one of them), only those in want if
// want is not nil.
func (t *symtab) names(keep func(symbol) bool, want map[string]bool) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for i := 1; i < t.len(); i++ {
		s := t.at(i)
		if s.name == 0 || !keep(s) {
			continue
		}
		n, err := t.strs.at(s.name)
		if err != nil {
			return nil, err
		}
		if n != "" && !seen[n] && (want == nil || want[n]) {
			seen[n] = true
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out, nil
}

// stringTable reads NUL-terminated names: from memory for a small table,
// one by one from the file for a big one.
type stringTable struct {
	mem  []byte
	read func(off, n uint64) ([]byte, error) // for big tables
	size uint64
}

// name is at for tables where a broken name only loses that name: "" on error.
func (s stringTable) name(off uint32) string {
	n, err := s.at(off)
	if err != nil {
		return ""
	}
	return n
}

func (s stringTable) at(off uint32) (string, error) {
	if s.mem != nil {
		return cstring(s.mem, off), nil
	}
	o := uint64(off)
	if o >= s.size {
		return "", fmt.Errorf("%w: a name lies outside the string table", errBadSymbols)
	}
	for n := uint64(256); ; n *= 16 {
		n = min(n, s.size-o, maxStringSize)
		b, err := s.read(o, n)
		if err != nil {
			return "", err
		}
		if i := bytes.IndexByte(b, 0); i >= 0 {
			return string(b[:i]), nil
		}
		if uint64(len(b)) < n || n == s.size-o || n == maxStringSize {
			return "", fmt.Errorf("%w: a name is not NUL-terminated", errBadSymbols)
		}
	}
}

// imports returns the names of the object's undefined dynamic symbols: the
// functions and data it takes from the objects it is linked with.
func (o *object) imports() ([]string, error) {
	t, err := o.undefinedSymbols()
	if t == nil && err == nil {
		t, err = o.dynamicSymbols(false)
	}
	if t == nil || err != nil {
		return nil, err
	}
	return t.names(func(s symbol) bool { return s.shndx == shnUndef }, nil)
}

// defines reports which of names the object defines and exports in its
// dynamic symbol table.
func (o *object) defines(names ...string) (map[string]bool, error) {
	t, err := o.dynamicSymbols(true)
	if t == nil || err != nil || t.undefinedOnly {
		return map[string]bool{}, err
	}
	found, err := t.names(func(s symbol) bool { return s.shndx != shnUndef && s.info>>4 != byte(elf.STB_LOCAL) }, set(names))
	return set(found), err
}

// staticFunctions returns which of names a program without a dynamic
// symbol table (a static program) has in its full symbol table, .symtab;
// nothing for a stripped one.
func (o *object) staticFunctions(names ...string) (map[string]bool, error) {
	s := o.f.SectionByType(elf.SHT_SYMTAB)
	if s == nil {
		return map[string]bool{}, nil
	}
	t, err := sectionSymtab(o.f, s, true)
	if err != nil {
		return nil, err
	}
	found, err := t.names(func(s symbol) bool { return s.shndx != shnUndef }, set(names))
	return set(found), err
}

func set(names []string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// dynamicSymbols reads the dynamic symbol table: through its section
// header, or, in a file without section headers, through the dynamic array
// as the loader does (its size from DT_HASH, or, with only DT_GNU_HASH,
// just the unhashed symbols before symoffset, which are the undefined ones).
// It returns nil, nil for an object without one. With all, the string
// table is read at once whatever its size (most names will be read).
func (o *object) dynamicSymbols(all bool) (*symtab, error) {
	if o.f == nil {
		return nil, nil
	}
	if s := o.f.SectionByType(elf.SHT_DYNSYM); s != nil {
		return sectionSymtab(o.f, s, all)
	}
	d := o.dyn
	if !d.haveSymtab || !d.haveStrtab {
		return nil, nil
	}
	entsize := o.symEntSize()
	if d.syment != 0 && d.syment != uint64(entsize) {
		return nil, fmt.Errorf("%w: DT_SYMENT is %d, not %d", errBadSymbols, d.syment, entsize)
	}
	var count uint64
	undefinedOnly := false
	switch {
	case d.hash != 0: // nbucket u32, nchain u32: nchain is the number of symbols
		b, err := readVaddr(o.f, d.hash, 8)
		if err != nil || len(b) < 8 {
			return nil, fmt.Errorf("%w: reading DT_HASH: %v", errBadSymbols, err)
		}
		count = uint64(o.f.ByteOrder.Uint32(b[4:]))
	case d.gnuHash != 0: // nbuckets u32, symoffset u32, ...
		b, err := readVaddr(o.f, d.gnuHash, 8)
		if err != nil || len(b) < 8 {
			return nil, fmt.Errorf("%w: reading DT_GNU_HASH: %v", errBadSymbols, err)
		}
		count, undefinedOnly = uint64(o.f.ByteOrder.Uint32(b[4:])), true
	default:
		return nil, nil
	}
	size := count * uint64(entsize)
	if size > maxSymtabSize {
		return nil, fmt.Errorf("%w: %d symbols", errBadSymbols, count)
	}
	raw, err := readVaddr(o.f, d.symtab, size)
	if err != nil {
		return nil, fmt.Errorf("%w: reading DT_SYMTAB: %v", errBadSymbols, err)
	}
	strs := stringTable{size: d.strsz, read: func(off, n uint64) ([]byte, error) { return readVaddr(o.f, d.strtab+off, n) }}
	return o.newSymtab(raw, entsize, strs, undefinedOnly, all)
}

// undefinedSymbols reads only the head of the dynamic symbol table that
// holds the undefined symbols: the GNU hash table must cover a contiguous
// tail of .dynsym, starting at its symoffset, and undefined symbols are
// never hashed, so GNU ld, gold and lld put all of them first. node's
// imports are then 12 kB of its 1.8 MB .dynsym. nil, nil without DT_GNU_HASH.
func (o *object) undefinedSymbols() (*symtab, error) {
	d := o.dyn
	if d.gnuHash == 0 || !d.haveSymtab || !d.haveStrtab || o.f == nil {
		return nil, nil
	}
	b, err := readVaddr(o.f, d.gnuHash, 8)
	if err != nil || len(b) < 8 {
		return nil, fmt.Errorf("%w: reading DT_GNU_HASH: %v", errBadSymbols, err)
	}
	entsize := o.symEntSize()
	size := uint64(o.f.ByteOrder.Uint32(b[4:])) * uint64(entsize)
	if size > maxSymtabSize {
		return nil, fmt.Errorf("%w: symoffset %d", errBadSymbols, size/uint64(entsize))
	}
	raw, err := readVaddr(o.f, d.symtab, size)
	if err != nil {
		return nil, fmt.Errorf("%w: reading DT_SYMTAB: %v", errBadSymbols, err)
	}
	strs := stringTable{size: d.strsz, read: func(off, n uint64) ([]byte, error) { return readVaddr(o.f, d.strtab+off, n) }}
	return o.newSymtab(raw, entsize, strs, true, false)
}

func (o *object) symEntSize() int {
	if o.class == elf.ELFCLASS64 {
		return 24
	}
	return 16
}

func (o *object) newSymtab(raw []byte, entsize int, strs stringTable, undefinedOnly, all bool) (*symtab, error) {
	if strs.mem == nil && (strs.size <= wholeStrtabSize || all && strs.size <= maxSymtabSize) {
		b, err := strs.read(0, strs.size)
		if err != nil {
			return nil, err
		}
		strs.mem = b
	}
	return &symtab{raw: raw, entsize: entsize, is64: o.class == elf.ELFCLASS64, bo: o.f.ByteOrder, strs: strs, undefinedOnly: undefinedOnly}, nil
}

// sectionSymtab reads a symbol table section and locates its string table
// through sh_link.
func sectionSymtab(f *elf.File, s *elf.Section, all bool) (*symtab, error) {
	o := &object{class: f.Class, f: f}
	entsize := o.symEntSize()
	if s.Type == elf.SHT_NOBITS || s.Flags&elf.SHF_COMPRESSED != 0 || s.Size > maxSymtabSize || s.Link == 0 || int(s.Link) >= len(f.Sections) {
		return nil, fmt.Errorf("%w: section %s", errBadSymbols, s.Name)
	}
	raw, err := readAtMost(io.NewSectionReader(s, 0, int64(s.Size)), s.Size)
	if err != nil {
		return nil, fmt.Errorf("%w: reading %s: %v", errBadSymbols, s.Name, err)
	}
	strs, err := sectionStrings(f.Sections[s.Link], all)
	if err != nil {
		return nil, fmt.Errorf("%w: the string table of %s: %v", errBadSymbols, s.Name, err)
	}
	return o.newSymtab(raw, entsize, strs, false, all)
}

// sectionStrings returns a string table section: read at once if it is
// small (or all its names are wanted), else name by name.
func sectionStrings(str *elf.Section, all bool) (stringTable, error) {
	if str.Type == elf.SHT_NOBITS || str.Flags&elf.SHF_COMPRESSED != 0 {
		return stringTable{}, errors.New("not a readable string table")
	}
	strs := stringTable{size: str.Size, read: func(off, n uint64) ([]byte, error) {
		return readAtMost(io.NewSectionReader(str, int64(off), int64(n)), n)
	}}
	if strs.size <= wholeStrtabSize || all && strs.size <= maxSymtabSize {
		b, err := strs.read(0, strs.size)
		if err != nil {
			return stringTable{}, err
		}
		strs.mem = b
	}
	return strs, nil
}

// readImports fills rep.Imports: the undefined dynamic symbols of a
// dynamic program or library, or the needs-table functions linked into a
// static C program. debug/elf is not hardened against hostile input, and
// neither is a symbol table: a panic becomes an error.
func (rep *Report) readImports() (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %v", ErrCorrupt, p)
		}
	}()
	o := rep.obj
	switch {
	case rep.Kind == KindStatic || rep.Kind == KindStaticPIE:
		if rep.Go != nil {
			return nil // Go programs are read through GoInfo.Uses
		}
		found, err := o.staticFunctions(triggerNames()...)
		for n := range found {
			rep.Imports = append(rep.Imports, n)
		}
		sort.Strings(rep.Imports)
		return err
	case o.dynamic:
		rep.Imports, err = o.imports()
	}
	return err
}

// readAtMost reads up to n bytes. n comes from the file, so only the first
// MB is allocated up front; beyond that the buffer grows as data arrives.
func readAtMost(r io.Reader, n uint64) ([]byte, error) {
	b := make([]byte, min(n, 1<<20))
	got, err := io.ReadFull(r, b)
	if err == io.EOF || err == io.ErrUnexpectedEOF || err == nil && uint64(got) == n {
		return b[:got], nil
	}
	if err != nil {
		return nil, err
	}
	rest := bytes.NewBuffer(b)
	if _, err := io.Copy(rest, io.LimitReader(r, int64(n)-int64(got))); err != nil {
		return nil, err
	}
	return rest.Bytes(), nil
}
