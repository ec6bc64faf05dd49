package elfdeps

import (
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// ldcOrder is binary.LittleEndian or binary.BigEndian.
type ldcOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// ldcTestEntry is one entry for the cache writers below.
type ldcTestEntry struct {
	flags      int32
	name, path string
	hwcap      uint64
}

// ldcStringTable lays out the names and paths of entries, returning the table
// and each entry's name and path offsets into it.
func ldcStringTable(entries []ldcTestEntry) (table []byte, offs [][2]uint32) {
	for _, e := range entries {
		k := uint32(len(table))
		table = append(append(table, e.name...), 0)
		v := uint32(len(table))
		table = append(append(table, e.path...), 0)
		offs = append(offs, [2]uint32{k, v})
	}
	return table, offs
}

// ldcNewPart writes a new-format header and entries whose string offsets are
// shifted by strOff (the distance from the header to the string table).
func ldcNewPart(o ldcOrder, endian byte, entries []ldcTestEntry, offs [][2]uint32, strOff, lenStrings uint32) []byte {
	b := append([]byte(ldcNewMagic), make([]byte, ldcNewHeaderSize-len(ldcNewMagic))...)
	o.PutUint32(b[20:], uint32(len(entries)))
	o.PutUint32(b[24:], lenStrings)
	b[28] = endian
	for i, e := range entries {
		b = o.AppendUint32(b, uint32(e.flags))
		b = o.AppendUint32(b, strOff+offs[i][0])
		b = o.AppendUint32(b, strOff+offs[i][1])
		b = o.AppendUint32(b, 0)
		b = o.AppendUint64(b, e.hwcap)
	}
	return b
}

// buildNewLDCache writes a new-format-only cache, as glibc >= 2.32 does.
func buildNewLDCache(o ldcOrder, endian byte, entries []ldcTestEntry) []byte {
	table, offs := ldcStringTable(entries)
	strOff := uint32(ldcNewHeaderSize + len(entries)*ldcNewEntrySize)
	return append(ldcNewPart(o, endian, entries, offs, strOff, uint32(len(table))), table...)
}

// buildOldLDCache writes an old-format cache; with newEntries != nil it also
// hides a new-format cache in the old string table (ldconfig -c compat).
func buildOldLDCache(o ldcOrder, entries, newEntries []ldcTestEntry) []byte {
	all := append(append([]ldcTestEntry(nil), entries...), newEntries...)
	table, offs := ldcStringTable(all)
	oldEnd := ldcOldHeaderSize + len(entries)*ldcOldEntrySize
	newBase := (oldEnd + 7) &^ 7
	stringsAt := oldEnd
	if newEntries != nil {
		stringsAt = newBase + ldcNewHeaderSize + len(newEntries)*ldcNewEntrySize
	}
	b := append([]byte(ldcOldMagic), 0)
	b = o.AppendUint32(b, uint32(len(entries)))
	for i, e := range entries {
		b = o.AppendUint32(b, uint32(e.flags))
		b = o.AppendUint32(b, uint32(stringsAt-oldEnd)+offs[i][0])
		b = o.AppendUint32(b, uint32(stringsAt-oldEnd)+offs[i][1])
	}
	if newEntries != nil {
		b = append(b, make([]byte, newBase-oldEnd)...)
		endian := byte(ldcEndianLittle)
		if o == binary.BigEndian {
			endian = ldcEndianBig
		}
		b = append(b, ldcNewPart(o, endian, newEntries, offs[len(entries):], uint32(stringsAt-newBase), uint32(len(table)))...)
	}
	return append(b, table...)
}

const hwcapsV3 = ldcHWCapExtension | 3<<32 // glibc-hwcaps/x86-64-v3, ISA level 3, name index 0

// Entries in ldconfig's order: by soname, hwcaps first, then flags high to low.
var ldcTestEntries = []ldcTestEntry{
	{0x0303, "libc.so.6", "/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v3/libc.so.6", hwcapsV3},
	{0x0303, "libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6", 0},
	{0x0003, "libc.so.6", "/lib/i386-linux-gnu/libc.so.6", 0},
	{0x0001, "libold.so.1", "/usr/lib/libold.so.1", 0},
	{0x0a03, "libz.so.1", "/usr/lib/aarch64-linux-gnu/libz.so.1", 0},
	{0x0903, "libz.so.1", "/usr/lib/arm-linux-gnueabihf/libz.so.1", 0},
	{0x0503, "libz.so.1", "/usr/lib/powerpc64le-linux-gnu/libz.so.1", 0},
	{0x0403, "libz.so.1", "/usr/lib/s390x-linux-gnu/libz.so.1", 0},
	{0x0303, "libz.so.1", "/usr/lib/x86_64-linux-gnu/libz.so.1", 0},
	{0x1003, "libz.so.1", "/usr/lib/riscv64-linux-gnu/libz.so.1", 0},
	{0x0803, "libz.so.1", "/usr/libx32/libz.so.1", 0},
	{0x0003, "libz.so.1", "/usr/lib/i386-linux-gnu/libz.so.1", 0},
}

// ldcWant is what ParseLDCache should return for entries.
func ldcWant(entries []ldcTestEntry) *LDCache {
	c := &LDCache{Entries: []LDCacheEntry{}}
	for _, e := range entries {
		c.Entries = append(c.Entries, LDCacheEntry{
			Name: e.name, Path: e.path, Flags: e.flags, HWCaps: e.hwcap,
			IsHWCaps: e.hwcap&ldcHWCapExtension != 0,
		})
	}
	return c
}

func TestParseLDCache(t *testing.T) {
	// The old format has no hwcap field.
	var oldEntries []ldcTestEntry
	for _, e := range ldcTestEntries {
		if e.hwcap == 0 {
			oldEntries = append(oldEntries, e)
		}
	}
	decoy := []ldcTestEntry{{0x0303, "libc.so.6", "/old/libc.so.6", 0}}
	legacy := []ldcTestEntry{
		{0x0003, "libc.so.6", "/lib/i386-linux-gnu/i686/cmov/libc.so.6", 1<<48 | 1<<15},
		{0x0003, "libc.so.6", "/lib/i386-linux-gnu/libc.so.6", 0},
	}
	tests := []struct {
		name string
		data []byte
		want *LDCache
	}{
		{"new little-endian", buildNewLDCache(binary.LittleEndian, ldcEndianLittle, ldcTestEntries), ldcWant(ldcTestEntries)},
		{"new big-endian", buildNewLDCache(binary.BigEndian, ldcEndianBig, ldcTestEntries), ldcWant(ldcTestEntries)},
		{"new endianness unset, little", buildNewLDCache(binary.LittleEndian, ldcEndianUnset, ldcTestEntries), ldcWant(ldcTestEntries)},
		{"new endianness unset, big", buildNewLDCache(binary.BigEndian, ldcEndianUnset, ldcTestEntries), ldcWant(ldcTestEntries)},
		{"new empty", buildNewLDCache(binary.LittleEndian, ldcEndianLittle, nil), ldcWant(nil)},
		{"new legacy hwcaps are not glibc-hwcaps", buildNewLDCache(binary.LittleEndian, ldcEndianLittle, legacy), ldcWant(legacy)},
		{"old little-endian", buildOldLDCache(binary.LittleEndian, oldEntries, nil), ldcWant(oldEntries)},
		{"old big-endian", buildOldLDCache(binary.BigEndian, oldEntries, nil), ldcWant(oldEntries)},
		{"old empty", buildOldLDCache(binary.LittleEndian, nil, nil), ldcWant(nil)},
		{"old then new prefers new, little-endian", buildOldLDCache(binary.LittleEndian, decoy, ldcTestEntries), ldcWant(ldcTestEntries)},
		{"old then new prefers new, big-endian", buildOldLDCache(binary.BigEndian, decoy, ldcTestEntries), ldcWant(ldcTestEntries)},
		{"old then new, even old count", buildOldLDCache(binary.LittleEndian, append(decoy, decoy...), ldcTestEntries), ldcWant(ldcTestEntries)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseLDCache(tc.data)
			if err != nil {
				t.Fatalf("ParseLDCache: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseLDCache mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseLDCacheErrors(t *testing.T) {
	le := binary.LittleEndian
	valid := buildNewLDCache(le, ldcEndianLittle, ldcTestEntries[:2])
	validOld := buildOldLDCache(le, ldcTestEntries[1:3], nil)
	// patch returns a copy of b with f applied.
	patch := func(b []byte, f func([]byte)) []byte {
		b = append([]byte(nil), b...)
		f(b)
		return b
	}
	entry0 := ldcNewHeaderSize // offset of the first new-format entry
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"garbage", []byte("\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00")},
		{"new magic only", []byte(ldcNewMagic)},
		{"new header truncated", valid[:ldcNewHeaderSize-1]},
		{"new entries truncated", valid[:ldcNewHeaderSize+ldcNewEntrySize+3]},
		{"new nlibs too large", patch(valid, func(b []byte) { le.PutUint32(b[20:], 1<<31) })},
		{"new nlibs max", patch(valid, func(b []byte) { le.PutUint32(b[20:], ^uint32(0)) })},
		{"new endianness invalid", patch(valid, func(b []byte) { b[28] = ldcEndianInvalid })},
		{"new wrong endianness", patch(valid, func(b []byte) { b[28] = ldcEndianBig })},
		{"new key out of range", patch(valid, func(b []byte) { le.PutUint32(b[entry0+4:], uint32(len(b))) })},
		{"new key max", patch(valid, func(b []byte) { le.PutUint32(b[entry0+4:], ^uint32(0)) })},
		{"new value out of range", patch(valid, func(b []byte) { le.PutUint32(b[entry0+8:], uint32(len(b))+100) })},
		{"new string not terminated", patch(valid, func(b []byte) { b[len(b)-1] = 'x' })},
		{"old magic only", []byte(ldcOldMagic)},
		{"old header truncated", validOld[:ldcOldHeaderSize-1]},
		{"old nlibs too large", patch(validOld, func(b []byte) { le.PutUint32(b[12:], 1000) })},
		{"old key out of range", patch(validOld, func(b []byte) { le.PutUint32(b[ldcOldHeaderSize+4:], 1<<20) })},
		{"old value out of range", patch(validOld, func(b []byte) { le.PutUint32(b[ldcOldHeaderSize+8:], 1<<20) })},
		{"old string not terminated", patch(validOld, func(b []byte) { b[len(b)-1] = 'x' })},
		{"old then new, new header truncated", buildOldLDCache(le, ldcTestEntries[1:2], ldcTestEntries[1:3])[:ldcOldHeaderSize+ldcOldEntrySize+4+ldcNewHeaderSize-1]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseLDCache(tc.data)
			if !errors.Is(err, ErrBadLDCache) {
				t.Fatalf("ParseLDCache = %+v, %v; want an error wrapping ErrBadLDCache", got, err)
			}
			if got != nil {
				t.Errorf("ParseLDCache returned %+v with error %v; want nil", got, err)
			}
		})
	}
}

// TestParseLDCacheTruncated cuts valid caches at every length: strings come
// last, so every proper prefix must be rejected.
func TestParseLDCacheTruncated(t *testing.T) {
	caches := map[string][]byte{
		"new":          buildNewLDCache(binary.LittleEndian, ldcEndianLittle, ldcTestEntries),
		"new big":      buildNewLDCache(binary.BigEndian, ldcEndianBig, ldcTestEntries),
		"old":          buildOldLDCache(binary.LittleEndian, ldcTestEntries[1:], nil),
		"old then new": buildOldLDCache(binary.BigEndian, ldcTestEntries[1:4], ldcTestEntries),
	}
	for name, data := range caches {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseLDCache(data); err != nil {
				t.Fatalf("full cache: %v", err)
			}
			for n := range len(data) {
				if c, err := ParseLDCache(data[:n]); !errors.Is(err, ErrBadLDCache) {
					t.Fatalf("ParseLDCache(data[:%d]) = %+v, %v; want ErrBadLDCache", n, c, err)
				}
			}
		})
	}
}

func TestLDCacheLookup(t *testing.T) {
	c, err := ParseLDCache(buildNewLDCache(binary.BigEndian, ldcEndianBig, ldcTestEntries))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		soname  string
		machine elf.Machine
		class   elf.Class
		want    []string
	}{
		{"x86-64 skips glibc-hwcaps and i386", "libc.so.6", elf.EM_X86_64, elf.ELFCLASS64, []string{"/lib/x86_64-linux-gnu/libc.so.6"}},
		{"i386 picks the 32-bit libc", "libc.so.6", elf.EM_386, elf.ELFCLASS32, []string{"/lib/i386-linux-gnu/libc.so.6"}},
		{"i386 takes plain ELF", "libold.so.1", elf.EM_386, elf.ELFCLASS32, []string{"/usr/lib/libold.so.1"}},
		{"x86-64 rejects plain ELF", "libold.so.1", elf.EM_X86_64, elf.ELFCLASS64, nil},
		{"x32", "libz.so.1", elf.EM_X86_64, elf.ELFCLASS32, []string{"/usr/libx32/libz.so.1"}},
		{"aarch64", "libz.so.1", elf.EM_AARCH64, elf.ELFCLASS64, []string{"/usr/lib/aarch64-linux-gnu/libz.so.1"}},
		{"arm hard-float, then unmarked libc6", "libz.so.1", elf.EM_ARM, elf.ELFCLASS32, []string{"/usr/lib/arm-linux-gnueabihf/libz.so.1", "/usr/lib/i386-linux-gnu/libz.so.1"}},
		{"ppc64le", "libz.so.1", elf.EM_PPC64, elf.ELFCLASS64, []string{"/usr/lib/powerpc64le-linux-gnu/libz.so.1"}},
		{"s390x", "libz.so.1", elf.EM_S390, elf.ELFCLASS64, []string{"/usr/lib/s390x-linux-gnu/libz.so.1"}},
		{"riscv64", "libz.so.1", elf.EM_RISCV, elf.ELFCLASS64, []string{"/usr/lib/riscv64-linux-gnu/libz.so.1"}},
		{"x86-64 libz", "libz.so.1", elf.EM_X86_64, elf.ELFCLASS64, []string{"/usr/lib/x86_64-linux-gnu/libz.so.1"}},
		{"unknown soname", "libnope.so.1", elf.EM_X86_64, elf.ELFCLASS64, nil},
		{"soname is matched exactly", "libc.so", elf.EM_X86_64, elf.ELFCLASS64, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, e := range c.Lookup(tc.soname, tc.machine, tc.class) {
				got = append(got, e.Path)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Lookup(%q, %v, %v) mismatch (-want +got):\n%s", tc.soname, tc.machine, tc.class, diff)
			}
		})
	}
	if got := (*LDCache)(nil).Lookup("libc.so.6", elf.EM_X86_64, elf.ELFCLASS64); got != nil {
		t.Errorf("nil cache Lookup = %v, want nil", got)
	}
}

// TestParseLDCacheHost reads the real cache of the machine running the tests.
func TestParseLDCacheHost(t *testing.T) {
	data, err := os.ReadFile("/etc/ld.so.cache")
	if errors.Is(err, os.ErrNotExist) {
		t.Skip("no /etc/ld.so.cache on this host")
	}
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseLDCache(data)
	if err != nil {
		t.Fatalf("ParseLDCache(/etc/ld.so.cache): %v", err)
	}
	if len(c.Entries) == 0 {
		t.Fatal("no entries in /etc/ld.so.cache")
	}
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skipf("libc.so.6 lookup checked on linux/amd64 only, not %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	got := c.Lookup("libc.so.6", elf.EM_X86_64, elf.ELFCLASS64)
	if len(got) == 0 {
		t.Fatal("Lookup(libc.so.6, EM_X86_64, ELFCLASS64) found nothing")
	}
	if _, err := os.Stat(got[0].Path); err != nil {
		t.Errorf("libc.so.6 resolves to %s: %v", got[0].Path, err)
	}
}
