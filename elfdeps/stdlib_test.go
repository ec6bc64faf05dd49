package elfdeps

import (
	"os"
	"testing"
	"testing/fstest"

	"github.com/scratchpack/scratchpack/internal/testenv"

	"github.com/google/go-cmp/cmp"
)

// stdlibOf returns the stdlib need of the needs, or nil.
func stdlibOf(needs []Need) *Need {
	for i := range needs {
		if needs[i].Kind == NeedStdlib {
			return &needs[i]
		}
	}
	return nil
}

// TestStdlibNeedClosure: a closure holding libpython3.11 needs Python's
// standard library, which no ELF header names; it is reported, not added
// by default. The library is the stand-in fixture, in a root that has
// /usr/lib/python3.11.
func TestStdlibNeedClosure(t *testing.T) {
	lib, err := os.ReadFile(testenv.Fixture(t, "pyi/libpython3.11.so.1.0"))
	if err != nil {
		t.Fatal(err)
	}
	hello, err := InspectFile(testenv.Fixture(t, "hello-c"))
	if err != nil {
		t.Fatal(err)
	}
	const libPath = "/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0"
	root := NewRoot(fstest.MapFS{
		libPath[1:]:                    {Data: lib},
		"usr/lib/python3.11/os.py":     {Data: []byte("# os\n")},
		"usr/lib/python3.11/encodings": {Mode: 0o755 | os.ModeDir},
	}, "the test root")
	c := &Closure{Libraries: []Library{{Soname: "libpython3.11.so.1.0", Path: libPath, RealPath: libPath}}}
	needs, _ := RuntimeNeeds(root, hello, c)
	n := stdlibOf(needs)
	if n == nil {
		t.Fatalf("no stdlib need in %+v", needs)
	}
	if n.Default || !cmp.Equal(n.Files, []string{"/usr/lib/python3.11"}) || n.Why == "" || n.Symptom == "" {
		t.Errorf("stdlib need %+v: want not by default, files [/usr/lib/python3.11], with a reason and symptom", n)
	}
	// Without the directory in the root there is nothing to name, but the
	// need stays: the program will not find its standard library.
	bare := NewRoot(fstest.MapFS{libPath[1:]: {Data: lib}}, "the bare root")
	needs, _ = RuntimeNeeds(bare, hello, c)
	if n := stdlibOf(needs); n == nil || len(n.Files) != 0 {
		t.Errorf("in a root without the standard library: %+v", n)
	}
}

// TestStdlibNeedHost: real interpreters of this machine, with the runtime
// linked in (Debian's python3.11 and perl embed libpython and libperl) or
// linked (gdb links libpython3.11); none for a PyInstaller program, whose
// standard library is in its archive, or for a program without one.
func TestStdlibNeedHost(t *testing.T) {
	for _, tc := range []struct {
		prog, pkg string
		want      string // a directory the need must name; "" for no need
	}{
		{"/usr/bin/python3.11", "python3.11-minimal", "/usr/lib/python3.11"},
		{"/usr/bin/perl", "perl-base", "/usr/share/perl/5.36"},
		{"/usr/bin/gdb", "gdb", "/usr/lib/python3.11"},
		{"/usr/bin/tclsh8.6", "tcl8.6", "/usr/share/tcltk/tcl8.6"},
		{testenv.Fixture(t, "hello-cc"), "", ""},
		{testenv.Fixture(t, "pyi/boot"), "", ""},
	} {
		t.Run(tc.prog, func(t *testing.T) {
			if tc.pkg != "" {
				testenv.HostProgram(t, tc.prog, tc.pkg)
			}
			rep, err := InspectFile(tc.prog)
			if err != nil {
				t.Fatal(err)
			}
			root := DirRoot("/")
			c, err := Resolve(root, rep)
			if err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(tc.prog)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			needs, _ := RuntimeNeeds(root, rep, c, WithProgram(f))
			n := stdlibOf(needs)
			switch {
			case tc.want == "" && n != nil:
				t.Errorf("unexpected stdlib need %+v", n)
			case tc.want != "" && (n == nil || !contains(n.Files, tc.want)):
				t.Errorf("want a stdlib need naming %s, got %+v", tc.want, n)
			}
		})
	}
}
