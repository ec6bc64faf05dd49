package elfdeps

import (
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ARM build attributes (.ARM.attributes, type SHT_ARM_ATTRIBUTES), as the
// "Addenda to, and Errata in, the ABI for the Arm Architecture" (IHI 0045)
// lays them out:
//
//	'A'  [ uint32 length, "vendor\0", vendor data ]...
//
// and the "aeabi" vendor data as
//
//	[ uleb128 scope (1 = whole file), uint32 size, attributes ]...
//
// where each attribute is a uleb128 tag and a uleb128 or NUL-terminated value.
// The linker merges the attributes of its inputs, so a program's file-scope
// Tag_CPU_arch is the oldest architecture every one of its objects runs on.
const (
	armAttrVersion   = 'A'
	armAttrScopeFile = 1
	armTagCPUArch    = 6
	armAttrMaxSize   = 1 << 16 // bytes of .ARM.attributes read; real ones are a few dozen

	shtARMAttributes elf.SectionType = 0x70000003 // SHT_ARM_ATTRIBUTES, which debug/elf lacks
)

// armCPUArchs are the values of Tag_CPU_arch, by number.
var armCPUArchs = []string{
	"pre-v4", "v4", "v4T", "v5T", "v5TE", "v5TEJ", "v6", "v6KZ", "v6T2", "v6K", "v7",
	"v6-M", "v6S-M", "v7E-M", "v8-A", "v8-R", "v8-M.baseline", "v8-M.mainline",
	"v8.1-A", "v8.2-A", "v8.3-A", "v8.1-M.mainline", "v9-A",
}

// armCPUArch returns the name of a Tag_CPU_arch value ("v5TE", "v7") and the
// OCI platform variant of a program built for it ("v5", "v7"); "" for values
// it does not know or that name no variant (pre-v4).
func armCPUArch(v uint64) (name, variant string) {
	if v >= uint64(len(armCPUArchs)) {
		return "", ""
	}
	name = armCPUArchs[v]
	switch {
	case v == 0:
		return name, ""
	case v <= 5: // v4 .. v5TEJ: v5 is the oldest variant OCI names
		return name, "v5"
	case v <= 9 || v == 11 || v == 12: // v6 .. v6K, v6-M, v6S-M
		return name, "v6"
	case v == 10 || v == 13: // v7, v7E-M
		return name, "v7"
	default: // v8 and later, in 32-bit (AArch32) state
		return name, "v8"
	}
}

// readARMCPUArch reads Tag_CPU_arch from the file-scope attributes of an ARM
// object's .ARM.attributes section. found is false when the file has no such
// section (a stripped file, a Go program) or the section does not set it.
func readARMCPUArch(f *elf.File) (arch uint64, found bool, err error) {
	s := f.Section(".ARM.attributes")
	if s == nil {
		s = sectionOfType(f, shtARMAttributes)
	}
	if s == nil || s.Type == elf.SHT_NOBITS {
		return 0, false, nil
	}
	b, err := io.ReadAll(io.LimitReader(s.Open(), armAttrMaxSize))
	if err != nil {
		return 0, false, fmt.Errorf("reading .ARM.attributes: %w", err)
	}
	return parseARMCPUArch(b, f.ByteOrder)
}

func sectionOfType(f *elf.File, t elf.SectionType) *elf.Section {
	for _, s := range f.Sections {
		if s.Type == t {
			return s
		}
	}
	return nil
}

// errARMAttr is a malformed .ARM.attributes section.
var errARMAttr = errors.New("malformed .ARM.attributes")

// parseARMCPUArch finds Tag_CPU_arch in the "aeabi" file-scope attributes of
// the bytes of an .ARM.attributes section.
func parseARMCPUArch(b []byte, order binary.ByteOrder) (uint64, bool, error) {
	if len(b) == 0 {
		return 0, false, nil
	}
	if b[0] != armAttrVersion {
		return 0, false, fmt.Errorf("%w: format version %q, want 'A'", errARMAttr, b[0])
	}
	for rest := b[1:]; len(rest) > 0; {
		sub, next, err := lengthPrefixed(rest, order, 0)
		if err != nil {
			return 0, false, fmt.Errorf("%w: vendor subsection: %v", errARMAttr, err)
		}
		rest = next
		vendor, data, ok := cutNUL(sub)
		if !ok {
			return 0, false, fmt.Errorf("%w: vendor name without NUL", errARMAttr)
		}
		if vendor != "aeabi" {
			continue // toolchain-private attributes ("gnu"), not the ABI's
		}
		for len(data) > 0 {
			scope, n := uleb128(data)
			if n == 0 {
				return 0, false, fmt.Errorf("%w: truncated scope tag", errARMAttr)
			}
			attrs, next, err := lengthPrefixed(data[n:], order, n)
			if err != nil {
				return 0, false, fmt.Errorf("%w: scope %d: %v", errARMAttr, scope, err)
			}
			data = next
			if scope != armAttrScopeFile {
				continue
			}
			return findAttr(attrs, armTagCPUArch)
		}
	}
	return 0, false, nil
}

// lengthPrefixed splits off a block that starts with a uint32 length; the
// length counts itself and the before bytes that precede it.
func lengthPrefixed(b []byte, order binary.ByteOrder, before int) (block, rest []byte, err error) {
	if len(b) < 4 {
		return nil, nil, errors.New("truncated length")
	}
	n := uint64(order.Uint32(b))
	if n < uint64(4+before) || n-uint64(before) > uint64(len(b)) {
		return nil, nil, fmt.Errorf("length %d does not fit in %d bytes", n, len(b)+before)
	}
	end := int(n) - before
	return b[4:end], b[end:], nil
}

// findAttr walks one list of attributes for tag and returns its integer value.
func findAttr(b []byte, want uint64) (uint64, bool, error) {
	for len(b) > 0 {
		tag, n := uleb128(b)
		if n == 0 {
			return 0, false, fmt.Errorf("%w: truncated attribute tag", errARMAttr)
		}
		b = b[n:]
		if armAttrIsString(tag) {
			if tag == 32 { // Tag_compatibility: a flag, then a vendor name
				if _, n = uleb128(b); n == 0 {
					return 0, false, fmt.Errorf("%w: truncated Tag_compatibility", errARMAttr)
				}
				b = b[n:]
			}
			var ok bool
			if _, b, ok = cutNUL(b); !ok {
				return 0, false, fmt.Errorf("%w: attribute %d is not NUL-terminated", errARMAttr, tag)
			}
			continue
		}
		v, n := uleb128(b)
		if n == 0 {
			return 0, false, fmt.Errorf("%w: truncated value of attribute %d", errARMAttr, tag)
		}
		b = b[n:]
		if tag == want {
			return v, true, nil
		}
	}
	return 0, false, nil
}

// armAttrIsString reports whether an attribute's value is a NUL-terminated
// string: Tag_CPU_raw_name (4), Tag_CPU_name (5), Tag_compatibility (32,
// after its flag), and, above 32, every odd tag (Tag_also_compatible_with
// 65 and Tag_conformance 67 among them).
func armAttrIsString(tag uint64) bool {
	return tag == 4 || tag == 5 || tag == 32 || (tag > 32 && tag%2 == 1)
}

// uleb128 decodes an unsigned LEB128 number; n is 0 if b ends first or the
// number does not fit in 64 bits.
func uleb128(b []byte) (v uint64, n int) {
	var shift uint
	for i, c := range b {
		if shift >= 64 {
			return 0, 0
		}
		v |= uint64(c&0x7f) << shift
		if c&0x80 == 0 {
			return v, i + 1
		}
		shift += 7
	}
	return 0, 0
}

// cutNUL splits b at its first NUL.
func cutNUL(b []byte) (string, []byte, bool) {
	for i, c := range b {
		if c == 0 {
			return string(b[:i]), b[i+1:], true
		}
	}
	return "", nil, false
}
