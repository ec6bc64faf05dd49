package elfdeps

import (
	"bytes"
	"debug/elf"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
	"testing/fstest"

	"github.com/scratchpack/scratchpack/internal/testenv"

	"github.com/google/go-cmp/cmp"

	"github.com/scratchpack/scratchpack/internal/pyitest"
)

// pyEntries are the entries of the test archives: the stand-in libpython
// (compressed), an embedded library it needs (stored), data, a script and
// an option.
func pyEntries(t *testing.T) []pyitest.Entry {
	t.Helper()
	py, err := os.ReadFile(testenv.Fixture(t, "pyi/libpython3.11.so.1.0"))
	if err != nil {
		t.Fatal(err)
	}
	ext, err := os.ReadFile(testenv.Fixture(t, "pyi/libpyext.so.1"))
	if err != nil {
		t.Fatal(err)
	}
	return []pyitest.Entry{
		{Name: "pyi-python-flag Py_GIL_DISABLED", Type: 'o'},
		{Name: "libpython3.11.so.1.0", Type: 'b', Data: py, Compress: true},
		{Name: "libpyext.so.1", Type: 'b', Data: ext},
		{Name: "base_library.zip", Type: 'x', Data: []byte("not really a zip"), Compress: true},
		{Name: "app", Type: 's', Data: []byte("print('hello')"), Compress: true},
	}
}

// onefile returns a onefile program: the bootloader stand-in with the
// archive appended.
func onefile(t *testing.T, entries []pyitest.Entry) []byte {
	t.Helper()
	boot, err := os.ReadFile(testenv.Fixture(t, "pyi/boot"))
	if err != nil {
		t.Fatal(err)
	}
	return append(boot, pyitest.Archive(entries, 311, "libpython3.11.so.1.0")...)
}

// TestReadPyInstaller reads archives written in PyInstaller's documented
// format: appended, in an ELF "pydata" section (objcopy --add-section, as
// PyInstaller does on Linux), and a onedir program's.
func TestReadPyInstaller(t *testing.T) {
	requireFixtures(t)
	entries := pyEntries(t)
	appended := onefile(t, entries)

	dir := t.TempDir()
	pkg := filepath.Join(dir, "pkg")
	os.WriteFile(pkg, pyitest.Archive(entries, 311, "libpython3.11.so.1.0"), 0o644)
	sectioned := filepath.Join(dir, "sectioned")
	if out, err := exec.Command("objcopy", "--add-section", "pydata="+pkg, "--set-section-flags", "pydata=noload,readonly",
		testenv.Fixture(t, "pyi/boot"), sectioned).CombinedOutput(); err != nil {
		t.Fatalf("objcopy: %v\n%s", err, out)
	}
	inSection, err := os.ReadFile(sectioned)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		file      []byte
		inSection bool
	}{
		{"appended", appended, false},
		{"pydata section", inSection, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := Inspect(bytes.NewReader(tc.file))
			if err != nil {
				t.Fatal(err)
			}
			pi := rep.PyInstaller
			if pi == nil {
				t.Fatalf("no PyInstaller archive found; warnings %v", rep.Warnings)
			}
			if pi.PythonVersion != "3.11" || pi.PythonLibrary != "libpython3.11.so.1.0" || pi.Mode != "onefile" || pi.InSection != tc.inSection {
				t.Errorf("got %+v", pi)
			}
			var names []string
			for _, e := range pi.Entries {
				names = append(names, string(e.Type)+":"+e.Name)
			}
			want := []string{"o:pyi-python-flag Py_GIL_DISABLED", "b:libpython3.11.so.1.0", "b:libpyext.so.1", "x:base_library.zip", "s:app"}
			if diff := cmp.Diff(want, names); diff != "" {
				t.Errorf("entries (-want +got):\n%s", diff)
			}
			for i, e := range pi.Entries {
				b, err := pi.ReadEntry(bytes.NewReader(tc.file), e, 1<<30)
				if err != nil {
					t.Fatalf("%s: %v", e.Name, err)
				}
				if !bytes.Equal(b, entries[i].Data) && !(len(b) == 0 && entries[i].Data == nil) {
					t.Errorf("%s: content differs from what was archived", e.Name)
				}
			}
			reps, err := pi.EmbeddedLibraries(bytes.NewReader(tc.file))
			if err != nil {
				t.Fatal(err)
			}
			wantLibs := []EmbeddedLibrary{
				{Name: "libpython3.11.so.1.0", Size: int64(len(entries[1].Data)), Soname: "libpython3.11.so.1.0", Arch: "amd64", Needed: []string{"libpyext.so.1", "libm.so.6", "libc.so.6"}},
				{Name: "libpyext.so.1", Size: int64(len(entries[2].Data)), Soname: "libpyext.so.1", Arch: "amd64", Needed: []string{}},
			}
			if diff := cmp.Diff(wantLibs, pi.Libraries); diff != "" {
				t.Errorf("embedded libraries (-want +got):\n%s", diff)
			}
			sys := SystemLibraries(reps)
			if diff := cmp.Diff(map[string][]string{"libm.so.6": {"libpython3.11.so.1.0"}, "libc.so.6": {"libpython3.11.so.1.0"}}, sys); diff != "" {
				t.Errorf("system libraries (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("onedir", func(t *testing.T) {
		boot, _ := os.ReadFile(testenv.Fixture(t, "pyi/boot"))
		prog := append(boot, pyitest.Archive([]pyitest.Entry{entries[0], entries[4]}, 312, "libpython3.12.so.1.0")...)
		rep, err := Inspect(bytes.NewReader(prog))
		if err != nil {
			t.Fatal(err)
		}
		pi := rep.PyInstaller
		if pi == nil || pi.Mode != "onedir" || pi.PythonVersion != "3.12" {
			t.Fatalf("got %+v", pi)
		}
		internal := fstest.MapFS{
			"libpython3.12.so.1.0": {Data: entries[1].Data},
			"lib/libpyext.so.1":    {Data: entries[2].Data},
			"base_library.zip":     {Data: []byte("PK")},
		}
		reps, err := pi.OnedirLibraries(internal)
		if err != nil {
			t.Fatal(err)
		}
		if len(reps) != 2 || len(pi.Libraries) != 2 {
			t.Fatalf("onedir libraries: %+v", pi.Libraries)
		}
		var got []string
		for n := range SystemLibraries(reps) {
			got = append(got, n)
		}
		sort.Strings(got)
		if diff := cmp.Diff([]string{"libc.so.6", "libm.so.6"}, got); diff != "" {
			t.Errorf("system libraries (-want +got):\n%s", diff)
		}
	})
}

// TestReadPyInstallerBroken: files that are not PyInstaller programs give
// nil, and broken archives ErrBadPyInstaller, never a panic.
func TestReadPyInstallerBroken(t *testing.T) {
	good := pyitest.Archive([]pyitest.Entry{{Name: "x", Type: 'x', Data: []byte("hello"), Compress: true}}, 311, "libpython3.11.so.1.0")
	cookie := len(good) - 88
	corrupt := func(f func(b []byte)) []byte {
		b := bytes.Clone(good)
		f(b)
		return b
	}
	for _, tc := range []struct {
		name string
		data []byte
		want error // nil: no archive, no error
	}{
		{"empty", nil, nil},
		{"no cookie", []byte("just some bytes, not an archive at all, long enough to search through for a cookie......................"), nil},
		{"magic at the very end", append(make([]byte, 100), pyitest.Magic...), nil},
		{"length beyond the file", corrupt(func(b []byte) { b[cookie+8] = 0x7f }), ErrBadPyInstaller},
		{"table beyond the archive", corrupt(func(b []byte) { b[cookie+16] = 0x7f }), ErrBadPyInstaller},
		{"entry length too small", corrupt(func(b []byte) { b[cookie-32+3] = 4 }), ErrBadPyInstaller},
		{"entry data outside", corrupt(func(b []byte) { b[cookie-32+8] = 0x7f }), ErrBadPyInstaller},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pi, err := ReadPyInstaller(bytes.NewReader(tc.data), int64(len(tc.data)), nil)
			if tc.want == nil {
				if pi != nil || err != nil {
					t.Errorf("got %+v, %v; want nil, nil", pi, err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("got %+v, %v; want %v", pi, err, tc.want)
			}
		})
	}
	t.Run("inflates beyond its size", func(t *testing.T) {
		b := corrupt(func(b []byte) { b[cookie-32+15] = 2 }) // ulen 2 instead of 5
		pi, err := ReadPyInstaller(bytes.NewReader(b), int64(len(b)), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pi.ReadEntry(bytes.NewReader(b), pi.Entries[0], 1<<20); !errors.Is(err, ErrBadPyInstaller) {
			t.Errorf("ReadEntry = %v, want ErrBadPyInstaller", err)
		}
	})
}

// FuzzReadPyInstaller checks that the archive reader never panics, fails
// only with ErrBadPyInstaller (or a read error), and reads every entry of
// what it accepts within bounds.
func FuzzReadPyInstaller(f *testing.F) {
	f.Add(pyitest.Archive([]pyitest.Entry{{Name: "x", Type: 'x', Data: []byte("hello"), Compress: true}, {Name: "s", Type: 's', Data: []byte("print()")}}, 311, "libpython3.11.so.1.0"))
	f.Add(pyitest.Archive(nil, 27, "libpython2.7.so.1.0"))
	f.Add(append([]byte("\x7fELF"), pyitest.Magic...))
	if lib, err := os.ReadFile(filepath.Join(fixtureDir, "pyi", "libpyext.so.1")); err == nil {
		f.Add(pyitest.Archive([]pyitest.Entry{{Name: "libpyext.so.1", Type: 'b', Data: lib, Compress: true}}, 312, "libpython3.12.so.1.0"))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var ef *elf.File
		if len(data) > 4 && string(data[:4]) == elf.ELFMAG {
			func() {
				defer func() { recover() }()
				ef, _ = elf.NewFile(bytes.NewReader(data))
			}()
		}
		pi, err := ReadPyInstaller(bytes.NewReader(data), int64(len(data)), ef)
		if err != nil {
			if pi != nil {
				t.Fatalf("a result with the error %v", err)
			}
			if !errors.Is(err, ErrBadPyInstaller) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		if pi == nil {
			return
		}
		for _, e := range pi.Entries {
			b, err := pi.ReadEntry(bytes.NewReader(data), e, 1<<20)
			if err == nil && int64(len(b)) > 1<<20 {
				t.Fatalf("entry %q read %d bytes past the limit", e.Name, len(b))
			}
		}
		_, _ = pi.EmbeddedLibraries(bytes.NewReader(data))
	})
}
