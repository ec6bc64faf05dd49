package elfdeps

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/scratchpack/scratchpack/internal/testenv"

	"github.com/google/go-cmp/cmp"
)

// fixtureDir is where `make fixtures` puts the compiled fixtures.
var fixtureDir = filepath.Join("..", "testdata", "bin")

// malformedDir holds the committed crafted files (see its README.md).
var malformedDir = filepath.Join("..", "testdata", "malformed")

// requireFixtures skips (or, on CI, fails) the whole test when testdata/bin
// has not been built at all.
func requireFixtures(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(fixtureDir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing (CI=true): run `make fixtures`: %v", fixtureDir, err)
		}
		t.Skipf("SKIP: %s is missing: run `make fixtures` to run the fixture tests (%v)", fixtureDir, err)
	}
}

func TestInspectFixtures(t *testing.T) {
	requireFixtures(t)
	const (
		x86Loader   = "/lib64/ld-linux-x86-64.so.2"
		arm64Loader = "/lib/ld-linux-aarch64.so.1"
		muslLoader  = "/lib/ld-musl-x86_64.so.1"
	)
	cxxNeeded := []string{"libc.so.6", "libgcc_s.so.1", "libm.so.6", "libstdc++.so.6"}
	tests := []struct {
		name        string
		file        string
		arch        string
		kind        Kind
		interp      string
		libc        Libc
		glibcMin    bool // GlibcMin is set
		glibcxxMin  bool // GlibcxxMin is set
		needed      []string
		runPath     []string
		soname      string
		goProgram   bool
		cgo         bool
		wantVersion string // with goProgram: Go's version prefix
	}{
		{name: "c dynamic", file: "hello-c", arch: "amd64", kind: KindDynamic, interp: x86Loader, libc: LibcGlibc, glibcMin: true, needed: []string{"libc.so.6"}},
		{name: "c exit3", file: "exit3", arch: "amd64", kind: KindDynamic, interp: x86Loader, libc: LibcGlibc, glibcMin: true, needed: []string{"libc.so.6"}},
		{name: "c static", file: "hello-c-static", arch: "amd64", kind: KindStatic, libc: LibcGlibc},
		{name: "c static-pie", file: "hello-c-static-pie", arch: "amd64", kind: KindStaticPIE, libc: LibcGlibc},
		{name: "c++ dynamic", file: "hello-cc", arch: "amd64", kind: KindDynamic, interp: x86Loader, libc: LibcGlibc, glibcMin: true, glibcxxMin: true, needed: cxxNeeded},
		{name: "c++ static", file: "hello-cc-static", arch: "amd64", kind: KindStatic, libc: LibcGlibc},
		{name: "musl dynamic", file: "hello-musl", arch: "amd64", kind: KindDynamic, interp: muslLoader, libc: LibcMusl, needed: []string{"libc.so"}},
		{name: "musl static", file: "hello-musl-static", arch: "amd64", kind: KindStatic, libc: LibcUnknown},
		{name: "go", file: "hello-go", arch: "amd64", kind: KindStatic, libc: LibcNone, goProgram: true, wantVersion: "go1."},
		{name: "cgo", file: "hello-cgo", arch: "amd64", kind: KindDynamic, interp: x86Loader, libc: LibcGlibc, glibcMin: true, needed: []string{"libc.so.6"}, goProgram: true, cgo: true, wantVersion: "go1."},
		{name: "rpath program", file: "rpath/bin/greet", arch: "amd64", kind: KindDynamic, interp: x86Loader, libc: LibcGlibc, glibcMin: true, needed: []string{"libc.so.6", "libgreet.so.1"}, runPath: []string{"$ORIGIN/../lib"}},
		{name: "rpath library", file: "rpath/lib/libgreet.so.1", arch: "amd64", kind: KindSharedLibrary, libc: LibcGlibc, glibcMin: true, needed: []string{"libc.so.6"}, soname: "libgreet.so.1"},
		{name: "arm64 c", file: "hello-c-arm64", arch: "arm64", kind: KindDynamic, interp: arm64Loader, libc: LibcGlibc, glibcMin: true, needed: []string{"libc.so.6"}},
		{name: "arm64 c++", file: "hello-cc-arm64", arch: "arm64", kind: KindDynamic, interp: arm64Loader, libc: LibcGlibc, glibcMin: true, glibcxxMin: true, needed: cxxNeeded},
		{name: "arm64 go", file: "hello-go-arm64", arch: "arm64", kind: KindStatic, libc: LibcNone, goProgram: true, wantVersion: "go1."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			file := testenv.Fixture(t, tc.file)
			rep, err := InspectFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Path != file {
				t.Errorf("Path = %q, want %q", rep.Path, file)
			}
			if rep.Arch != tc.arch || rep.Class != 64 || rep.Endian != "little" || rep.Variant != "" {
				t.Errorf("platform = %s/%d/%s/%q, want %s/64/little/\"\"", rep.Arch, rep.Class, rep.Endian, rep.Variant, tc.arch)
			}
			if rep.Kind != tc.kind {
				t.Errorf("Kind = %q, want %q", rep.Kind, tc.kind)
			}
			if rep.Interpreter != tc.interp {
				t.Errorf("Interpreter = %q, want %q", rep.Interpreter, tc.interp)
			}
			if rep.Libc != tc.libc {
				t.Errorf("Libc = %q, want %q", rep.Libc, tc.libc)
			}
			if (rep.GlibcMin != "") != tc.glibcMin {
				t.Errorf("GlibcMin = %q, want it set: %v", rep.GlibcMin, tc.glibcMin)
			}
			if rep.GlibcMin != "" && CompareVersions(rep.GlibcMin, "2.2.5") < 0 {
				t.Errorf("GlibcMin = %q, older than x86-64's first glibc", rep.GlibcMin)
			}
			if (rep.GlibcxxMin != "") != tc.glibcxxMin || (rep.CxxabiMin != "") != tc.glibcxxMin {
				t.Errorf("GlibcxxMin, CxxabiMin = %q, %q, want them set: %v", rep.GlibcxxMin, rep.CxxabiMin, tc.glibcxxMin)
			}
			// The order of DT_NEEDED follows the link line, which is the toolchain's business.
			if rep.Needed == nil || rep.RPath == nil || rep.RunPath == nil || rep.Warnings == nil {
				t.Errorf("nil list in %+v: JSON would say null, not []", rep)
			}
			needed := nonNil(slices.Sorted(slices.Values(rep.Needed)))
			if diff := cmp.Diff(nonNil(tc.needed), needed); diff != "" {
				t.Errorf("Needed (sorted) mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(nonNil(tc.runPath), rep.RunPath); diff != "" {
				t.Errorf("RunPath mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{}, rep.RPath); diff != "" {
				t.Errorf("RPath mismatch (-want +got):\n%s", diff)
			}
			if rep.Soname != tc.soname {
				t.Errorf("Soname = %q, want %q", rep.Soname, tc.soname)
			}
			if len(rep.Warnings) != 0 {
				t.Errorf("Warnings = %q, want none", rep.Warnings)
			}
			switch {
			case !tc.goProgram && rep.Go != nil:
				t.Errorf("Go = %+v, want nil for a program not written in Go", rep.Go)
			case tc.goProgram && rep.Go == nil:
				t.Errorf("Go = nil, want build information")
			case tc.goProgram:
				if !strings.HasPrefix(rep.Go.Version, tc.wantVersion) {
					t.Errorf("Go.Version = %q, want prefix %q", rep.Go.Version, tc.wantVersion)
				}
				if rep.Go.CGO != tc.cgo {
					t.Errorf("Go.CGO = %v, want %v", rep.Go.CGO, tc.cgo)
				}
				if !strings.HasPrefix(rep.Go.Path, "github.com/scratchpack/scratchpack/testdata/src/") {
					t.Errorf("Go.Path = %q, want the fixture's package", rep.Go.Path)
				}
				if rep.Go.Module != "github.com/scratchpack/scratchpack" {
					t.Errorf("Go.Module = %q, want github.com/scratchpack/scratchpack", rep.Go.Module)
				}
			}
		})
	}
}

func TestInspectMalformed(t *testing.T) {
	tests := []struct {
		file    string
		wantErr error // else the platform below
		arch    string
		variant string
		class   int
		endian  string
		interp  string
	}{
		{file: "truncated-header", wantErr: ErrCorrupt},
		{file: "bad-phoff", wantErr: ErrCorrupt},
		{file: "huge-phnum", wantErr: ErrCorrupt},
		// debug/elf drops the unterminated DT_NEEDED name silently; a
		// resolver that did the same would pack an image without that library.
		{file: "dynamic-no-terminator", wantErr: ErrCorrupt},
		{file: "interp-no-nul", wantErr: ErrCorrupt},
		{file: "not-elf.txt", wantErr: ErrNotELF},
		{file: "script.sh", wantErr: ErrScript},
		{file: "elf32-arm-dyn-min", arch: "arm", variant: "v7", class: 32, endian: "little", interp: "/lib/ld-linux-armhf.so.3"},
		{file: "riscv64-exec-min", arch: "riscv64", class: 64, endian: "little", interp: "/lib/ld-linux-riscv64-lp64d.so.1"},
		{file: "ppc64le-exec-min", arch: "ppc64le", class: 64, endian: "little", interp: "/lib64/ld64.so.2"},
		{file: "s390x-exec-min", arch: "s390x", class: 64, endian: "big", interp: "/lib/ld64.so.1"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			file := filepath.Join(malformedDir, tc.file)
			rep, err := InspectFile(file)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("InspectFile(%s) = %+v, %v; want an error wrapping %q", file, rep, err, tc.wantErr)
				}
				if rep != nil {
					t.Errorf("InspectFile returned a report with its error: %+v", rep)
				}
				checkFileError(t, err, file)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := []any{rep.Arch, rep.Variant, rep.Class, rep.Endian, rep.Kind, rep.Interpreter, rep.Libc}
			want := []any{tc.arch, tc.variant, tc.class, tc.endian, KindDynamic, tc.interp, LibcGlibc}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("arch, variant, class, endian, kind, interpreter, libc mismatch (-want +got):\n%s", diff)
			}
			if len(rep.Needed) != 0 || rep.Go != nil || len(rep.Warnings) != 0 {
				t.Errorf("Needed, Go, Warnings = %q, %v, %q; want none", rep.Needed, rep.Go, rep.Warnings)
			}
		})
	}
}

// checkFileError checks that err is a *FileError naming file, once.
func checkFileError(t *testing.T, err error, file string) {
	t.Helper()
	var fe *FileError
	if !errors.As(err, &fe) {
		t.Errorf("error %q (%T) is not a *FileError", err, err)
		return
	}
	if fe.Path != file {
		t.Errorf("FileError.Path = %q, want %q", fe.Path, file)
	}
	if n := strings.Count(err.Error(), file); n != 1 {
		t.Errorf("error %q names the file %d times, want once", err, n)
	}
}

func TestInspectSymlinkToFile(t *testing.T) {
	requireFixtures(t)
	target, err := filepath.Abs(testenv.Fixture(t, "hello-c"))
	if err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	rep, err := InspectFile(link)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Path != link || rep.Kind != KindDynamic {
		t.Errorf("Path, Kind = %q, %q; want %q, dynamic", rep.Path, rep.Kind, link)
	}
}

// TestInspectReaderErrors covers inputs too short to be anything.
func TestInspectReaderErrors(t *testing.T) {
	tests := []struct {
		name string
		data string
		want error
	}{
		{"empty", "", ErrNotELF},
		{"one byte", "\x7f", ErrNotELF},
		{"shebang only", "#!", ErrScript},
		{"magic only", "\x7fELF", ErrCorrupt},
		{"text", "hello, world\n", ErrNotELF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := Inspect(strings.NewReader(tc.data))
			if !errors.Is(err, tc.want) || rep != nil {
				t.Fatalf("Inspect(%q) = %+v, %v; want an error wrapping %q", tc.data, rep, err, tc.want)
			}
		})
	}
}

// stripSectionHeaders returns an ELF64 little-endian file without its
// section header table, as sstrip leaves it: the kernel and the loader read
// only program headers, so it still runs.
func stripSectionHeaders(t *testing.T, b []byte) []byte {
	t.Helper()
	if len(b) < 64 || b[elf.EI_CLASS] != byte(elf.ELFCLASS64) || b[elf.EI_DATA] != byte(elf.ELFDATA2LSB) {
		t.Fatal("stripSectionHeaders handles ELF64 little-endian files only")
	}
	b = slices.Clone(b)
	binary.LittleEndian.PutUint64(b[0x28:], 0) // e_shoff
	binary.LittleEndian.PutUint16(b[0x3c:], 0) // e_shnum
	binary.LittleEndian.PutUint16(b[0x3e:], 0) // e_shstrndx
	return b
}

// TestInspectWithoutSectionHeaders checks that a file whose section headers
// are gone reports the same dependencies as the loader reads them through
// PT_DYNAMIC (debug/elf's DynString finds nothing without sections).
func TestInspectWithoutSectionHeaders(t *testing.T) {
	requireFixtures(t)
	for _, name := range []string{"hello-c", "hello-cc", "hello-c-static-pie", "rpath/bin/greet", "rpath/lib/libgreet.so.1"} {
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(testenv.Fixture(t, name))
			if err != nil {
				t.Fatal(err)
			}
			want, err := Inspect(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			got, err := Inspect(bytes.NewReader(stripSectionHeaders(t, b)))
			if err != nil {
				t.Fatal(err)
			}
			type deps struct {
				Kind                   Kind
				Interpreter, Soname    string
				Needed, RPath, RunPath []string
			}
			w := deps{want.Kind, want.Interpreter, want.Soname, want.Needed, want.RPath, want.RunPath}
			g := deps{got.Kind, got.Interpreter, got.Soname, got.Needed, got.RPath, got.RunPath}
			if diff := cmp.Diff(w, g); diff != "" {
				t.Errorf("without section headers (-with +without):\n%s", diff)
			}
		})
	}
	t.Run("dynamic-no-terminator", func(t *testing.T) {
		b, err := os.ReadFile(filepath.Join(malformedDir, "dynamic-no-terminator"))
		if err != nil {
			t.Fatal(err)
		}
		if rep, err := Inspect(bytes.NewReader(stripSectionHeaders(t, b))); !errors.Is(err, ErrCorrupt) {
			t.Errorf("Inspect = %+v, %v; want an error wrapping ErrCorrupt", rep, err)
		}
	})
}
