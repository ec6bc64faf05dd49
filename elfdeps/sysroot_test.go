package elfdeps

import (
	"bytes"
	"encoding/binary"
	"path"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/scratchpack/scratchpack/internal/elftest"
)

// ldcFlagsFor is the ld.so.cache flag ldconfig writes for a library of arch.
var ldcFlagsFor = map[string]int32{
	"amd64":   ldcFlagELFLibc6 | ldcFlagX8664Lib64,
	"arm64":   ldcFlagELFLibc6 | ldcFlagAArch64Lib64,
	"arm":     ldcFlagELFLibc6 | ldcFlagARMLibHF,
	"armel":   ldcFlagELFLibc6,
	"386":     ldcFlagELFLibc6,
	"riscv64": ldcFlagELFLibc6 | ldcFlagRISCVFloatABIDbl,
	"ppc64le": ldcFlagELFLibc6 | ldcFlagPowerPCLib64,
	"s390x":   ldcFlagELFLibc6 | ldcFlagS390Lib64,
}

// sysrootLayout builds one kind of sysroot for an architecture and says
// where the program's files must be found in it.
type sysrootLayout struct {
	name  string
	build func(name string, a elftest.Arch) fstest.MapFS
	want  func(a elftest.Arch) []resolvedAt // the interpreter first
}

type resolvedAt struct{ Soname, Path, RealPath, Via string }

func file(f elftest.File) *fstest.MapFile { return &fstest.MapFile{Mode: 0o755, Data: f.Bytes()} }

func fsPath(p string) string { return strings.TrimPrefix(p, "/") }

func ldCacheFor(name string, a elftest.Arch, entries ...ldcTestEntry) *fstest.MapFile {
	var order ldcOrder = binary.LittleEndian
	endian := byte(ldcEndianLittle)
	if a.Order == binary.BigEndian {
		order, endian = binary.BigEndian, ldcEndianBig
	}
	for i := range entries {
		entries[i].flags = ldcFlagsFor[name]
	}
	return &fstest.MapFile{Mode: 0o644, Data: buildNewLDCache(order, endian, entries)}
}

var sysrootLayouts = []sysrootLayout{
	{
		// Debian's cross packages: /usr/TRIPLET/lib holds everything, no
		// multiarch directories, no ld.so.cache; a loader whose PT_INTERP
		// is in /lib64 is linked from there (libc6-amd64-cross,
		// libc6-ppc64el-cross: lib64/ld64.so.2 -> ../lib/ld64.so.2).
		name: "Debian cross packages",
		build: func(_ string, a elftest.Arch) fstest.MapFS {
			fsys := fstest.MapFS{
				"lib/" + path.Base(a.Interp): file(elftest.Library(a, path.Base(a.Interp))),
				"lib/libc.so.6":              file(elftest.Library(a, "libc.so.6", path.Base(a.Interp))),
				"lib/libm.so.6":              file(elftest.Library(a, "libm.so.6", "libc.so.6")),
				"lib/libz.so.1":              symlink("libz.so.1.3"),
				"lib/libz.so.1.3":            file(elftest.Library(a, "libz.so.1")),
			}
			if path.Dir(a.Interp) == "/lib64" {
				fsys[fsPath(a.Interp)] = symlink("../lib/" + path.Base(a.Interp))
			}
			return fsys
		},
		want: func(a elftest.Arch) []resolvedAt {
			return []resolvedAt{
				{a.Interp, a.Interp, "/lib/" + path.Base(a.Interp), "interpreter"},
				{"libc.so.6", "/lib/libc.so.6", "/lib/libc.so.6", "default"},
				{"libm.so.6", "/lib/libm.so.6", "/lib/libm.so.6", "default"},
				{"libz.so.1", "/lib/libz.so.1", "/lib/libz.so.1.3", "default"},
			}
		},
	},
	{
		// A root file system of the target (debootstrap, an unpacked
		// image): multiarch directories, the loader linked from its
		// PT_INTERP path, and an ld.so.cache.
		name: "target root file system",
		build: func(name string, a elftest.Arch) fstest.MapFS {
			lib, usrlib := "lib/"+a.Triplet, "usr/lib/"+a.Triplet
			return fstest.MapFS{
				fsPath(a.Interp):                          symlink("/" + lib + "/" + path.Base(a.Interp)),
				lib + "/" + path.Base(a.Interp):           file(elftest.Library(a, path.Base(a.Interp))),
				lib + "/libc.so.6":                        file(elftest.Library(a, "libc.so.6", path.Base(a.Interp))),
				lib + "/libm.so.6":                        file(elftest.Library(a, "libm.so.6", "libc.so.6")),
				usrlib + "/libz.so.1":                     symlink("libz.so.1.3"),
				usrlib + "/libz.so.1.3":                   file(elftest.Library(a, "libz.so.1")),
				"usr/lib/" + a.Triplet + "/libc.so.6.bak": regular("not a library"),
				"etc/ld.so.cache": ldCacheFor(name, a,
					ldcTestEntry{name: "libc.so.6", path: "/" + lib + "/libc.so.6"},
					ldcTestEntry{name: "libm.so.6", path: "/" + lib + "/libm.so.6"},
					ldcTestEntry{name: "libz.so.1", path: "/" + usrlib + "/libz.so.1"}),
			}
		},
		want: func(a elftest.Arch) []resolvedAt {
			lib, usrlib := "/lib/"+a.Triplet, "/usr/lib/"+a.Triplet
			return []resolvedAt{
				{a.Interp, a.Interp, lib + "/" + path.Base(a.Interp), "interpreter"},
				{"libc.so.6", lib + "/libc.so.6", lib + "/libc.so.6", "ld.so.cache"},
				{"libm.so.6", lib + "/libm.so.6", lib + "/libm.so.6", "ld.so.cache"},
				{"libz.so.1", usrlib + "/libz.so.1", usrlib + "/libz.so.1.3", "ld.so.cache"},
			}
		},
	},
	{
		// A toolchain's sysroot (crosstool-NG, Buildroot, Yocto SDK):
		// DIR/lib, DIR/usr/lib, and an ld.so.cache naming a directory
		// outside the default ones.
		name: "toolchain sysroot",
		build: func(name string, a elftest.Arch) fstest.MapFS {
			return fstest.MapFS{
				fsPath(a.Interp):                 file(elftest.Library(a, path.Base(a.Interp))),
				"lib/libc.so.6":                  file(elftest.Library(a, "libc.so.6", path.Base(a.Interp))),
				"usr/lib/libm.so.6":              file(elftest.Library(a, "libm.so.6", "libc.so.6")),
				"usr/local/lib/libz.so.1":        symlink("libz.so.1.3"),
				"usr/local/lib/libz.so.1.3":      file(elftest.Library(a, "libz.so.1")),
				"etc/ld.so.cache":                ldCacheFor(name, a, ldcTestEntry{name: "libz.so.1", path: "/usr/local/lib/libz.so.1"}),
				"usr/lib/gconv/gconv-modules":    regular("# not a library"),
				"usr/lib/libm.so":                regular("/* GNU ld script */"),
				"usr/share/doc/libc6/copyright":  regular("..."),
				"usr/include/stdio.h":            regular("..."),
				"usr/lib/pkgconfig/zlib.pc":      regular("..."),
				"usr/lib/" + a.Triplet + ".keep": regular(""),
			}
		},
		want: func(a elftest.Arch) []resolvedAt {
			return []resolvedAt{
				{a.Interp, a.Interp, a.Interp, "interpreter"},
				{"libc.so.6", "/lib/libc.so.6", "/lib/libc.so.6", "default"},
				{"libm.so.6", "/usr/lib/libm.so.6", "/usr/lib/libm.so.6", "default"},
				{"libz.so.1", "/usr/local/lib/libz.so.1", "/usr/local/lib/libz.so.1.3", "ld.so.cache"},
			}
		},
	},
}

// TestResolveSysrootLayouts resolves a program of every architecture in
// each kind of sysroot of its own architecture.
func TestResolveSysrootLayouts(t *testing.T) {
	for _, layout := range sysrootLayouts {
		for _, name := range elftest.ArchNames() {
			a := elftest.Archs[name]
			t.Run(layout.name+"/"+name, func(t *testing.T) {
				rep, err := Inspect(bytes.NewReader(elftest.Program(a, "libm.so.6", "libz.so.1").Bytes()))
				if err != nil {
					t.Fatal(err)
				}
				if rep.Arch != a.Name {
					t.Fatalf("Arch = %q, want %q", rep.Arch, a.Name)
				}
				c, err := Resolve(NewRoot(layout.build(name, a), layout.name), rep)
				if err != nil {
					t.Fatal(err)
				}
				if len(c.Missing) != 0 || len(c.Warnings) != 0 || c.Interpreter == nil {
					t.Fatalf("Missing %+v, Warnings %q, Interpreter %+v; want everything found", c.Missing, c.Warnings, c.Interpreter)
				}
				var got []resolvedAt
				for _, l := range append([]Library{*c.Interpreter}, c.Libraries...) {
					got = append(got, resolvedAt{l.Soname, l.Path, l.RealPath, l.Via})
				}
				w := layout.want(a)
				// Breadth first, as ld.so maps them: the program's libm and
				// libz, then libm's libc.
				want := []resolvedAt{w[0], w[2], w[3], w[1]}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("closure mismatch (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// TestResolveSysrootOfAnotherArch resolves each program in the Debian-style
// sysroot of every other architecture: the loader there is not its own, and
// each library of the wrong machine, class, byte order or float ABI is
// skipped, as ld.so skips it.
func TestResolveSysrootOfAnotherArch(t *testing.T) {
	roots := map[string]*Root{}
	for _, name := range elftest.ArchNames() {
		roots[name] = NewRoot(sysrootLayouts[0].build(name, elftest.Archs[name]), name)
	}
	for _, prog := range elftest.ArchNames() {
		rep, err := Inspect(bytes.NewReader(elftest.Program(elftest.Archs[prog], "libm.so.6").Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		for _, other := range elftest.ArchNames() {
			if other == prog {
				continue
			}
			c, err := Resolve(roots[other], rep)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{rep.Interpreter, "libm.so.6"}, missingNames(c)); diff != "" || len(c.Libraries) != 0 {
				t.Errorf("%s program in the %s sysroot: missing mismatch (-want +got):\n%s\nlibraries %+v", prog, other, diff, c.Libraries)
			}
		}
	}
}

func TestDebianCrossSysroot(t *testing.T) {
	want := map[string]CrossSysroot{
		"amd64":   {"/usr/x86_64-linux-gnu", "libc6-amd64-cross"},
		"arm64":   {"/usr/aarch64-linux-gnu", "libc6-arm64-cross"},
		"arm":     {"/usr/arm-linux-gnueabihf", "libc6-armhf-cross"},
		"armel":   {"/usr/arm-linux-gnueabi", "libc6-armel-cross"},
		"386":     {"/usr/i686-linux-gnu", "libc6-i386-cross"},
		"riscv64": {"/usr/riscv64-linux-gnu", "libc6-riscv64-cross"},
		"ppc64le": {"/usr/powerpc64le-linux-gnu", "libc6-ppc64el-cross"},
		"s390x":   {"/usr/s390x-linux-gnu", "libc6-s390x-cross"},
	}
	for _, name := range elftest.ArchNames() {
		rep, err := Inspect(bytes.NewReader(elftest.Program(elftest.Archs[name], "libc.so.6").Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		got, ok := DebianCrossSysroot(rep)
		if !ok || got != want[name] {
			t.Errorf("%s: DebianCrossSysroot = %+v, %t; want %+v", name, got, ok, want[name])
		}
	}
	musl := elftest.Program(elftest.Archs["arm64"], "libc.so")
	musl.Interp = "/lib/ld-musl-aarch64.so.1"
	rep, err := Inspect(bytes.NewReader(musl.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := DebianCrossSysroot(rep); ok {
		t.Errorf("musl program: DebianCrossSysroot = %+v, want none", got)
	}
}
