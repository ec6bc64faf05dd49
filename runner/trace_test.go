package runner

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/scratchpack/scratchpack/packer"
)

// TestParseStrace reads the log format of strace -f -qq -y: decorated
// descriptors, relative paths, split calls, failures and escapes; and the
// calls that resolve a path without opening it (stat, access, readlink),
// and directories listed (getdents64 on a decorated descriptor).
func TestParseStrace(t *testing.T) {
	log := `10333 execve("/usr/bin/sh", ["sh", "-c", "cat /etc/hostname"], 0x7fff583dc028 /* 39 vars */) = 0
10333 openat(AT_FDCWD</tmp/i4>, "/etc/ld.so.cache", O_RDONLY|O_CLOEXEC) = 3</etc/ld.so.cache>
10333 openat(AT_FDCWD</tmp/i4>, "/lib/x86_64-linux-gnu/libc.so.6", O_RDONLY|O_CLOEXEC) = 3</usr/lib/x86_64-linux-gnu/libc.so.6>
10336 openat(AT_FDCWD</tmp/i4>, "/usr/lib/locale/locale-archive", O_RDONLY|O_CLOEXEC) = -1 ENOENT (No such file or directory)
10336 openat(AT_FDCWD</tmp/i4>, "data/x.txt", O_RDONLY) = 4</tmp/i4/data/x.txt>
10336 openat(3</usr/lib>, "libfoo.so", O_RDONLY <unfinished ...>
10337 open("/etc/hosts", O_RDONLY) = 5</etc/hosts>
10336 <... openat resumed>) = 6</usr/lib/libfoo.so.1>
10338 open("rel", O_RDONLY) = 7</home/rel>
10339 openat(AT_FDCWD</>, "/tmp/a\"b\\c\303\251", O_RDONLY) = 3</tmp/x>
10340 execve("./nope", ["./nope"], 0x0 /* 0 vars */) = -1 ENOENT (No such file or directory)
10341 newfstatat(AT_FDCWD</tmp/i4>, "/usr/lib/python3.11/os.py", {st_mode=S_IFREG|0644, st_size=39504, ...}, 0) = 0
10341 newfstatat(3</usr/lib/python3.11>, "", {st_mode=S_IFDIR|0755, st_size=12288, ...}, AT_EMPTY_PATH) = 0
10341 newfstatat(3</usr/lib/python3.11>, "json", {st_mode=S_IFDIR|0755, st_size=4096, ...}, 0) = 0
10341 stat("/var/lib/dpkg/status", {st_mode=S_IFREG|0644, st_size=1, ...}) = 0
10341 lstat("/usr/bin/python3", {st_mode=S_IFLNK|0777, st_size=10, ...}) = 0
10341 statx(AT_FDCWD</tmp/i4>, "/usr/lib/ssl", AT_STATX_SYNC_AS_STAT, STATX_ALL, {stx_mask=STATX_ALL, ...}) = 0
10341 access("/usr/libexec/gcc/x86_64-linux-gnu/12/liblto_plugin.so", R_OK) = 0
10341 faccessat2(AT_FDCWD</tmp/i4>, "/usr/bin/iconv", X_OK, AT_EACCESS) = 0
10341 access("/nonexistent", F_OK) = -1 ENOENT (No such file or directory)
10341 readlink("/etc/localtime", "/usr/share/zoneinfo/Etc/UTC", 4095) = 27
10341 readlinkat(AT_FDCWD</tmp/i4>, "/proc/self/exe", "/usr/bin/python3.11", 4096) = 19
10341 getdents64(4</etc/apt/apt.conf.d>, 0x55d0c0 /* 5 entries */, 32768) = 160
10341 getdents64(4</etc/apt/apt.conf.d>, 0x55d0c0 /* 0 entries */, 32768) = 0
10341 mkdir("/tmp/new", 0755) = 0
10342 execveat(3</usr/bin>, "env", ["env"], 0x0 /* 0 vars */, 0) = 0
+++ exited with 0 +++
`
	got, err := parseStrace(strings.NewReader(log))
	if err != nil {
		t.Fatal(err)
	}
	want := []straceEvent{
		{path: "/usr/bin/sh", real: "/usr/bin/sh", kind: traceExec},
		{path: "/etc/ld.so.cache", real: "/etc/ld.so.cache", kind: traceOpen},
		{path: "/lib/x86_64-linux-gnu/libc.so.6", real: "/usr/lib/x86_64-linux-gnu/libc.so.6", kind: traceOpen},
		{path: "/tmp/i4/data/x.txt", real: "/tmp/i4/data/x.txt", kind: traceOpen},
		{path: "/etc/hosts", real: "/etc/hosts", kind: traceOpen},
		{path: "/usr/lib/libfoo.so", real: "/usr/lib/libfoo.so.1", kind: traceOpen},
		{path: "/home/rel", real: "/home/rel", kind: traceOpen},
		{path: "/tmp/a\"b\\cé", real: "/tmp/x", kind: traceOpen},
		{path: "/usr/lib/python3.11/os.py", real: "/usr/lib/python3.11/os.py", kind: traceStat},
		{path: "/usr/lib/python3.11/json", real: "/usr/lib/python3.11/json", kind: traceStat},
		{path: "/var/lib/dpkg/status", real: "/var/lib/dpkg/status", kind: traceStat},
		{path: "/usr/bin/python3", real: "/usr/bin/python3", kind: traceStat},
		{path: "/usr/lib/ssl", real: "/usr/lib/ssl", kind: traceStat},
		{path: "/usr/libexec/gcc/x86_64-linux-gnu/12/liblto_plugin.so", real: "/usr/libexec/gcc/x86_64-linux-gnu/12/liblto_plugin.so", kind: traceStat},
		{path: "/usr/bin/iconv", real: "/usr/bin/iconv", kind: traceStat},
		{path: "/etc/localtime", real: "/etc/localtime", kind: traceStat},
		{path: "/proc/self/exe", real: "/proc/self/exe", kind: traceStat},
		{path: "/etc/apt/apt.conf.d", real: "/etc/apt/apt.conf.d", kind: traceList},
		{path: "/etc/apt/apt.conf.d", real: "/etc/apt/apt.conf.d", kind: traceList},
		{path: "/tmp/new", real: "/tmp/new", kind: traceMkdir},
		{path: "/usr/bin/env", real: "/usr/bin/env", kind: traceExec},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(straceEvent{}), cmpopts.IgnoreFields(straceEvent{}, "pid")); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if len(got) == len(want) && (got[0].pid != "10333" || got[len(got)-1].pid != "10342") {
		t.Errorf("pids %q and %q, want the calls' 10333 and 10342", got[0].pid, got[len(got)-1].pid)
	}
}

func TestTraceSkips(t *testing.T) {
	for p, want := range map[string]bool{
		"/proc/self/maps": true, "/dev/null": true, "/tmp/x": true, "/etc/ld.so.cache": true, "/etc/passwd": true, "/etc/localtime": true, "/etc/machine-id": true,
		"/work/trace-1/cwd/f": true, "/usr/lib/x.so": false, "/etc/ssl/openssl.cnf": false, "/procfs": false,
		"/home/u": true, "/home/u/.gnupg": true, "/home/u/.gnupg/pubring.kbx": true, "/home/u/project/data": false,
		"/var/cache/sp/blobs/x": true, "/out/layout/index.json": true, "/out/layoutx": false,
	} {
		ts := &TraceSpec{Home: "/home/u", Skip: []string{"/var/cache/sp", "/out/layout"}}
		if got := skipTraced(straceEvent{path: p, real: p}, "/work/trace-1", ts) != ""; got != want {
			t.Errorf("skipTraced(%s) = %v, want %v", p, got, want)
		}
	}
}

// TestTraceClassify sorts what a run touched in a made-up tree: files
// only stat'ed are kept and named, directories listed or stat'ed go in as
// directories, and aliases of the program itself, the work directory and
// paths that are gone are left out.
func TestTraceClassify(t *testing.T) {
	// Not under /tmp, which a trace leaves out.
	dir, err := os.MkdirTemp(".", "trace-classify-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if dir, err = filepath.Abs(dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"bin/prog", "lib/py/os.py", "lib/py/json/__init__.py", "etc/app.d/a.conf"} {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("prog", filepath.Join(dir, "bin/alias")); err != nil {
		t.Fatal(err)
	}
	j := func(p string) string { return filepath.Join(dir, p) }
	events := []straceEvent{
		{path: j("lib/py/os.py"), kind: traceStat},
		{path: j("lib/py/json"), kind: traceStat},
		{path: j("lib/py/json/__init__.py"), kind: traceStat},
		{path: j("lib/py/json/__init__.py"), kind: traceOpen},
		{path: j("etc/app.d"), kind: traceList},
		{path: j("etc/app.d/a.conf"), kind: traceOpen},
		{path: j("bin/alias"), kind: traceStat},
		{path: j("gone"), kind: traceStat},
		{path: "/work/trace-1/cwd/out", kind: traceOpen},
	}
	for i := range events {
		events[i].real = events[i].path
	}
	tr := &packer.Trace{}
	classify(tr, events, j("bin/prog"), "/work/trace-1", &TraceSpec{})
	want := &packer.Trace{
		Files:       []string{j("etc/app.d/a.conf"), j("lib/py/json/__init__.py"), j("lib/py/os.py")},
		Directories: []string{j("etc/app.d"), j("lib/py/json")},
		StatOnly:    []string{j("lib/py/json"), j("lib/py/os.py")},
		Skipped:     []string{"/work/trace-1/cwd/out"},
		LeftOut:     map[string]string{"/work/trace-1/cwd/out": "the trace's own working directory"},
	}
	if diff := cmp.Diff(want, tr, cmp.FilterPath(func(p cmp.Path) bool {
		return p.Last().String() == ".Libraries" || p.Last().String() == ".Programs"
	}, cmp.Ignore())); diff != "" {
		t.Errorf("classified (-want +got):\n%s", diff)
	}
}
