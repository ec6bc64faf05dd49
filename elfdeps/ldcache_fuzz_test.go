package elfdeps

import (
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"strings"
	"testing"
)

func FuzzParseLDCache(f *testing.F) {
	le, be := binary.LittleEndian, binary.BigEndian
	f.Add(buildNewLDCache(le, ldcEndianLittle, ldcTestEntries))
	f.Add(buildNewLDCache(be, ldcEndianBig, ldcTestEntries))
	f.Add(buildNewLDCache(le, ldcEndianUnset, ldcTestEntries[:3]))
	f.Add(buildOldLDCache(le, ldcTestEntries[1:], nil))
	f.Add(buildOldLDCache(be, ldcTestEntries[1:4], nil))
	f.Add(buildOldLDCache(le, ldcTestEntries[1:2], ldcTestEntries))
	f.Add(buildOldLDCache(be, ldcTestEntries[1:3], ldcTestEntries[:4]))
	if data, err := os.ReadFile("/etc/ld.so.cache"); err == nil {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseLDCache(data)
		if err != nil {
			if !errors.Is(err, ErrBadLDCache) {
				t.Fatalf("error does not wrap ErrBadLDCache: %v", err)
			}
			if c != nil {
				t.Fatalf("non-nil cache with error %v", err)
			}
			return
		}
		for i, e := range c.Entries {
			if strings.IndexByte(e.Name, 0) >= 0 || strings.IndexByte(e.Path, 0) >= 0 {
				t.Fatalf("entry holds a NUL: %+v", e)
			}
			if i >= 8 {
				continue // Lookup is linear; a few names exercise it
			}
			for _, m := range []elf.Machine{elf.EM_X86_64, elf.EM_386, elf.EM_ARM, elf.EM_NONE} {
				for _, got := range c.Lookup(e.Name, m, elf.ELFCLASS64) {
					if got.Name != e.Name || got.IsHWCaps {
						t.Fatalf("Lookup(%q, %v) returned %+v", e.Name, m, got)
					}
				}
			}
		}
	})
}
