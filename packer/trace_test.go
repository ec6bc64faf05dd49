package packer

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestParseStrace reads the log format of strace -f -qq -y: decorated
// descriptors, relative paths, split calls, failures and escapes.
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
+++ exited with 0 +++
`
	got, err := parseStrace(strings.NewReader(log))
	if err != nil {
		t.Fatal(err)
	}
	want := []straceEvent{
		{path: "/usr/bin/sh", real: "/usr/bin/sh", exec: true},
		{path: "/etc/ld.so.cache", real: "/etc/ld.so.cache"},
		{path: "/lib/x86_64-linux-gnu/libc.so.6", real: "/usr/lib/x86_64-linux-gnu/libc.so.6"},
		{path: "/tmp/i4/data/x.txt", real: "/tmp/i4/data/x.txt"},
		{path: "/etc/hosts", real: "/etc/hosts"},
		{path: "/usr/lib/libfoo.so", real: "/usr/lib/libfoo.so.1"},
		{path: "/home/rel", real: "/home/rel"},
		{path: "/tmp/a\"b\\cé", real: "/tmp/x"},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(straceEvent{})); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestTraceSkips(t *testing.T) {
	for p, want := range map[string]bool{
		"/proc/self/maps": true, "/dev/null": true, "/tmp/x": true, "/etc/ld.so.cache": true, "/etc/passwd": true,
		"/work/trace-1/cwd/f": true, "/usr/lib/x.so": false, "/etc/ssl/openssl.cnf": false, "/procfs": false,
	} {
		if got := skipTraced(straceEvent{path: p, real: p}, "/work/trace-1"); got != want {
			t.Errorf("skipTraced(%s) = %v, want %v", p, got, want)
		}
	}
}
