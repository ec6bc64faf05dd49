package elfdeps

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/scratchpack/scratchpack/internal/testenv"

	"github.com/google/go-cmp/cmp"
)

// requireHost skips a test that reads the host's x86-64 libraries where
// there are none.
func requireHost(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skipf("SKIP: resolves against the x86-64 host's libraries; this is %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	if _, err := os.Stat("/lib64/ld-linux-x86-64.so.2"); err != nil {
		t.Skipf("SKIP: the host has no x86-64 glibc loader: %v", err)
	}
}

// closureSonames returns the sonames of a closure's libraries, sorted.
func closureSonames(c *Closure) []string {
	return nonNil(slices.Sorted(slices.Values(sonames(c))))
}

// realPaths returns the real files of a closure, interpreter included, sorted
// and without duplicates.
func realPaths(c *Closure) []string {
	var ps []string
	if c.Interpreter != nil {
		ps = append(ps, c.Interpreter.RealPath)
	}
	for _, l := range c.Libraries {
		ps = append(ps, l.RealPath)
	}
	slices.Sort(ps)
	return slices.Compact(ps)
}

// TestResolveHostFixtures resolves each host fixture against the host root
// and checks the closure by soname, then by file against the host's loader.
func TestResolveHostFixtures(t *testing.T) {
	requireFixtures(t)
	requireHost(t)
	const x86Loader = "/lib64/ld-linux-x86-64.so.2"
	tests := []struct {
		file   string
		interp string
		want   []string // sonames, sorted
	}{
		{"hello-c", x86Loader, []string{"libc.so.6"}},
		{"exit3", x86Loader, []string{"libc.so.6"}},
		{"hello-cgo", x86Loader, []string{"libc.so.6"}},
		{"hello-cc", x86Loader, []string{"libc.so.6", "libgcc_s.so.1", "libm.so.6", "libstdc++.so.6"}},
		{"rpath/bin/greet", x86Loader, []string{"libc.so.6", "libgreet.so.1"}},
		// musl's loader is its libc: libc.so maps to the interpreter.
		{"hello-musl", "/lib/ld-musl-x86_64.so.1", []string{}},
		{"hello-c-static", "", []string{}},
		{"hello-c-static-pie", "", []string{}},
		{"hello-cc-static", "", []string{}},
		{"hello-musl-static", "", []string{}},
		{"hello-go", "", []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			file := testenv.Fixture(t, tc.file)
			if tc.interp != "" {
				if _, err := os.Stat(tc.interp); err != nil {
					t.Skipf("SKIP: the host has no %s: %v", tc.interp, err)
				}
			}
			rep, err := InspectFile(file)
			if err != nil {
				t.Fatal(err)
			}
			dir, err := filepath.Abs(filepath.Dir(file))
			if err != nil {
				t.Fatal(err)
			}
			c, err := Resolve(DirRoot("/"), rep, WithOrigin(dir, dir))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, closureSonames(c)); diff != "" {
				t.Errorf("sonames mismatch (-want +got):\n%s", diff)
			}
			if len(c.Missing) != 0 || len(c.Warnings) != 0 {
				t.Errorf("Missing %+v, Warnings %q; want none", c.Missing, c.Warnings)
			}
			if tc.interp == "" {
				want := &Closure{Libraries: []Library{}, Missing: []Missing{}, Warnings: []string{}}
				if diff := cmp.Diff(want, c); diff != "" {
					t.Errorf("a static program's closure is not empty (-want +got):\n%s", diff)
				}
				return
			}
			if c.Interpreter == nil || c.Interpreter.Path != tc.interp || c.Interpreter.Via != "interpreter" {
				t.Fatalf("Interpreter = %+v, want %s", c.Interpreter, tc.interp)
			}
			for _, l := range append([]Library{*c.Interpreter}, c.Libraries...) {
				checkMachine(t, l.RealPath, elf.EM_X86_64)
				if len(l.NeededBy) == 0 {
					t.Errorf("%s: NeededBy is empty", l.Soname)
				}
			}
			// The host's own loader must map the same files.
			oracle, err := ResolveWithLoader(file, rep)
			if err != nil {
				t.Fatalf("ResolveWithLoader: %v", err)
			}
			if diff := cmp.Diff(realPaths(oracle), realPaths(c)); diff != "" {
				t.Errorf("files differ from the host loader's (-ld.so +resolver):\n%s", diff)
			}
		})
	}
}

// checkMachine opens a host file with debug/elf and checks its machine.
func checkMachine(t *testing.T, file string, want elf.Machine) {
	t.Helper()
	f, err := elf.Open(file)
	if err != nil {
		t.Error(err)
		return
	}
	defer f.Close()
	if f.Machine != want || f.Type != elf.ET_DYN {
		t.Errorf("%s is %v %v, want %v ET_DYN", file, f.Machine, f.Type, want)
	}
}

func TestResolveOrigin(t *testing.T) {
	requireFixtures(t)
	requireHost(t)
	file := testenv.Fixture(t, "rpath/bin/greet")
	rep, err := InspectFile(file)
	if err != nil {
		t.Fatal(err)
	}
	bin, err := filepath.Abs(filepath.Dir(file))
	if err != nil {
		t.Fatal(err)
	}
	libDir := filepath.Join(filepath.Dir(bin), "lib")
	greet := func(t *testing.T, c *Closure) *Library {
		t.Helper()
		for i, l := range c.Libraries {
			if l.Soname == "libgreet.so.1" {
				return &c.Libraries[i]
			}
		}
		t.Fatalf("libgreet.so.1 is not in the closure: %+v", c)
		return nil
	}

	t.Run("on the host", func(t *testing.T) {
		c, err := Resolve(DirRoot("/"), rep, WithOrigin(bin, bin))
		if err != nil {
			t.Fatal(err)
		}
		l := greet(t, c)
		want := Library{
			Soname: "libgreet.so.1", Path: filepath.Join(libDir, "libgreet.so.1"),
			RealPath: filepath.Join(libDir, "libgreet.so.1.0.0"),
			Links:    []Link{{filepath.Join(libDir, "libgreet.so.1"), "libgreet.so.1.0.0"}},
			NeededBy: []string{file}, Via: "runpath",
		}
		if diff := cmp.Diff(want, *l, cmp.FilterPath(func(p cmp.Path) bool {
			f := p.Last().String()
			return f == ".Size" || f == ".GlibcMin" || f == ".GlibcxxMin"
		}, cmp.Ignore())); diff != "" {
			t.Errorf("libgreet.so.1 mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("moved in the image", func(t *testing.T) {
		// The program will be /app/bin/greet in the image; it is read from bin now.
		c, err := Resolve(DirRoot("/"), rep, WithOrigin("/app/bin", bin))
		if err != nil {
			t.Fatal(err)
		}
		l := greet(t, c)
		if l.Path != "/app/lib/libgreet.so.1" || l.Source != filepath.Join(libDir, "libgreet.so.1") || l.Via != "runpath" {
			t.Errorf("Path, Source, Via = %q, %q, %q; want /app/lib/libgreet.so.1, %s, runpath", l.Path, l.Source, l.Via, filepath.Join(libDir, "libgreet.so.1"))
		}
	})

	t.Run("without WithOrigin", func(t *testing.T) {
		c, err := Resolve(DirRoot("/"), rep)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"libgreet.so.1"}, missingNames(c)); diff != "" {
			t.Errorf("Missing mismatch (-want +got):\n%s", diff)
		}
		if !slices.ContainsFunc(c.Warnings, func(w string) bool { return strings.Contains(w, "$ORIGIN") }) {
			t.Errorf("Warnings = %q, want one about $ORIGIN", c.Warnings)
		}
		if !slices.Contains(closureSonames(c), "libc.so.6") {
			t.Errorf("libc.so.6 is not in the closure: the rest of the search must go on")
		}
	})

	t.Run("relative origin", func(t *testing.T) {
		if _, err := Resolve(DirRoot("/"), rep, WithOrigin("bin", bin)); err == nil {
			t.Error("WithOrigin with a relative directory: no error")
		}
	})

	t.Run("agrees with the host loader", func(t *testing.T) {
		c, err := Resolve(DirRoot("/"), rep, WithOrigin(bin, bin))
		if err != nil {
			t.Fatal(err)
		}
		oracle, err := ResolveWithLoader(file, rep)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(realPaths(oracle), realPaths(c)); diff != "" {
			t.Errorf("files differ from the host loader's (-ld.so +resolver):\n%s", diff)
		}
	})
}

// TestResolveArm64Sysroot resolves the aarch64 fixtures against Debian's
// cross sysroot: every file must be an aarch64 one from the sysroot.
func TestResolveArm64Sysroot(t *testing.T) {
	requireFixtures(t)
	const sysroot = "/usr/aarch64-linux-gnu"
	if _, err := os.Stat(sysroot + "/lib/libc.so.6"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the aarch64 sysroot is missing (CI=true): %v", err)
		}
		t.Skipf("SKIP: no aarch64 sysroot at %s (apt-get install libc6-dev-arm64-cross): %v", sysroot, err)
	}
	tests := []struct {
		file string
		want []string
	}{
		{"hello-c-arm64", []string{"libc.so.6"}},
		{"hello-cc-arm64", []string{"libc.so.6", "libgcc_s.so.1", "libm.so.6", "libstdc++.so.6"}},
		{"hello-go-arm64", []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			rep, err := InspectFile(testenv.Fixture(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			c, err := Resolve(DirRoot(sysroot), rep)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, closureSonames(c)); diff != "" {
				t.Errorf("sonames mismatch (-want +got):\n%s", diff)
			}
			if len(c.Missing) != 0 || len(c.Warnings) != 0 {
				t.Errorf("Missing %+v, Warnings %q; want none", c.Missing, c.Warnings)
			}
			if len(tc.want) == 0 {
				return
			}
			if c.Interpreter == nil || c.Interpreter.Path != "/lib/ld-linux-aarch64.so.1" {
				t.Fatalf("Interpreter = %+v, want /lib/ld-linux-aarch64.so.1", c.Interpreter)
			}
			if c.GlibcProvided == "" || CompareVersions(c.GlibcMin, c.GlibcProvided) > 0 {
				t.Errorf("GlibcMin %q, GlibcProvided %q: the sysroot's glibc must be new enough for its own libstdc++", c.GlibcMin, c.GlibcProvided)
			}
			for _, l := range append([]Library{*c.Interpreter}, c.Libraries...) {
				if !strings.HasPrefix(l.RealPath, "/lib/") {
					t.Errorf("%s: RealPath %q is not under the sysroot's /lib", l.Soname, l.RealPath)
				}
				checkMachine(t, sysroot+l.RealPath, elf.EM_AARCH64)
			}
		})
	}

	t.Run("x86-64 program in the aarch64 sysroot", func(t *testing.T) {
		rep, err := InspectFile(testenv.Fixture(t, "hello-c"))
		if err != nil {
			t.Fatal(err)
		}
		c, err := Resolve(DirRoot(sysroot), rep)
		if err != nil {
			t.Fatal(err)
		}
		// The sysroot's libc.so.6 is aarch64: skipped, so missing.
		want := []string{"/lib64/ld-linux-x86-64.so.2", "libc.so.6"}
		if diff := cmp.Diff(want, missingNames(c)); diff != "" || len(c.Libraries) != 0 || c.Interpreter != nil {
			t.Errorf("Missing mismatch (-want +got):\n%s\nLibraries %+v", diff, c.Libraries)
		}
	})
}

// hostFile reads a host file for a MapFS root, skipping the test without it.
func hostFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Skipf("SKIP: %v", err)
	}
	return b
}

// TestResolveMapFS resolves hello-c in fstest.MapFS roots with hostile
// symbolic links: loops end in Missing (not a hang) and links pointing
// outside the root are followed inside it.
func TestResolveMapFS(t *testing.T) {
	requireFixtures(t)
	requireHost(t)
	rep, err := InspectFile(testenv.Fixture(t, "hello-c"))
	if err != nil {
		t.Fatal(err)
	}
	ldso := &fstest.MapFile{Mode: 0o755, Data: hostFile(t, "/lib64/ld-linux-x86-64.so.2")}
	libc := &fstest.MapFile{Mode: 0o755, Data: hostFile(t, "/lib/x86_64-linux-gnu/libc.so.6")}
	const libcDir = "lib/x86_64-linux-gnu"
	tests := []struct {
		name         string
		fsys         fstest.MapFS
		wantInterp   string // real path, or "" for missing
		wantLibc     string // real path, or "" for missing
		wantWarnings int
		// Without its interpreter, libc.so.6's own DT_NEEDED of the
		// loader by soname is missing too.
		alsoMissing []string
	}{
		{"plain", fstest.MapFS{"lib64/ld-linux-x86-64.so.2": ldso, libcDir + "/libc.so.6": libc},
			"/lib64/ld-linux-x86-64.so.2", "/" + libcDir + "/libc.so.6", 0, nil},
		{"interpreter loop", fstest.MapFS{"lib64/ld-linux-x86-64.so.2": symlink("ld-linux-x86-64.so.2"), libcDir + "/libc.so.6": libc},
			"", "/" + libcDir + "/libc.so.6", 1, []string{"ld-linux-x86-64.so.2"}},
		{"library loop", fstest.MapFS{"lib64/ld-linux-x86-64.so.2": ldso, libcDir + "/libc.so.6": symlink("libc.so.6.x"), libcDir + "/libc.so.6.x": symlink("libc.so.6")},
			"/lib64/ld-linux-x86-64.so.2", "", 1, nil},
		{"directory loop", fstest.MapFS{"lib64": symlink("lib64"), libcDir + "/libc.so.6": libc},
			"", "/" + libcDir + "/libc.so.6", 0, []string{"ld-linux-x86-64.so.2"}},
		{"absolute link out of the root", fstest.MapFS{"lib64/ld-linux-x86-64.so.2": symlink("/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"), libcDir + "/libc.so.6": symlink("/usr/lib/x86_64-linux-gnu/libc.so.6")},
			"", "", 0, nil},
		{"absolute link in the root", fstest.MapFS{"lib64/ld-linux-x86-64.so.2": symlink("/opt/ld.so"), "opt/ld.so": ldso, libcDir + "/libc.so.6": symlink("/opt/libc.so"), "opt/libc.so": libc},
			"/opt/ld.so", "/opt/libc.so", 0, nil},
		{"dot-dot link out of the root", fstest.MapFS{"lib64/ld-linux-x86-64.so.2": ldso, libcDir + "/libc.so.6": symlink("../../../../../../../../opt/libc.so"), "opt/libc.so": libc},
			"/lib64/ld-linux-x86-64.so.2", "/opt/libc.so", 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Resolve(NewRoot(tc.fsys, tc.name), rep)
			if err != nil {
				t.Fatal(err)
			}
			var interp, lib string
			if c.Interpreter != nil {
				interp = c.Interpreter.RealPath
			}
			for _, l := range c.Libraries {
				if l.Soname == "libc.so.6" {
					lib = l.RealPath
				}
			}
			if interp != tc.wantInterp || lib != tc.wantLibc {
				t.Errorf("interpreter, libc = %q, %q; want %q, %q", interp, lib, tc.wantInterp, tc.wantLibc)
			}
			var wantMissing []string
			if tc.wantInterp == "" {
				wantMissing = append(wantMissing, "/lib64/ld-linux-x86-64.so.2")
			}
			if tc.wantLibc == "" {
				wantMissing = append(wantMissing, "libc.so.6")
			}
			wantMissing = append(wantMissing, tc.alsoMissing...)
			if diff := cmp.Diff(wantMissing, missingNames(c)); diff != "" {
				t.Errorf("Missing mismatch (-want +got):\n%s", diff)
			}
			if len(c.Warnings) != tc.wantWarnings {
				t.Errorf("Warnings = %q, want %d", c.Warnings, tc.wantWarnings)
			}
		})
	}
}

// TestResolveErrors covers what Resolve refuses.
func TestResolveErrors(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(malformedDir, "riscv64-exec-min"))
	if err != nil {
		t.Fatal(err)
	}
	binary.LittleEndian.PutUint16(b[0x12:], uint16(elf.EM_SPARCV9)) // e_machine
	rep, err := Inspect(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Arch != "EM_SPARCV9" || len(rep.Warnings) != 1 {
		t.Errorf("Arch, Warnings = %q, %q; want EM_SPARCV9 and a warning", rep.Arch, rep.Warnings)
	}
	empty := NewRoot(fstest.MapFS{}, "empty")
	if c, err := Resolve(empty, rep); err == nil {
		t.Errorf("Resolve of an unknown architecture = %+v, want an error", c)
	}
	if c, err := Resolve(empty, &Report{Interpreter: "/lib/ld.so", Needed: []string{"libc.so.6"}}); err == nil {
		t.Errorf("Resolve of a Report not made by Inspect = %+v, want an error", c)
	}
}

// TestResolveForeignMinimal resolves the crafted foreign programs in an
// empty root: each misses exactly its interpreter, and Diagnose says so.
func TestResolveForeignMinimal(t *testing.T) {
	for _, name := range []string{"elf32-arm-dyn-min", "riscv64-exec-min", "ppc64le-exec-min", "s390x-exec-min"} {
		t.Run(name, func(t *testing.T) {
			rep, err := InspectFile(filepath.Join(malformedDir, name))
			if err != nil {
				t.Fatal(err)
			}
			c, err := Resolve(NewRoot(fstest.MapFS{}, "empty"), rep)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{rep.Interpreter}, missingNames(c)); diff != "" {
				t.Errorf("Missing mismatch (-want +got):\n%s", diff)
			}
			if len(c.Missing) == 1 && !slices.Equal(c.Missing[0].Searched, []string{path.Dir(rep.Interpreter)}) {
				t.Errorf("Searched = %q, want the interpreter's directory", c.Missing[0].Searched)
			}
			ps := Diagnose(rep, c, "scratch", "amd64")
			var codes []string
			for _, p := range ps {
				codes = append(codes, p.Code)
			}
			if diff := cmp.Diff([]string{ProblemExecFormat, ProblemNoInterpreter}, codes); diff != "" {
				t.Errorf("Diagnose codes mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestResolveUnloadableInterpreter checks that an interpreter that is not a
// loader (a directory, a text file) is reported missing, not as an error.
func TestResolveUnloadableInterpreter(t *testing.T) {
	rep, err := InspectFile(filepath.Join(malformedDir, "riscv64-exec-min"))
	if err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string]*fstest.MapFile{
		"directory": {Mode: fs.ModeDir | 0o755},
		"text file": regular("not a loader"),
	} {
		t.Run(name, func(t *testing.T) {
			fsys := fstest.MapFS{strings.TrimPrefix(rep.Interpreter, "/"): f}
			c, err := Resolve(NewRoot(fsys, name), rep)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{rep.Interpreter}, missingNames(c)); diff != "" || len(c.Warnings) != 1 {
				t.Errorf("Missing mismatch (-want +got):\n%s\nWarnings %q, want one", diff, c.Warnings)
			}
		})
	}
}
