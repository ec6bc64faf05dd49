package elfdeps

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The tests in this file build small programs and libraries with gcc into a
// temporary directory, resolve them against the host root, and check the
// answer with the host's own loader twice: by running the program (each
// library prints its own path from a constructor) and through
// ResolveWithLoader (ld.so --list).

// lab is a temporary directory of libraries and programs built for one test.
type lab struct {
	t   *testing.T
	dir string
	// noOracle skips ResolveWithLoader in check: u-root's pkg/ldd drops the
	// lines of ld.so --list that have no "=>", as for a DT_NEEDED path.
	noOracle bool
}

// newLab skips the test where the host cannot build and run x86-64 glibc
// programs; on CI (CI=true) a missing gcc is a failure.
func newLab(t *testing.T) *lab {
	t.Helper()
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skipf("SKIP: these tests build and run x86-64 glibc programs; this is %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	if _, err := exec.LookPath("gcc"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("gcc is missing (CI=true): %v", err)
		}
		t.Skipf("SKIP: gcc is missing, cannot build the search-order tests: %v", err)
	}
	if _, err := os.Stat("/lib64/ld-linux-x86-64.so.2"); err != nil {
		t.Skipf("SKIP: the host has no x86-64 glibc loader: %v", err)
	}
	dir, err := filepath.EvalSymlinks(t.TempDir()) // $ORIGIN and ld.so --list see real paths
	if err != nil {
		t.Fatal(err)
	}
	return &lab{t: t, dir: dir}
}

func (l *lab) path(rel string) string { return filepath.Join(l.dir, filepath.FromSlash(rel)) }

// rpath and runpath are linker flags that write DT_RPATH or DT_RUNPATH with
// the lab directories dirs.
func (l *lab) rpath(dirs ...string) string   { return "-Wl,--disable-new-dtags,-rpath," + l.paths(dirs) }
func (l *lab) runpath(dirs ...string) string { return "-Wl,--enable-new-dtags,-rpath," + l.paths(dirs) }

func (l *lab) paths(dirs []string) string {
	var ps []string
	for _, d := range dirs {
		ps = append(ps, l.path(d))
	}
	return strings.Join(ps, ":")
}

// needs returns linker flags that add DT_NEEDED entries for libs (lab paths
// like "b/libB.so"), found at link time where they are.
func (l *lab) needs(libs ...string) []string {
	args := []string{"-Wl,--no-as-needed"}
	for _, lib := range libs {
		args = append(args, "-L"+filepath.Dir(l.path(lib)), "-l"+strings.TrimSuffix(strings.TrimPrefix(filepath.Base(lib), "lib"), ".so"))
	}
	return args
}

// libSource is every library: a constructor prints the library's lab path,
// so a run of the program says which copy of each library the loader chose.
const libSource = `#include <stdio.h>
__attribute__((constructor)) static void where(void) { printf("%s\n", WHERE); }
`

// gcc compiles C source into the lab path out.
func (l *lab) gcc(out, source string, args ...string) {
	l.t.Helper()
	if err := os.MkdirAll(filepath.Dir(l.path(out)), 0o755); err != nil {
		l.t.Fatal(err)
	}
	src := l.path(out) + ".c"
	if err := os.WriteFile(src, []byte(source), 0o644); err != nil {
		l.t.Fatal(err)
	}
	argv := append([]string{"-o", l.path(out), src}, args...)
	if b, err := exec.Command("gcc", argv...).CombinedOutput(); err != nil {
		l.t.Fatalf("gcc %s: %v\n%s", strings.Join(argv, " "), err, b)
	}
}

// lib builds the shared library at lab path rel, with its file name as soname.
func (l *lab) lib(rel string, args ...string) string {
	l.t.Helper()
	args = append([]string{"-shared", "-fPIC", "-DWHERE=\"" + rel + "\"", "-Wl,-soname," + filepath.Base(rel)}, args...)
	l.gcc(rel, libSource, args...)
	return rel
}

// prog builds a program at lab path rel.
func (l *lab) prog(rel string, args ...string) string {
	l.t.Helper()
	l.gcc(rel, "int main(void) { return 0; }\n", args...)
	return rel
}

// run runs the program at lab path rel with only env in its environment and
// returns the lab paths of the libraries it loaded, sorted.
func (l *lab) run(rel string, env ...string) ([]string, error) {
	cmd := exec.Command(l.path(rel))
	cmd.Env = append([]string{"PATH=/usr/bin:/bin"}, env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, errors.New(strings.TrimSpace(stderr.String()) + ": " + err.Error())
	}
	return slices.Sorted(slices.Values(strings.Fields(string(out)))), nil
}

// resolve inspects the program at lab path rel and resolves it against the
// host root, with $ORIGIN the program's directory.
func (l *lab) resolve(rel string, opts ...Option) (*Report, *Closure) {
	l.t.Helper()
	rep, err := InspectFile(l.path(rel))
	if err != nil {
		l.t.Fatal(err)
	}
	dir := filepath.Dir(l.path(rel))
	c, err := Resolve(DirRoot("/"), rep, append([]Option{WithOrigin(dir, dir)}, opts...)...)
	if err != nil {
		l.t.Fatal(err)
	}
	return rep, c
}

// labLib is a library of the closure that lives in the lab.
type labLib struct {
	Soname, Path, Via string // Path relative to the lab
}

// labLibs returns the closure's lab libraries, sorted by path, and the names
// it misses.
func (l *lab) labLibs(c *Closure) (libs []labLib, missing []string) {
	for _, lib := range c.Libraries {
		if rel, ok := strings.CutPrefix(lib.Path, l.dir+"/"); ok {
			libs = append(libs, labLib{lib.Soname, rel, lib.Via})
		}
	}
	slices.SortFunc(libs, func(a, b labLib) int { return strings.Compare(a.Path, b.Path) })
	for _, m := range c.Missing {
		missing = append(missing, m.Soname)
	}
	return libs, missing
}

// check resolves the program prog and compares the lab libraries found and
// the names missing with want and wantMissing, then checks that the real
// loader agrees: by running the program, and through ResolveWithLoader.
func (l *lab) check(prog string, want []labLib, wantMissing ...string) *Closure {
	l.t.Helper()
	rep, c := l.resolve(prog)
	got, missing := l.labLibs(c)
	if diff := cmp.Diff(want, got); diff != "" {
		l.t.Errorf("%s: lab libraries mismatch (-want +got):\n%s", prog, diff)
	}
	if diff := cmp.Diff(wantMissing, missing); diff != "" {
		l.t.Errorf("%s: missing mismatch (-want +got):\n%s", prog, diff)
	}
	seen := map[string]int{}
	for _, lib := range c.Libraries {
		if seen[lib.RealPath]++; seen[lib.RealPath] == 2 {
			l.t.Errorf("%s: %s is in the closure more than once", prog, lib.RealPath)
		}
	}
	loaded, err := l.run(prog)
	switch {
	case len(wantMissing) > 0 && err == nil:
		l.t.Errorf("%s runs and loads %q, but the resolver says %q are missing", prog, loaded, wantMissing)
	case len(wantMissing) > 0 && !strings.Contains(err.Error(), wantMissing[0]):
		l.t.Errorf("%s fails, but not for want of %s: %v", prog, wantMissing[0], err)
	case len(wantMissing) == 0 && err != nil:
		l.t.Errorf("%s does not run, but the resolver found everything: %v", prog, err)
	case len(wantMissing) == 0:
		var paths []string
		for _, w := range want {
			paths = append(paths, w.Path)
		}
		slices.Sort(paths)
		if diff := cmp.Diff(paths, loaded); diff != "" {
			l.t.Errorf("%s: the loader loaded other lab libraries than the resolver found (-resolver +loader):\n%s", prog, diff)
		}
	}
	if os.Getenv("LD_LIBRARY_PATH") == "" && !l.noOracle {
		if _, _, why := compareWithLoader(l.t, DirRoot("/"), l.path(prog), rep); why != "" {
			l.t.Errorf("%s: ResolveWithLoader disagrees: %s", prog, why)
		}
	}
	return c
}

func sonames(c *Closure) []string {
	var s []string
	for _, lib := range c.Libraries {
		s = append(s, lib.Soname)
	}
	return s
}

// setRunPath turns the DT_AUXILIARY entry of the library at lab path rel into
// DT_RUNPATH, so that the library has both DT_RPATH and DT_RUNPATH: GNU ld
// writes one or the other, never both, but writes DT_AUXILIARY (-Wl,-f)
// with a string of our choice.
func (l *lab) setRunPath(rel string) {
	l.t.Helper()
	f, err := elf.Open(l.path(rel))
	if err != nil {
		l.t.Fatal(err)
	}
	ds := f.SectionByType(elf.SHT_DYNAMIC)
	f.Close()
	if ds == nil || f.Class != elf.ELFCLASS64 || f.Data != elf.ELFDATA2LSB {
		l.t.Fatalf("%s: not an x86-64 library with a dynamic section", rel)
	}
	b, err := os.ReadFile(l.path(rel))
	if err != nil {
		l.t.Fatal(err)
	}
	patched := false
	for off := ds.Offset; off+16 <= ds.Offset+ds.Size; off += 16 {
		if elf.DynTag(binary.LittleEndian.Uint64(b[off:])) == elf.DT_AUXILIARY {
			binary.LittleEndian.PutUint64(b[off:], uint64(elf.DT_RUNPATH))
			patched = true
		}
	}
	if !patched {
		l.t.Skipf("SKIP: the toolchain wrote no DT_AUXILIARY to turn into DT_RUNPATH; cannot make a library with both DT_RPATH and DT_RUNPATH")
	}
	if err := os.WriteFile(l.path(rel), b, 0o755); err != nil {
		l.t.Fatal(err)
	}
}

// TestSearchOrderGlibc checks glibc's search order (elf/dl-load.c,
// _dl_map_object) case by case against the real loader.
func TestSearchOrderGlibc(t *testing.T) {
	t.Parallel()

	t.Run("program RPATH serves a library's needs", func(t *testing.T) {
		t.Parallel()
		l := newLab(t)
		l.lib("b/libB.so")
		l.lib("a/libA.so", l.needs("b/libB.so")...) // no search path of its own
		l.prog("p", append(l.needs("a/libA.so"), l.rpath("a", "b"))...)
		l.check("p", []labLib{{"libA.so", "a/libA.so", "rpath"}, {"libB.so", "b/libB.so", "rpath"}})
	})

	t.Run("program RUNPATH serves direct needs only", func(t *testing.T) {
		t.Parallel()
		l := newLab(t)
		l.lib("d/libB.so")
		l.lib("d/libA.so", l.needs("d/libB.so")...)
		l.prog("p", append(l.needs("d/libA.so"), l.runpath("d"))...)
		c := l.check("p", []labLib{{"libA.so", "d/libA.so", "runpath"}}, "libB.so")
		if len(c.Missing) == 1 && !slices.Equal(c.Missing[0].NeededBy, []string{l.path("d/libA.so")}) {
			t.Errorf("libB.so NeededBy = %q, want libA.so", c.Missing[0].NeededBy)
		}
		// The same program with DT_RPATH finds both.
		l.prog("q", append(l.needs("d/libA.so"), l.rpath("d"))...)
		l.check("q", []labLib{{"libA.so", "d/libA.so", "rpath"}, {"libB.so", "d/libB.so", "rpath"}})
	})

	t.Run("library RUNPATH hides its own RPATH", func(t *testing.T) {
		t.Parallel()
		l := newLab(t)
		l.lib("b/libB.so")
		if err := os.MkdirAll(l.path("empty"), 0o755); err != nil {
			t.Fatal(err)
		}
		// Control: DT_RPATH alone serves the library's needs.
		l.lib("a/libA.so", append(l.needs("b/libB.so"), l.rpath("b"))...)
		l.prog("p", append(l.needs("a/libA.so"), l.runpath("a"))...)
		l.check("p", []labLib{{"libA.so", "a/libA.so", "runpath"}, {"libB.so", "b/libB.so", "rpath"}})
		// Both tags: DT_RPATH b, DT_RUNPATH empty. glibc ignores DT_RPATH.
		l.lib("both/libA.so", append(l.needs("b/libB.so"), l.rpath("b"), "-Wl,-f,"+l.path("empty"))...)
		l.setRunPath("both/libA.so")
		rep, err := InspectFile(l.path("both/libA.so"))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(rep.RPath, []string{l.path("b")}) || !slices.Equal(rep.RunPath, []string{l.path("empty")}) {
			t.Fatalf("patched library has RPATH %q, RUNPATH %q; want both", rep.RPath, rep.RunPath)
		}
		l.prog("q", append(l.needs("both/libA.so"), l.runpath("both"))...)
		l.check("q", []labLib{{"libA.so", "both/libA.so", "runpath"}}, "libB.so")
	})

	t.Run("library RUNPATH hides the program's RPATH", func(t *testing.T) {
		t.Parallel()
		l := newLab(t)
		l.lib("b/libB.so")
		l.lib("a/libA.so", append(l.needs("b/libB.so"), l.runpath("empty"))...)
		l.prog("p", append(l.needs("a/libA.so"), l.rpath("a", "b"))...)
		l.check("p", []labLib{{"libA.so", "a/libA.so", "rpath"}}, "libB.so")
	})

	t.Run("RPATH of a loader with RUNPATH is skipped up the chain", func(t *testing.T) {
		t.Parallel()
		l := newLab(t)
		// p (RPATH a) -> A (RPATH z, RUNPATH y) -> B (none) -> C, only in z.
		l.lib("z/libC.so")
		l.lib("y/libB.so", l.needs("z/libC.so")...)
		l.lib("a/libA.so", append(l.needs("y/libB.so"), l.rpath("z"), "-Wl,-f,"+l.path("y"))...)
		l.setRunPath("a/libA.so")
		l.prog("p", append(l.needs("a/libA.so"), l.rpath("a"))...)
		l.check("p", []labLib{{"libA.so", "a/libA.so", "rpath"}, {"libB.so", "y/libB.so", "runpath"}}, "libC.so")
		// With z in the program's RPATH instead, C is found through it.
		l.prog("q", append(l.needs("a/libA.so"), l.rpath("a", "z"))...)
		l.check("q", []labLib{{"libA.so", "a/libA.so", "rpath"}, {"libB.so", "y/libB.so", "runpath"}, {"libC.so", "z/libC.so", "rpath"}})
	})

	t.Run("wrong-architecture library is skipped", func(t *testing.T) {
		t.Parallel()
		l := newLab(t)
		l.lib("good/libB.so")
		l.foreignLib("bad/libB.so")
		l.prog("p", append(l.needs("good/libB.so"), l.rpath("bad", "good"))...)
		l.check("p", []labLib{{"libB.so", "good/libB.so", "rpath"}})
		l.prog("q", append(l.needs("good/libB.so"), l.runpath("bad", "good"))...)
		l.check("q", []labLib{{"libB.so", "good/libB.so", "runpath"}})
	})

	t.Run("library cycle", func(t *testing.T) {
		t.Parallel()
		l := newLab(t)
		l.lib("d/libB.so")
		l.lib("d/libA.so", l.needs("d/libB.so")...)
		l.lib("d/libB.so", l.needs("d/libA.so")...) // now A needs B and B needs A
		l.prog("p", append(l.needs("d/libA.so"), l.rpath("d"))...)
		c := l.check("p", []labLib{{"libA.so", "d/libA.so", "rpath"}, {"libB.so", "d/libB.so", "rpath"}})
		for _, lib := range c.Libraries {
			if lib.Soname == "libA.so" && !slices.Contains(lib.NeededBy, l.path("d/libB.so")) {
				t.Errorf("libA.so NeededBy = %q, want libB.so among them", lib.NeededBy)
			}
		}
	})

	t.Run("symlink loop", func(t *testing.T) {
		t.Parallel()
		l := newLab(t)
		l.lib("b/libB.so")
		if err := os.MkdirAll(l.path("loop"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("libB.so", l.path("loop/libB.so")); err != nil {
			t.Fatal(err)
		}
		l.prog("p", append(l.needs("b/libB.so"), l.rpath("loop"))...)
		c := l.check("p", nil, "libB.so")
		if len(c.Missing) == 1 && !slices.Contains(c.Missing[0].Searched, l.path("loop")) {
			t.Errorf("Searched = %q, want the loop directory among them", c.Missing[0].Searched)
		}
	})

	t.Run("DF_1_NODEFLIB skips the cache and default directories", func(t *testing.T) {
		t.Parallel()
		l := newLab(t)
		l.prog("p", "-Wl,-z,nodefaultlib")
		l.check("p", nil, "libc.so.6")
	})

	t.Run("DT_NEEDED with a slash", func(t *testing.T) {
		t.Parallel()
		l := newLab(t)
		l.noOracle = true
		// Without a soname, ld records the path the library was linked by.
		l.gcc("x/libX.so", libSource, "-shared", "-fPIC", `-DWHERE="x/libX.so"`)
		l.prog("p", "-Wl,--no-as-needed", l.path("x/libX.so"))
		rep, err := InspectFile(l.path("p"))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(rep.Needed, l.path("x/libX.so")) {
			t.Fatalf("Needed = %q, want the library's path", rep.Needed)
		}
		l.check("p", []labLib{{l.path("x/libX.so"), "x/libX.so", "path"}})
		if err := os.Remove(l.path("x/libX.so")); err != nil {
			t.Fatal(err)
		}
		l.check("p", nil, l.path("x/libX.so"))
	})
}

// foreignLib puts a shared library of another architecture at lab path rel:
// built with the aarch64 cross compiler, or else copied from its sysroot.
func (l *lab) foreignLib(rel string) {
	l.t.Helper()
	if _, err := exec.LookPath("aarch64-linux-gnu-gcc"); err == nil {
		if err := os.MkdirAll(filepath.Dir(l.path(rel)), 0o755); err != nil {
			l.t.Fatal(err)
		}
		src := l.path(rel) + ".c"
		if err := os.WriteFile(src, []byte(libSource), 0o644); err != nil {
			l.t.Fatal(err)
		}
		cmd := exec.Command("aarch64-linux-gnu-gcc", "-shared", "-fPIC", `-DWHERE="`+rel+`"`, "-Wl,-soname,"+filepath.Base(rel), "-o", l.path(rel), src)
		if b, err := cmd.CombinedOutput(); err != nil {
			l.t.Fatalf("%s: %v\n%s", cmd, err, b)
		}
		return
	}
	b, err := os.ReadFile("/usr/aarch64-linux-gnu/lib/libm.so.6")
	if err != nil {
		l.t.Skipf("SKIP: no aarch64 cross compiler and no aarch64 sysroot for a wrong-architecture library: %v", err)
	}
	if err := os.MkdirAll(filepath.Dir(l.path(rel)), 0o755); err != nil {
		l.t.Fatal(err)
	}
	if err := os.WriteFile(l.path(rel), b, 0o755); err != nil {
		l.t.Fatal(err)
	}
}

// TestSearchOrderUnloadable checks files that are found but cannot be
// loaded: glibc's open_verify fails on them and the search stops there
// (unlike a library of another architecture, which is skipped).
func TestSearchOrderUnloadable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		make func(l *lab, p string) error
	}{
		{"text file", func(l *lab, p string) error { return os.WriteFile(p, []byte("not a library\n"), 0o644) }},
		{"script", func(l *lab, p string) error { return os.WriteFile(p, []byte("#!/bin/sh\nexit 0\n"), 0o755) }},
		{"truncated library", func(l *lab, p string) error {
			b, err := os.ReadFile(l.path("good/libB.so"))
			if err != nil {
				return err
			}
			return os.WriteFile(p, b[:100], 0o644)
		}},
		{"directory", func(l *lab, p string) error { return os.Mkdir(p, 0o755) }},
		{"symlink loop", func(l *lab, p string) error { return os.Symlink(filepath.Base(p), p) }},
		{"executable", func(l *lab, p string) error {
			l.gcc("bad/exe", "int main(void) { return 0; }\n", "-no-pie")
			return os.Rename(l.path("bad/exe"), p)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := newLab(t)
			l.lib("good/libB.so")
			if err := os.MkdirAll(l.path("bad"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := tc.make(l, l.path("bad/libB.so")); err != nil {
				t.Fatal(err)
			}
			l.prog("p", append(l.needs("good/libB.so"), l.rpath("bad", "good"))...)
			c := l.check("p", nil, "libB.so")
			if !slices.ContainsFunc(c.Warnings, func(w string) bool { return strings.Contains(w, l.path("bad/libB.so")) }) {
				t.Errorf("Warnings = %q, want one naming %s", c.Warnings, l.path("bad/libB.so"))
			}
		})
	}
}

// TestLibraryPathOrder checks that WithLibraryPath is searched as
// LD_LIBRARY_PATH: after DT_RPATH, before DT_RUNPATH.
func TestLibraryPathOrder(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	for _, d := range []string{"r", "u", "llp"} {
		l.lib(d + "/libB.so")
	}
	l.prog("with-rpath", append(l.needs("r/libB.so"), l.rpath("r"))...)
	l.prog("with-runpath", append(l.needs("u/libB.so"), l.runpath("u"))...)
	tests := []struct {
		name, prog string
		llp        []string // lab directories
		want       labLib
	}{
		{"RPATH before LD_LIBRARY_PATH", "with-rpath", []string{"llp"}, labLib{"libB.so", "r/libB.so", "rpath"}},
		{"LD_LIBRARY_PATH before RUNPATH", "with-runpath", []string{"llp"}, labLib{"libB.so", "llp/libB.so", "ld_library_path"}},
		{"LD_LIBRARY_PATH in order", "with-runpath", []string{"empty", "u", "llp"}, labLib{"libB.so", "u/libB.so", "ld_library_path"}},
		{"no LD_LIBRARY_PATH", "with-runpath", nil, labLib{"libB.so", "u/libB.so", "runpath"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var dirs []string
			for _, d := range tc.llp {
				dirs = append(dirs, l.path(d))
			}
			_, c := l.resolve(tc.prog, WithLibraryPath(dirs...))
			got, missing := l.labLibs(c)
			if diff := cmp.Diff([]labLib{tc.want}, got); diff != "" || len(missing) > 0 {
				t.Errorf("resolver (-want +got):\n%s\nmissing %q", diff, missing)
			}
			var env []string
			if len(dirs) > 0 {
				env = append(env, "LD_LIBRARY_PATH="+strings.Join(dirs, ":"))
			}
			loaded, err := l.run(tc.prog, env...)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{tc.want.Path}, loaded); diff != "" {
				t.Errorf("the loader chose otherwise (-resolver +loader):\n%s", diff)
			}
		})
	}
}

// TestResolveRootEscape resolves a program in a root directory whose
// library links point outside it, by absolute path and by "..": they must
// be followed inside the root, as in a chroot, never to the host's files.
func TestResolveRootEscape(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	l.lib("host/libB.so")
	host := l.path("host/libB.so") // exists on the host, not in the root
	root := l.path("root")
	l.prog("root/app/p", append(l.needs("host/libB.so"), "-Wl,--disable-new-dtags,-rpath,/opt/lib")...)
	if err := os.MkdirAll(filepath.Join(root, "opt/lib"), 0o755); err != nil {
		t.Fatal(err)
	}
	rep, err := InspectFile(l.path("root/app/p"))
	if err != nil {
		t.Fatal(err)
	}
	dotdot := strings.Repeat("../", 20) + strings.TrimPrefix(host, "/")
	for _, target := range []string{host, dotdot} {
		link := filepath.Join(root, "opt/lib/libB.so")
		os.Remove(link)
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
		c, err := Resolve(DirRoot(root), rep)
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Libraries) != 0 || !slices.Contains(missingNames(c), "libB.so") {
			t.Errorf("link to %s: Libraries %+v, Missing %q; want libB.so missing in the root", target, c.Libraries, missingNames(c))
		}
		// Inside the root, the target path holds the library.
		inRoot := filepath.Join(root, host)
		if err := os.MkdirAll(filepath.Dir(inRoot), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Link(host, inRoot); err != nil {
			t.Fatal(err)
		}
		c, err = Resolve(DirRoot(root), rep)
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Libraries) != 1 || c.Libraries[0].RealPath != host || c.Libraries[0].Path != "/opt/lib/libB.so" {
			t.Errorf("link to %s: Libraries %+v, want /opt/lib/libB.so -> %s in the root", target, c.Libraries, host)
		}
		os.Remove(inRoot)
	}
}

func missingNames(c *Closure) []string {
	var s []string
	for _, m := range c.Missing {
		s = append(s, m.Soname)
	}
	return s
}
