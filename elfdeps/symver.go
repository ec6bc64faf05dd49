package elfdeps

import (
	"debug/elf"
	"encoding/binary"
	"errors"
)

// debug/elf reads symbol versions through the whole dynamic symbol table
// (DynamicVersionNeeds and DynamicVersions load every symbol first): 60 ms
// for node's. Only the small SHT_GNU_verneed and SHT_GNU_verdef sections
// are needed to know which versions an object needs or defines, so they are
// read here directly (layouts from glibc's elf.h, the same for 32 and 64 bits).

const (
	verneedSize = 16 // Elf_Verneed: version, cnt u16; file, aux, next u32
	vernauxSize = 16 // Elf_Vernaux: hash u32; flags, other u16; name, next u32
	verdefSize  = 20 // Elf_Verdef: version, flags, ndx, cnt u16; hash, aux, next u32
	verdauxSize = 8  // Elf_Verdaux: name, next u32
)

var errBadVersions = errors.New("malformed symbol version section")

// versionNeeds returns, for each needed file, the versions it must define.
func versionNeeds(f *elf.File, tables linkedStrings) ([]elf.DynamicVersionNeed, error) {
	data, strs, bo, err := versionSection(f, elf.SHT_GNU_VERNEED, tables)
	if data == nil || err != nil {
		return nil, err
	}
	var out []elf.DynamicVersionNeed
	for off, i := uint32(0), 0; i < len(data)/verneedSize; i++ {
		if uint64(off)+verneedSize > uint64(len(data)) {
			return nil, errBadVersions
		}
		e := data[off:]
		cnt, file, aux, next := bo.Uint16(e[2:]), bo.Uint32(e[4:]), bo.Uint32(e[8:]), bo.Uint32(e[12:])
		need := elf.DynamicVersionNeed{Name: strs.name(file)}
		for a, j := off+aux, 0; j < int(cnt); j++ {
			if uint64(a)+vernauxSize > uint64(len(data)) {
				return nil, errBadVersions
			}
			x := data[a:]
			need.Needs = append(need.Needs, elf.DynamicVersionDep{
				Flags: elf.DynamicVersionFlag(bo.Uint16(x[4:])), Index: bo.Uint16(x[6:]), Dep: strs.name(bo.Uint32(x[8:]))})
			if bo.Uint32(x[12:]) == 0 {
				break
			}
			a += bo.Uint32(x[12:])
		}
		out = append(out, need)
		if next == 0 {
			break
		}
		off += next
	}
	return out, nil
}

// versionDefs returns the versions an object defines.
func versionDefs(f *elf.File, tables linkedStrings) ([]elf.DynamicVersion, error) {
	data, strs, bo, err := versionSection(f, elf.SHT_GNU_VERDEF, tables)
	if data == nil || err != nil {
		return nil, err
	}
	var out []elf.DynamicVersion
	for off, i := uint32(0), 0; i < len(data)/verdefSize; i++ {
		if uint64(off)+verdefSize > uint64(len(data)) {
			return nil, errBadVersions
		}
		e := data[off:]
		flags, ndx, aux, next := bo.Uint16(e[2:]), bo.Uint16(e[4:]), bo.Uint32(e[12:]), bo.Uint32(e[16:])
		if uint64(off)+uint64(aux)+verdauxSize > uint64(len(data)) {
			return nil, errBadVersions
		}
		name := strs.name(bo.Uint32(data[off+aux:]))
		out = append(out, elf.DynamicVersion{Name: name, Index: ndx, Flags: elf.DynamicVersionFlag(flags)})
		if next == 0 {
			break
		}
		off += next
	}
	return out, nil
}

// linkedStrings holds the string tables already read, by section index: the
// version needs and definitions share .dynstr, 300 kB in libstdc++, which is
// read once.
type linkedStrings map[uint32]stringTable

// versionSection returns a version section's bytes and its string table
// (node's is 5 MB: big tables are read name by name), from tables if it is
// there.
func versionSection(f *elf.File, typ elf.SectionType, tables linkedStrings) ([]byte, stringTable, binary.ByteOrder, error) {
	s := f.SectionByType(typ)
	if s == nil {
		return nil, stringTable{}, nil, nil
	}
	if s.Link == 0 || int(s.Link) >= len(f.Sections) {
		return nil, stringTable{}, nil, errBadVersions
	}
	data, err := s.Data()
	if err != nil {
		return nil, stringTable{}, nil, err
	}
	strs, ok := tables[s.Link]
	if !ok {
		if strs, err = sectionStrings(f.Sections[s.Link], false); err != nil {
			return nil, stringTable{}, nil, err
		}
		tables[s.Link] = strs
	}
	return data, strs, f.ByteOrder, nil
}

// cstring returns the NUL-terminated string at off, or "" out of bounds.
func cstring(b []byte, off uint32) string {
	if uint64(off) >= uint64(len(b)) {
		return ""
	}
	for i := off; int(i) < len(b); i++ {
		if b[i] == 0 {
			return string(b[off:i])
		}
	}
	return ""
}
