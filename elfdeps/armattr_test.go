package elfdeps

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/scratchpack/scratchpack/internal/elftest"
)

// armAttrBytes builds an .ARM.attributes section from vendor subsections,
// each a vendor name and its scope blocks (a scope tag and its attribute bytes).
func armAttrBytes(order binary.AppendByteOrder, vendors ...armVendor) []byte {
	b := []byte{'A'}
	for _, v := range vendors {
		var data []byte
		for _, s := range v.scopes {
			data = append(data, s.tag)
			data = order.AppendUint32(data, uint32(1+4+len(s.attrs)))
			data = append(data, s.attrs...)
		}
		body := append([]byte(v.name+"\x00"), data...)
		b = order.AppendUint32(b, uint32(4+len(body)))
		b = append(b, body...)
	}
	return b
}

type armVendor struct {
	name   string
	scopes []armScope
}

type armScope struct {
	tag   byte
	attrs []byte
}

func aeabiFile(attrs ...byte) armVendor {
	return armVendor{"aeabi", []armScope{{1, attrs}}}
}

func TestParseARMCPUArch(t *testing.T) {
	le, be := binary.LittleEndian, binary.BigEndian
	tests := []struct {
		name    string
		b       []byte
		order   binary.ByteOrder
		want    uint64
		found   bool
		wantErr bool
	}{
		{"empty section", nil, le, 0, false, false},
		{"Debian armhf (readelf: Tag_CPU_name 7-A, Tag_CPU_arch v7)",
			armAttrBytes(le, aeabiFile(5, '7', '-', 'A', 0, 6, 10, 7, 'A', 8, 1, 9, 2)), le, 10, true, false},
		{"Debian armel (v5TE)", armAttrBytes(le, aeabiFile(5, '5', 'T', 'E', 0, 6, 4, 8, 1)), le, 4, true, false},
		{"Raspberry Pi OS armhf (v6KZ)", armAttrBytes(le, aeabiFile(5, '6', 'K', 'Z', 0, 6, 7)), le, 7, true, false},
		{"big-endian lengths", armAttrBytes(be, aeabiFile(6, 14)), be, 14, true, false},
		{"gnu vendor first", armAttrBytes(le, armVendor{"gnu", []armScope{{1, []byte{6, 3}}}}, aeabiFile(6, 10)), le, 10, true, false},
		{"section scope before file scope", armAttrBytes(le, armVendor{"aeabi", []armScope{{2, []byte{1, 0, 6, 3}}, {1, []byte{6, 10}}}}), le, 10, true, false},
		{"string attributes skipped: raw name, compatibility, conformance",
			armAttrBytes(le, aeabiFile(4, 'x', 0, 32, 1, 'g', 'n', 'u', 0, 67, '2', '.', '0', '9', 0, 6, 8)), le, 8, true, false},
		{"multi-byte uleb128 tag before it", armAttrBytes(le, aeabiFile(0x80, 0x01, 0x05, 6, 10)), le, 10, true, false},
		{"no Tag_CPU_arch", armAttrBytes(le, aeabiFile(8, 1, 9, 2)), le, 0, false, false},
		{"no aeabi vendor", armAttrBytes(le, armVendor{"gnu", []armScope{{1, []byte{6, 10}}}}), le, 0, false, false},
		{"wrong format version", []byte{'B', 0, 0, 0, 0}, le, 0, false, true},
		{"vendor length past the end", []byte{'A', 0xff, 0, 0, 0, 'a', 0}, le, 0, false, true},
		{"vendor length below its own size", []byte{'A', 2, 0, 0, 0}, le, 0, false, true},
		{"truncated length", []byte{'A', 9, 0}, le, 0, false, true},
		{"vendor name without NUL", []byte{'A', 9, 0, 0, 0, 'a', 'e', 'a', 'b', 'i'}, le, 0, false, true},
		{"string attribute without NUL", armAttrBytes(le, aeabiFile(5, 'v', '7')), le, 0, false, true},
		{"truncated value", armAttrBytes(le, aeabiFile(6, 0x80)), le, 0, false, true},
		{"uleb128 longer than 64 bits", armAttrBytes(le, aeabiFile(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01)), le, 0, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, found, err := parseARMCPUArch(tc.b, tc.order)
			if (err != nil) != tc.wantErr || got != tc.want || found != tc.found {
				t.Errorf("parseARMCPUArch = %d, %t, %v; want %d, %t, error %t", got, found, err, tc.want, tc.found, tc.wantErr)
			}
			if err != nil && !errors.Is(err, errARMAttr) {
				t.Errorf("error %v does not wrap errARMAttr", err)
			}
		})
	}
}

func TestARMCPUArch(t *testing.T) {
	for _, tc := range []struct {
		v             uint64
		name, variant string
	}{
		{0, "pre-v4", ""}, {2, "v4T", "v5"}, {4, "v5TE", "v5"}, {6, "v6", "v6"}, {7, "v6KZ", "v6"},
		{9, "v6K", "v6"}, {10, "v7", "v7"}, {11, "v6-M", "v6"}, {13, "v7E-M", "v7"},
		{14, "v8-A", "v8"}, {22, "v9-A", "v8"}, {23, "", ""}, {1 << 40, "", ""},
	} {
		if name, variant := armCPUArch(tc.v); name != tc.name || variant != tc.variant {
			t.Errorf("armCPUArch(%d) = %q, %q; want %q, %q", tc.v, name, variant, tc.name, tc.variant)
		}
	}
}

// TestInspectARMVariant checks the platform variant of crafted ARM files
// with and without build attributes.
func TestInspectARMVariant(t *testing.T) {
	hf, el := elftest.Archs["arm"], elftest.Archs["armel"]
	withAttrs := func(f elftest.File, name string, v byte) elftest.File {
		f.Sections = append(f.Sections, elftest.ARMAttributes(binary.LittleEndian, name, v))
		return f
	}
	tests := []struct {
		name             string
		file             elftest.File
		variant, armArch string
	}{
		{"hard-float, no attributes (armhf)", elftest.Program(hf, "libc.so.6"), "v7", ""},
		{"soft-float, no attributes (armel)", elftest.Program(el, "libc.so.6"), "v5", ""},
		{"hard-float v7 (Debian armhf)", withAttrs(elftest.Program(hf, "libc.so.6"), "7-A", 10), "v7", "v7"},
		{"hard-float v6 (Raspberry Pi OS armhf)", withAttrs(elftest.Program(hf, "libc.so.6"), "6", 6), "v6", "v6"},
		{"hard-float v6KZ (Raspberry Pi OS armhf)", withAttrs(elftest.Program(hf, "libc.so.6"), "6KZ", 7), "v6", "v6KZ"},
		{"soft-float v5TE (Debian armel)", withAttrs(elftest.Program(el, "libc.so.6"), "5TE", 4), "v5", "v5TE"},
		{"AArch32 v8-A", withAttrs(elftest.Library(hf, "libx.so"), "8-A", 14), "v8", "v8-A"},
		{"pre-v4 names no variant: the float ABI decides", withAttrs(elftest.Program(hf), "", 0), "v7", "pre-v4"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := Inspect(bytes.NewReader(tc.file.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			if rep.Arch != "arm" || rep.Variant != tc.variant || rep.ArmArch != tc.armArch || len(rep.Warnings) != 0 {
				t.Errorf("Arch %q, Variant %q, ArmArch %q, Warnings %q; want arm, %q, %q, none",
					rep.Arch, rep.Variant, rep.ArmArch, rep.Warnings, tc.variant, tc.armArch)
			}
		})
	}

	t.Run("broken attributes: warned, variant from the float ABI", func(t *testing.T) {
		f := elftest.Program(el)
		f.Sections = []elftest.Section{{Name: ".ARM.attributes", Type: 0x70000003, Data: []byte("B?")}}
		rep, err := Inspect(bytes.NewReader(f.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		if rep.Variant != "v5" || len(rep.Warnings) != 1 {
			t.Errorf("Variant %q, Warnings %q; want v5 and one warning", rep.Variant, rep.Warnings)
		}
	})
	t.Run("other architectures have no variant", func(t *testing.T) {
		for _, name := range elftest.ArchNames() {
			a := elftest.Archs[name]
			rep, err := Inspect(bytes.NewReader(elftest.Program(a, "libc.so.6").Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			if rep.Arch != a.Name || (a.Name != "arm") != (rep.Variant == "") {
				t.Errorf("%s: Arch %q, Variant %q", name, rep.Arch, rep.Variant)
			}
		}
	})
}

// TestInspectARMDebian reads the build attributes of Debian's own armhf and
// armel C libraries (packages libc6-armhf-cross and libc6-armel-cross).
func TestInspectARMDebian(t *testing.T) {
	for _, tc := range []struct{ file, variant, armArch string }{
		{"/usr/arm-linux-gnueabihf/lib/libc.so.6", "v7", "v7"},
		{"/usr/arm-linux-gnueabihf/lib/ld-linux-armhf.so.3", "v7", "v7"},
		{"/usr/arm-linux-gnueabi/lib/libc.so.6", "v5", "v5TE"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			requireFile(t, tc.file, "libc6-armhf-cross libc6-armel-cross")
			rep, err := InspectFile(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Arch != "arm" || rep.Variant != tc.variant || rep.ArmArch != tc.armArch {
				t.Errorf("Arch %q, Variant %q, ArmArch %q; want arm, %q, %q", rep.Arch, rep.Variant, rep.ArmArch, tc.variant, tc.armArch)
			}
		})
	}
}

// TestInspectGoARM builds a Go program for GOARM=6: Go's linker writes no
// build attributes, so the variant comes from the build information.
func TestInspectGoARM(t *testing.T) {
	t.Parallel()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("SKIP: no go command to build a GOARM=6 program: %v", err)
	}
	out := filepath.Join(t.TempDir(), "hello-armv6")
	cmd := exec.Command(goTool, "build", "-trimpath", "-o", out, "../testdata/src/hellogo")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm", "GOARM=6")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, b)
	}
	rep, err := InspectFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Arch != "arm" || rep.Variant != "v6" || rep.Go == nil || rep.Go.GOARM != "6" {
		t.Errorf("Arch %q, Variant %q, Go %+v; want arm, v6, GOARM 6", rep.Arch, rep.Variant, rep.Go)
	}
	if f, err := elf.Open(out); err == nil {
		if f.Section(".ARM.attributes") != nil {
			t.Logf("note: this Go toolchain writes .ARM.attributes")
		}
		f.Close()
	}
}

// requireFile skips the test without file, or fails it on CI, where
// scripts/install-deps.sh installs the Debian packages that provide it.
func requireFile(t *testing.T, file, packages string) {
	t.Helper()
	if _, err := os.Stat(file); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing (CI=true): install-deps.sh installs %s: %v", file, packages, err)
		}
		t.Skipf("SKIP: %s is missing (apt-get install %s): %v", file, packages, err)
	}
}

// FuzzParseARMCPUArch checks that the attribute parser never panics and
// fails only with errARMAttr.
func FuzzParseARMCPUArch(f *testing.F) {
	f.Add(armAttrBytes(binary.LittleEndian, aeabiFile(5, '7', '-', 'A', 0, 6, 10)))
	f.Add(armAttrBytes(binary.LittleEndian, armVendor{"aeabi", []armScope{{2, []byte{1, 0, 6, 3}}, {1, []byte{32, 1, 'g', 0, 6, 10}}}}))
	f.Add([]byte{'A'})
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
			if _, _, err := parseARMCPUArch(b, order); err != nil && !errors.Is(err, errARMAttr) {
				t.Errorf("error %v does not wrap errARMAttr", err)
			}
		}
	})
}
