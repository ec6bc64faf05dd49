package elfdeps

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// ErrBadLDCache means the bytes are not a well-formed ld.so.cache file.
// ParseLDCache wraps it with what was wrong and where.
var ErrBadLDCache = errors.New("malformed ld.so.cache")

// LDCache is a parsed ld.so.cache.
type LDCache struct {
	// Entries are the libraries in file order: sorted by soname, and for one
	// soname glibc-hwcaps entries first, then by flags, highest first.
	Entries []LDCacheEntry
}

// LDCacheEntry is one library in the cache.
type LDCacheEntry struct {
	Name  string // the soname key, e.g. "libc.so.6"
	Path  string // the file, e.g. "/lib/x86_64-linux-gnu/libc.so.6"
	Flags int32  // raw flags: FLAG_ELF_LIBC6 etc. and the arch bits
	// HWCaps is the raw hwcap field of the new format (0 in the old one). With
	// IsHWCaps, its low 32 bits index the cache's glibc-hwcaps name table and
	// bits 32-41 hold the x86 ISA level; without, a nonzero value is a legacy
	// hwcap/platform mask (tls/, i686/, haswell/ subdirectories, glibc < 2.37).
	HWCaps uint64
	// IsHWCaps is true for entries that belong to a glibc-hwcaps subdirectory
	// (new-format extension, bit 62 marker), e.g. glibc-hwcaps/x86-64-v3.
	IsHWCaps bool
}

// Layout of the two formats, from glibc's sysdeps/generic/dl-cache.h.
const (
	ldcOldMagic      = "ld.so-1.7.0"          // struct cache_file: magic[11], pad, nlibs
	ldcNewMagic      = "glibc-ld.so.cache1.1" // struct cache_file_new: magic + version
	ldcOldHeaderSize = 16
	ldcOldEntrySize  = 12 // struct file_entry: flags, key, value
	ldcNewHeaderSize = 48
	ldcNewEntrySize  = 24 // struct file_entry_new: flags, key, value, osversion, hwcap

	ldcEndianMask    = 3 // cache_file_new.flags & cache_file_new_flags_endian_mask
	ldcEndianUnset   = 0
	ldcEndianInvalid = 1
	ldcEndianLittle  = 2
	ldcEndianBig     = 3

	ldcHWCapExtension = 1 << 62   // DL_CACHE_HWCAP_EXTENSION
	ldcISALevelMask   = 1<<10 - 1 // DL_CACHE_HWCAP_ISA_LEVEL_MASK
)

// Flag values from glibc's sysdeps/generic/ldconfig.h.
const (
	ldcFlagELF              = 0x0001
	ldcFlagELFLibc6         = 0x0003
	ldcFlagSparcLib64       = 0x0100
	ldcFlagX8664Lib64       = 0x0300
	ldcFlagS390Lib64        = 0x0400
	ldcFlagPowerPCLib64     = 0x0500
	ldcFlagMIPS64LibN64     = 0x0700
	ldcFlagX8664LibX32      = 0x0800
	ldcFlagARMLibHF         = 0x0900
	ldcFlagAArch64Lib64     = 0x0a00
	ldcFlagRISCVFloatABIDbl = 0x1000
	ldcFlagLArchFloatABIDbl = 0x1200
)

// ParseLDCache parses the bytes of an ld.so.cache file in either layout: the
// old "ld.so-1.7.0" layout (optionally followed by the new one, as older glibc wrote
// both), and the "glibc-ld.so.cache1.1" layout alone (glibc >= 2.32 default).
// It never panics; malformed input gives an error wrapping ErrBadLDCache.
//
// Both byte orders are read: the new layout records its own, and the old one
// is read in whichever order makes its entry count fit the file. The
// extension directory of the new layout (generator string, glibc-hwcaps
// names) is not read.
func ParseLDCache(data []byte) (*LDCache, error) {
	switch {
	case bytes.HasPrefix(data, []byte(ldcNewMagic)):
		return parseLDCacheNew(data, 0, nil)
	case bytes.HasPrefix(data, []byte(ldcOldMagic)):
		return parseLDCacheOld(data)
	}
	return nil, fmt.Errorf("%w: no %q or %q magic", ErrBadLDCache, ldcNewMagic, ldcOldMagic)
}

// parseLDCacheOld reads the old layout, or the new one hidden in its string
// table. Old string offsets are relative to the end of the entries array.
func parseLDCacheOld(data []byte) (*LDCache, error) {
	if len(data) < ldcOldHeaderSize {
		return nil, fmt.Errorf("%w: %d bytes, shorter than the old header", ErrBadLDCache, len(data))
	}
	maxLibs := uint64(len(data)-ldcOldHeaderSize) / ldcOldEntrySize
	var order binary.ByteOrder = binary.LittleEndian
	n := uint64(order.Uint32(data[12:]))
	if n > maxLibs {
		order = binary.BigEndian
		n = uint64(order.Uint32(data[12:]))
	}
	if n > maxLibs {
		return nil, fmt.Errorf("%w: %d old-format entries do not fit in %d bytes", ErrBadLDCache, n, len(data))
	}
	end := ldcOldHeaderSize + int(n)*ldcOldEntrySize
	// ldconfig aligns the new header to 8 bytes (ALIGN_CACHE); a 32-bit
	// ldconfig that did not pad the old table may have put it right at end.
	for _, off := range []int{(end + 7) &^ 7, end} {
		if off <= len(data) && bytes.HasPrefix(data[off:], []byte(ldcNewMagic)) {
			return parseLDCacheNew(data, off, order)
		}
	}
	c := &LDCache{Entries: make([]LDCacheEntry, 0, n)}
	for i := range int(n) {
		ent, err := ldcEntry(data[ldcOldHeaderSize+i*ldcOldEntrySize:], data[end:], order)
		if err != nil {
			return nil, fmt.Errorf("%w: old-format entry %d: %v", ErrBadLDCache, i, err)
		}
		c.Entries = append(c.Entries, ent)
	}
	return c, nil
}

// parseLDCacheNew reads the new layout whose header starts at data[base:].
// Its string offsets are relative to base (0 when the file has no old part).
// guess is the byte order to assume if the header does not record one.
func parseLDCacheNew(data []byte, base int, guess binary.ByteOrder) (*LDCache, error) {
	h := data[base:]
	if len(h) < ldcNewHeaderSize {
		return nil, fmt.Errorf("%w: new-format header at %#x truncated", ErrBadLDCache, base)
	}
	maxLibs := uint64(len(h)-ldcNewHeaderSize) / ldcNewEntrySize
	var order binary.ByteOrder
	switch h[28] & ldcEndianMask {
	case ldcEndianLittle:
		order = binary.LittleEndian
	case ldcEndianBig:
		order = binary.BigEndian
	case ldcEndianInvalid:
		return nil, fmt.Errorf("%w: header marks the cache invalid", ErrBadLDCache)
	case ldcEndianUnset:
		order = guess
		if order == nil {
			order = binary.LittleEndian
			if uint64(order.Uint32(h[20:])) > maxLibs {
				order = binary.BigEndian
			}
		}
	}
	n := uint64(order.Uint32(h[20:]))
	if n > maxLibs {
		return nil, fmt.Errorf("%w: %d entries do not fit in %d bytes", ErrBadLDCache, n, len(data))
	}
	c := &LDCache{Entries: make([]LDCacheEntry, 0, n)}
	for i := range int(n) {
		e := h[ldcNewHeaderSize+i*ldcNewEntrySize:]
		ent, err := ldcEntry(e, h, order)
		if err != nil {
			return nil, fmt.Errorf("%w: entry %d: %v", ErrBadLDCache, i, err)
		}
		ent.HWCaps = order.Uint64(e[16:])
		// dl_cache_hwcap_extension: bit 62 is the only one set in the upper
		// half, ignoring the ISA level bits.
		ent.IsHWCaps = (ent.HWCaps>>32)&^ldcISALevelMask == ldcHWCapExtension>>32
		c.Entries = append(c.Entries, ent)
	}
	return c, nil
}

// ldcEntry decodes the fields both layouts share (struct file_entry: flags,
// key, value) from e; key and value are offsets of strings into table.
func ldcEntry(e, table []byte, order binary.ByteOrder) (LDCacheEntry, error) {
	name, err := ldcString(table, order.Uint32(e[4:]))
	if err != nil {
		return LDCacheEntry{}, fmt.Errorf("soname: %v", err)
	}
	path, err := ldcString(table, order.Uint32(e[8:]))
	if err != nil {
		return LDCacheEntry{}, fmt.Errorf("path: %v", err)
	}
	return LDCacheEntry{Name: name, Path: path, Flags: int32(order.Uint32(e))}, nil
}

// ldcString returns the NUL-terminated string at off in table.
func ldcString(table []byte, off uint32) (string, error) {
	if uint64(off) >= uint64(len(table)) {
		return "", fmt.Errorf("string offset %#x beyond the end of the string table (%#x bytes)", off, len(table))
	}
	s := table[off:]
	i := bytes.IndexByte(s, 0)
	if i < 0 {
		return "", fmt.Errorf("string at %#x is not NUL-terminated", off)
	}
	return string(s[:i]), nil
}

// Lookup returns the cache entries for soname that are usable by an object of the
// given ELF machine and class, in cache order (the order ld.so tries them), skipping
// glibc-hwcaps entries. The flag check mirrors glibc's _dl_cache_check_flags /
// _DL_CACHE_DEFAULT_ID for each architecture: e.g. x86-64 needs 0x0303, x32
// 0x0803, i386 0x0003 or 0x0001, aarch64 0x0a03, arm 0x0903 or 0x0003 (the
// hard-float ABI is assumed), riscv 0x1003 (double-float ABI), ppc64/ppc64le
// 0x0503, s390x 0x0403, sparc64 0x0103, mips64 0x0703 (n64, legacy NaN),
// loongarch64 0x1203; other machines take glibc's generic 0x0003 or 0x0001.
// Legacy hwcap entries (nonzero HWCaps without IsHWCaps) are kept.
func (c *LDCache) Lookup(soname string, machine elf.Machine, class elf.Class) []LDCacheEntry {
	if c == nil {
		return nil
	}
	want := ldcAcceptedFlags(machine, class)
	var out []LDCacheEntry
	for _, e := range c.Entries {
		if e.Name == soname && !e.IsHWCaps && slices.Contains(want, e.Flags) {
			out = append(out, e)
		}
	}
	return out
}

// ldcAcceptedFlags lists the flag values ld.so for machine and class accepts,
// from glibc's sysdeps/unix/sysv/linux/*/dl-cache.h.
func ldcAcceptedFlags(machine elf.Machine, class elf.Class) []int32 {
	is64 := class == elf.ELFCLASS64
	switch {
	case machine == elf.EM_X86_64 && is64:
		return []int32{ldcFlagELFLibc6 | ldcFlagX8664Lib64}
	case machine == elf.EM_X86_64:
		return []int32{ldcFlagELFLibc6 | ldcFlagX8664LibX32}
	case machine == elf.EM_AARCH64 && is64:
		return []int32{ldcFlagELFLibc6 | ldcFlagAArch64Lib64}
	case machine == elf.EM_AARCH64:
		return nil // ILP32 is not in upstream glibc
	case machine == elf.EM_ARM:
		return []int32{ldcFlagELFLibc6 | ldcFlagARMLibHF, ldcFlagELFLibc6}
	case machine == elf.EM_RISCV:
		return []int32{ldcFlagELFLibc6 | ldcFlagRISCVFloatABIDbl}
	case machine == elf.EM_PPC64:
		return []int32{ldcFlagELFLibc6 | ldcFlagPowerPCLib64}
	case machine == elf.EM_S390 && is64:
		return []int32{ldcFlagELFLibc6 | ldcFlagS390Lib64}
	case (machine == elf.EM_SPARCV9 || machine == elf.EM_SPARC) && is64:
		return []int32{ldcFlagELFLibc6 | ldcFlagSparcLib64}
	case machine == elf.EM_MIPS && is64:
		return []int32{ldcFlagELFLibc6 | ldcFlagMIPS64LibN64}
	case machine == elf.EM_LOONGARCH:
		return []int32{ldcFlagELFLibc6 | ldcFlagLArchFloatABIDbl}
	}
	return []int32{ldcFlagELFLibc6, ldcFlagELF} // sysdeps/generic/dl-cache.h
}
