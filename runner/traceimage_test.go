package runner

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/scratchpack/scratchpack/packer"
)

// TestClassifyImage: what a traced run of an image used, from the log of
// strace wrapping the builtin runtime's init, looked up in the image's
// root: the init's own calls before it executes the program are left out,
// (the init is Go: it executes the program from another thread), and a
// file the run made brings the directory it was made in.
func TestClassifyImage(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"usr/sbin", "etc/nginx", "var/lib/nginx", "run", "proc", "usr/lib"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	lib, err := os.ReadFile("/usr/lib/x86_64-linux-gnu/libc.so.6")
	if err != nil {
		t.Skipf("SKIP (component missing): a shared library to copy: %v", err)
	}
	for name, data := range map[string][]byte{
		"usr/sbin/nginx": []byte("\x7fELF"), "etc/nginx/nginx.conf": []byte("events {}\n"), "usr/lib/libecho.so": lib,
	} {
		if err := os.WriteFile(filepath.Join(root, name), data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	before := `7 execve("/tmp/go-build/slim.test", ["slim.test", "__init"], 0x0 /* 0 vars */) = 0
7 openat(AT_FDCWD</tmp>, "/etc/nginx/nginx.conf", O_RDONLY) = 5</etc/nginx/nginx.conf>
7 newfstatat(AT_FDCWD</>, "/usr/sbin/nginx", {st_mode=S_IFREG|0755, ...}, 0) = 0
`
	unfinished := `9 execve("/usr/sbin/nginx", ["nginx"], 0x0 /* 1 var */ <unfinished ...>
`
	after := `7 +++ superseded by execve in pid 9 +++
7 <... execve resumed>) = 0
7 openat(AT_FDCWD</>, "/etc/nginx/nginx.conf", O_RDONLY) = 4</etc/nginx/nginx.conf>
7 openat(AT_FDCWD</>, "/usr/lib/libecho.so", O_RDONLY|O_CLOEXEC) = 4</usr/lib/libecho.so>
7 openat(AT_FDCWD</>, "/etc/passwd", O_RDONLY|O_CLOEXEC) = 4</etc/passwd>
7 openat(AT_FDCWD</>, "/proc/self/stat", O_RDONLY) = 4</proc/7/stat>
7 openat(AT_FDCWD</>, "/run/nginx.pid", O_RDWR|O_CREAT, 0644) = 4</run/nginx.pid>
8 mkdir("/var/lib/nginx/body", 0700) = 0
8 newfstatat(AT_FDCWD</>, "/etc/nginx", {st_mode=S_IFDIR|0755, ...}, 0) = 0
`
	want := &packer.Trace{
		Libraries:   []string{"/usr/lib/libecho.so"},
		Files:       []string{"/etc/nginx/nginx.conf"},
		Programs:    []string{},
		Directories: []string{"/etc/nginx", "/run", "/var/lib/nginx"},
		StatOnly:    []string{"/etc/nginx"},
		Skipped:     []string{"/etc/passwd", "/proc/self/stat"},
		LeftOut: map[string]string{
			"/etc/passwd":     "per machine, given by the runtime, or written by scratchpack",
			"/proc/self/stat": "given to every container by the runtime (/proc)",
		},
	}
	for _, tc := range []struct{ name, log string }{
		{"with the exec's unfinished half", before + unfinished + after},
		{"as strace -z writes it, without", before + after},
	} {
		t.Run(tc.name, func(t *testing.T) {
			events, err := parseStrace(strings.NewReader(tc.log))
			if err != nil {
				t.Fatal(err)
			}
			tr := &packer.Trace{}
			classifyImage(tr, programEvents(events), root)
			if diff := cmp.Diff(want, tr); diff != "" {
				t.Errorf("classifyImage (-want +got):\n%s", diff)
			}
		})
	}
	events, err := parseStrace(strings.NewReader(before))
	if err != nil {
		t.Fatal(err)
	}
	if got := programEvents(events); got != nil {
		t.Errorf("programEvents without the program's exec: %v, want none", got)
	}
}
