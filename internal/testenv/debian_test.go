package testenv

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// debianCase is what each of the two roots must hold.
type debianCase struct {
	name    string
	spec    DebianSpec
	machine elf.Machine
	interp  string   // redis-server's PT_INTERP
	libDirs []string // where its DT_NEEDED libraries are, inside the root
	present []string // paths (resolved inside the root) that must exist
	absent  []string // paths that must not
	owned   []owned  // entries whose owners and modes dpkg (or a maintainer script) set
}

// owned is an entry's expected owner and mode bits (type bits excluded).
type owned struct {
	name     string
	uid, gid int
	mode     int64
}

var debianCases = []debianCase{{
	name:    "amd64-servers",
	spec:    DebianServers,
	machine: elf.EM_X86_64,
	interp:  "/lib64/ld-linux-x86-64.so.2",
	libDirs: []string{"usr/lib/x86_64-linux-gnu"},
	present: []string{
		"etc/nginx/nginx.conf", "usr/sbin/nginx",
		"usr/bin/python3", "usr/lib/python3.11/json/__init__.py",
		"usr/lib/python3.11/lib-dynload/_ssl.cpython-311-x86_64-linux-gnu.so",
		"usr/bin/curl", "etc/redis/redis.conf", "usr/bin/apt",
	},
	absent: []string{"dev/null", "dev/console", "etc/resolv.conf", "etc/hostname"},
	// /etc/shadow is made by passwd's maintainer script, root:shadow (42).
	owned: []owned{{"etc/shadow", 0, 42, 0o640}, {"usr/bin/passwd", 0, 0, 0o4755}},
}, {
	name:    "arm64-redis",
	spec:    DebianArm64Redis,
	machine: elf.EM_AARCH64,
	interp:  "/lib/ld-linux-aarch64.so.1",
	libDirs: []string{"usr/lib/aarch64-linux-gnu"},
	present: []string{"etc/redis/redis.conf", "usr/lib/aarch64-linux-gnu/libc.so.6"},
	// usr-is-merged, not usrmerge, met init-system-helpers' dependency;
	// extract unpacks only what the packages need: no apt.
	absent: []string{"usr/bin/perl", "usr/bin/apt", "dev/null"},
	// As the .deb files have them (no maintainer script ran).
	owned: []owned{{"usr/bin/chage", 0, 42, 0o2755}, {"usr/bin/passwd", 0, 0, 0o4755}},
}}

// TestDebianRoot: each root is a merged-/usr Debian 12 tree that holds
// redis-server, of its architecture, with its loader and every library of
// its closure, and the other programs the tests need; owners and modes are
// dpkg's; what no image holds is gone. Checked on the tar itself, as
// images and --sysroot will see it.
func TestDebianRoot(t *testing.T) {
	for _, tc := range debianCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tarPath := DebianRoot(t, tc.spec)
			tree := readTarTree(t, tarPath)

			for _, l := range []string{"bin", "sbin", "lib"} {
				if h := tree[l]; h == nil || h.Typeflag != tar.TypeSymlink || h.Linkname != "usr/"+l {
					t.Errorf("/%s is %+v, want a link to usr/%s (merged /usr)", l, h, l)
				}
			}
			for _, p := range tc.present {
				if _, err := tree.resolve(p); err != nil {
					t.Errorf("%s: %v", p, err)
				}
			}
			for _, p := range tc.absent {
				if _, err := tree.resolve(p); err == nil {
					t.Errorf("%s is in the root; it must not be", p)
				}
			}
			if h := tree["dev"]; h == nil || h.Typeflag != tar.TypeDir {
				t.Errorf("/dev is %+v, want an (empty) directory", h)
			}
			for _, o := range tc.owned {
				if h := tree[o.name]; h == nil || h.Uid != o.uid || h.Gid != o.gid || h.Mode&0o7777 != o.mode {
					t.Errorf("/%s is %+v, want %d:%d mode %#o", o.name, h, o.uid, o.gid, o.mode)
				}
			}

			prog, err := tree.resolve("usr/bin/redis-server")
			if err != nil {
				t.Fatalf("redis-server: %v", err)
			}
			closure := tree.closure(t, tarPath, prog, tc.libDirs)
			f := closure[prog]
			if f.Machine != tc.machine {
				t.Errorf("%s is for %v, want %v", prog, f.Machine, tc.machine)
			}
			if interp := elfInterp(t, f); interp != tc.interp {
				t.Errorf("%s's interpreter is %q, want %q", prog, interp, tc.interp)
			} else if _, err := tree.resolve(interp); err != nil {
				t.Errorf("%s's interpreter %s: %v", prog, interp, err)
			}
			var names []string
			for n := range closure {
				names = append(names, path.Base(n))
			}
			for _, lib := range []string{"libc.so.6", "libssl.so.3", "libjemalloc.so.2", "liblzf.so.1", "libsystemd.so.0"} {
				if !strings.Contains(strings.Join(names, " "), lib) {
					t.Errorf("redis-server's closure %v lacks %s", names, lib)
				}
			}
			fi, _ := os.Stat(tarPath)
			t.Logf("%s: %d MB, %d entries, redis-server's closure: %d files", tarPath, fi.Size()>>20, len(tree), len(closure))
		})
	}
}

// TestDebianRootCached: once a root is built, DebianRoot returns the same
// file without running mmdebstrap, in well under a second.
func TestDebianRootCached(t *testing.T) {
	for _, tc := range debianCases {
		t.Run(tc.name, func(t *testing.T) {
			first := DebianRoot(t, tc.spec)
			before, err := os.Stat(first)
			if err != nil {
				t.Fatal(err)
			}
			r, err := resolveDebian(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			runs := mmdebstrapRunsOf(r.name)
			start := time.Now()
			again := DebianRoot(t, tc.spec)
			took := time.Since(start)
			if n := mmdebstrapRunsOf(r.name); n != runs {
				t.Errorf("the second DebianRoot ran mmdebstrap (%d runs, then %d)", runs, n)
			}
			after, err := os.Stat(again)
			if err != nil {
				t.Fatal(err)
			}
			if again != first || !os.SameFile(before, after) || !after.ModTime().Equal(before.ModTime()) {
				t.Errorf("the second DebianRoot returned %s (%v), not the cached %s (%v)", again, after.ModTime(), first, before.ModTime())
			}
			if took > time.Second {
				t.Errorf("a cached DebianRoot took %v", took)
			}
			t.Logf("cached DebianRoot: %v", took)
		})
	}
}

// TestDebianSpecKey: the cache key covers what makes a root different and
// nothing else.
func TestDebianSpecKey(t *testing.T) {
	name := func(s DebianSpec) string {
		t.Helper()
		r, err := resolveDebian(s)
		if err != nil {
			t.Fatal(err)
		}
		return r.name
	}
	base := DebianSpec{Arch: "amd64", Variant: "apt", Packages: []string{"curl", "python3"}}
	if a, b := name(base), name(DebianSpec{Arch: "amd64", Variant: "apt", Packages: []string{"python3", "curl", "curl"}}); a != b {
		t.Errorf("package order or repeats changed the key: %s, %s", a, b)
	}
	for _, other := range []DebianSpec{
		{Arch: "arm64", Variant: "apt", Packages: base.Packages},
		{Arch: "amd64", Variant: "extract", Packages: base.Packages},
		{Arch: "amd64", Variant: "apt", Packages: []string{"curl"}},
	} {
		if name(other) == name(base) {
			t.Errorf("%+v and %+v share the key %s", other, base, name(base))
		}
	}
	for _, bad := range []DebianSpec{
		{Arch: "x86_64", Variant: "apt"},
		{Arch: "amd64", Variant: "slim"},
		{Arch: "amd64", Variant: "apt", Packages: []string{"curl,python3"}},
	} {
		if _, err := resolveDebian(bad); err == nil {
			t.Errorf("resolveDebian(%+v) accepted it", bad)
		}
	}
	if !namesBookworm("Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\n") ||
		namesBookworm("Types: deb\nURIs: https://deb.nodesource.com/node_20.x\nSuites: nodistro\n") {
		t.Error("namesBookworm picks the wrong sources files")
	}
}

// TestDebianRootRuns: the amd64 root is a working system (its programs run
// chrooted into an unpacked copy), and the arm64 redis-server runs under
// qemu-user with its own loader and libraries.
func TestDebianRootRuns(t *testing.T) {
	t.Run("amd64-servers", func(t *testing.T) {
		t.Parallel()
		root := DebianRootDir(t, DebianServers)
		chroot := tool(t, "chroot", "coreutils")
		for _, c := range []struct {
			args []string
			want string
		}{
			{[]string{"/usr/bin/redis-server", "--version"}, "Redis server v=7."},
			{[]string{"/usr/bin/python3", "-c", "import json, ssl, sqlite3; print(ssl.OPENSSL_VERSION)"}, "OpenSSL 3."},
			{[]string{"/usr/sbin/nginx", "-v"}, "nginx version: nginx/1."},
			{[]string{"/usr/bin/curl", "--version"}, "curl 7."},
		} {
			out := runIn(t, chroot, append([]string{root}, c.args...)...)
			if !strings.Contains(out, c.want) {
				t.Errorf("chroot %s %q: %q, want it to contain %q", root, c.args, out, c.want)
			}
		}
		// tar kept dpkg's owners and modes.
		var st syscall.Stat_t
		if err := syscall.Stat(filepath.Join(root, "etc/shadow"), &st); err != nil || st.Uid != 0 || st.Gid != 42 || st.Mode&0o7777 != 0o640 {
			t.Errorf("unpacked /etc/shadow: %+v, %v; want 0:42 0640", st, err)
		}
	})
	t.Run("arm64-redis", func(t *testing.T) {
		t.Parallel()
		qemu := HostProgram(t, "/usr/bin/qemu-aarch64-static", "qemu-user-static")
		root := DebianRootDir(t, DebianArm64Redis)
		out := runIn(t, qemu, "-L", root, filepath.Join(root, "usr/bin/redis-server"), "--version")
		if !strings.Contains(out, "Redis server v=7.") {
			t.Errorf("qemu-aarch64-static redis-server --version: %q", out)
		}
	})
}

// runIn runs a program with a small fixed environment and returns its
// combined output, failing the test if it fails or takes a minute.
func runIn(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = []string{DebianPath, "HOME=/root", "LANG=C"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %q: %v: %s", bin, args, err, out)
	}
	return string(out)
}

// rootTarIndex indexes a root tar's headers by clean relative name ("usr/bin").
type rootTarIndex map[string]*tar.Header

func readTarTree(t *testing.T, p string) rootTarIndex {
	t.Helper()
	tree := rootTarIndex{}
	eachTarEntry(t, p, func(name string, h *tar.Header, _ io.Reader) { tree[name] = h })
	return tree
}

// eachTarEntry calls fn for each entry of the tar at p with its clean name.
func eachTarEntry(t *testing.T, p string, fn func(name string, h *tar.Header, r io.Reader)) {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatalf("reading %s: %v", p, err)
		}
		name := strings.Trim(path.Clean("/"+h.Name), "/")
		if name != "" {
			fn(name, h, tr)
		}
	}
}

// resolve follows symbolic links in every component of p inside the root,
// as the kernel would after chroot, and returns the final entry's name
// (hard links are returned as they are: their Linkname is the data).
func (tree rootTarIndex) resolve(p string) (string, error) {
	parts := splitPath(p)
	cur := ""
	for hops := 0; len(parts) > 0; {
		next := path.Join(cur, parts[0])
		parts = parts[1:]
		h, ok := tree[next]
		if !ok {
			return "", errors.New("not in the root: /" + next)
		}
		if h.Typeflag != tar.TypeSymlink {
			cur = next
			continue
		}
		if hops++; hops > maxSymlinks {
			return "", errors.New("too many links at /" + next)
		}
		target := h.Linkname
		if !path.IsAbs(target) {
			target = path.Join("/", cur, target)
		}
		parts = append(splitPath(target), parts...)
		cur = ""
	}
	return cur, nil
}

func splitPath(p string) []string {
	p = strings.Trim(path.Clean("/"+p), "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// closure returns the ELF files of prog's library closure (prog included)
// by resolved name: each DT_NEEDED name is looked up in libDirs, and the
// test fails for every one that is missing.
func (tree rootTarIndex) closure(t *testing.T, tarPath, prog string, libDirs []string) map[string]*elf.File {
	t.Helper()
	files := map[string]*elf.File{}
	want := map[string]bool{prog: true}
	for len(want) > 0 {
		data := map[string][]byte{}
		eachTarEntry(t, tarPath, func(name string, h *tar.Header, r io.Reader) {
			if !want[name] {
				return
			}
			if h.Typeflag != tar.TypeReg {
				t.Errorf("/%s is not a regular file (%c)", name, h.Typeflag)
				return
			}
			b, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			data[name] = b
		})
		want = map[string]bool{}
		for name, b := range data {
			f, err := elf.NewFile(bytes.NewReader(b))
			if err != nil {
				t.Errorf("/%s: %v", name, err)
				continue
			}
			files[name] = f
			libs, err := f.ImportedLibraries()
			if err != nil {
				t.Errorf("/%s: %v", name, err)
			}
			for _, lib := range libs {
				found := ""
				for _, dir := range libDirs {
					if p, err := tree.resolve(path.Join(dir, lib)); err == nil {
						found = p
						break
					}
				}
				switch {
				case found == "":
					t.Errorf("/%s needs %s, which is not in %v", name, lib, libDirs)
				case files[found] == nil && data[found] == nil:
					want[found] = true
				}
			}
		}
	}
	return files
}

func elfInterp(t *testing.T, f *elf.File) string {
	t.Helper()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b, err := io.ReadAll(p.Open())
			if err != nil {
				t.Fatal(err)
			}
			return strings.TrimRight(string(b), "\x00")
		}
	}
	return ""
}
