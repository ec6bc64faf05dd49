package elfdeps

import (
	"errors"
	"io/fs"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

func symlink(target string) *fstest.MapFile {
	return &fstest.MapFile{Mode: fs.ModeSymlink | 0o777, Data: []byte(target)}
}

func regular(data string) *fstest.MapFile {
	return &fstest.MapFile{Mode: 0o644, Data: []byte(data)}
}

// usrMergedFS is a Debian-style root with merged /usr and the usual links.
func usrMergedFS() fstest.MapFS {
	return fstest.MapFS{
		"lib":                                symlink("usr/lib"),
		"lib64":                              symlink("usr/lib64"),
		"usr/lib/x86_64-linux-gnu/libc.so.6": regular("libc"),
		"usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2": regular("ld.so"),
		"usr/lib/x86_64-linux-gnu/libstdc++.so.6":       symlink("libstdc++.so.6.0.30"),
		"usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30":  regular("libstdc++"),
		"usr/lib64/ld-linux-x86-64.so.2":                symlink("/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"),
		"etc/hostname":                                  regular("box"),
		"escape/absolute":                               symlink("/etc/hostname"),
		"escape/dotdot":                                 symlink("../../../../../../etc/hostname"),
		"escape/dotdot-missing":                         symlink("../../../../../../etc/passwd"),
		"escape/host-only":                              symlink("/usr/bin/env"),
		"up/link":                                       symlink("a/b"),
		"up/a/b/file":                                   regular("b"),
		"up/a/file":                                     regular("a"),
		"loop/a":                                        symlink("b"),
		"loop/b":                                        symlink("a"),
		"loop/self":                                     symlink("self"),
		"loop/dir":                                      symlink("dir/sub"),
		"chain/0":                                       symlink("1"),
		"chain/1":                                       symlink("2"),
		"chain/2":                                       regular("end"),
		"file":                                          regular("not a directory"),
		"usr/lib/x86_64-linux-gnu/libfoo.so":            symlink("libfoo.so.1"),
		"usr/lib/x86_64-linux-gnu/libfoo.so.1":          symlink("./libfoo.so.1.2"),
		"usr/lib/x86_64-linux-gnu/libfoo.so.1.2":        regular("foo"),
		"usr/lib/x86_64-linux-gnu/relative-absolute-mix.so": symlink("/lib64/../lib/x86_64-linux-gnu/libc.so.6"),
		"usr/lib/x86_64-linux-gnu/dangling.so":              symlink("nowhere.so"),
		"usr/lib/x86_64-linux-gnu/subdir/placeholder":       regular(""),
		"usr/lib/x86_64-linux-gnu/to-subdir":                symlink("subdir"),
		"usr/lib/x86_64-linux-gnu/trailing-slash-target.so": symlink("libc.so.6/"),
		"usr/lib/x86_64-linux-gnu/abs-with-dots.so":         symlink("/./usr//lib/./x86_64-linux-gnu/libc.so.6"),
		"usr/lib/x86_64-linux-gnu/deep-escape/x":            symlink("../../../../../../../../../../lib/x86_64-linux-gnu/libc.so.6"),
	}
}

func TestRootResolve(t *testing.T) {
	root := NewRoot(usrMergedFS(), "test")
	tests := []struct {
		name      string
		path      string
		want      string
		wantLinks []Link
		wantErr   error
	}{
		{name: "plain file", path: "/usr/lib/x86_64-linux-gnu/libc.so.6", want: "/usr/lib/x86_64-linux-gnu/libc.so.6"},
		{name: "root", path: "/", want: "/"},
		{name: "relative input", path: "usr/lib", want: "/usr/lib"},
		{name: "relative link in a directory", path: "/lib/x86_64-linux-gnu/libc.so.6", want: "/usr/lib/x86_64-linux-gnu/libc.so.6",
			wantLinks: []Link{{"/lib", "usr/lib"}}},
		{name: "absolute link", path: "/lib64/ld-linux-x86-64.so.2", want: "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
			wantLinks: []Link{{"/lib64", "usr/lib64"}, {"/usr/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"}, {"/lib", "usr/lib"}}},
		{name: "soname link", path: "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", want: "/usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30",
			wantLinks: []Link{{"/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "libstdc++.so.6.0.30"}}},
		{name: "two links with ./", path: "/usr/lib/x86_64-linux-gnu/libfoo.so", want: "/usr/lib/x86_64-linux-gnu/libfoo.so.1.2",
			wantLinks: []Link{{"/usr/lib/x86_64-linux-gnu/libfoo.so", "libfoo.so.1"}, {"/usr/lib/x86_64-linux-gnu/libfoo.so.1", "./libfoo.so.1.2"}}},
		{name: "chain", path: "/chain/0", want: "/chain/2", wantLinks: []Link{{"/chain/0", "1"}, {"/chain/1", "2"}}},
		{name: "absolute link with ..", path: "/usr/lib/x86_64-linux-gnu/relative-absolute-mix.so", want: "/usr/lib/x86_64-linux-gnu/libc.so.6"},
		{name: "absolute link with . and //", path: "/usr/lib/x86_64-linux-gnu/abs-with-dots.so", want: "/usr/lib/x86_64-linux-gnu/libc.so.6"},
		{name: ".. in the input", path: "/usr/lib/x86_64-linux-gnu/../x86_64-linux-gnu/libc.so.6", want: "/usr/lib/x86_64-linux-gnu/libc.so.6"},
		{name: ".. above the root stays at the root", path: "/../../usr/../../lib/x86_64-linux-gnu/libc.so.6", want: "/usr/lib/x86_64-linux-gnu/libc.so.6"},
		// The kernel resolves ".." after a symbolic link from where the link
		// led (a/b/.. is a), not by striking out "link/..".
		{name: ".. after a link is physical", path: "/up/link/../file", want: "/up/a/file", wantLinks: []Link{{"/up/link", "a/b"}}},
		{name: "link to a directory", path: "/usr/lib/x86_64-linux-gnu/to-subdir/placeholder", want: "/usr/lib/x86_64-linux-gnu/subdir/placeholder"},
		{name: "escape by absolute link stays inside", path: "/escape/absolute", want: "/etc/hostname"},
		{name: "escape by .. stays inside", path: "/escape/dotdot", want: "/etc/hostname"},
		{name: "deep escape stays inside", path: "/usr/lib/x86_64-linux-gnu/deep-escape/x", want: "/usr/lib/x86_64-linux-gnu/libc.so.6"},
		{name: "escape to a missing file", path: "/escape/dotdot-missing", wantErr: fs.ErrNotExist},
		{name: "escape to a host-only file", path: "/escape/host-only", wantErr: fs.ErrNotExist},
		{name: "two-link loop", path: "/loop/a", wantErr: ErrSymlinkLoop},
		{name: "self loop", path: "/loop/self", wantErr: ErrSymlinkLoop},
		{name: "growing loop", path: "/loop/dir/x", wantErr: ErrSymlinkLoop},
		{name: "missing", path: "/usr/lib/x86_64-linux-gnu/libnope.so", wantErr: fs.ErrNotExist},
		{name: "dangling", path: "/usr/lib/x86_64-linux-gnu/dangling.so", wantErr: fs.ErrNotExist},
		{name: "below a file", path: "/file/x"},
		{name: "link with a trailing slash to a file", path: "/usr/lib/x86_64-linux-gnu/trailing-slash-target.so"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, links, err := root.Resolve(tc.path)
			if tc.wantErr != nil || tc.want == "" {
				if err == nil {
					t.Fatalf("Resolve(%q) = %q, nil; want an error", tc.path, got)
				}
				if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
					t.Fatalf("Resolve(%q) error = %v, want one wrapping %q", tc.path, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve(%q): %v", tc.path, err)
			}
			if got != tc.want {
				t.Errorf("Resolve(%q) = %q, want %q", tc.path, got, tc.want)
			}
			if tc.wantLinks != nil {
				if diff := cmp.Diff(tc.wantLinks, links); diff != "" {
					t.Errorf("links mismatch (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestRootResolveExisting(t *testing.T) {
	root := NewRoot(usrMergedFS(), "test")
	tests := []struct {
		name, path, want string
		wantErr          error
	}{
		{name: "existing", path: "/lib/x86_64-linux-gnu/libc.so.6", want: "/usr/lib/x86_64-linux-gnu/libc.so.6"},
		{name: "missing leaf under a link", path: "/lib/x86_64-linux-gnu/libnew.so.1", want: "/usr/lib/x86_64-linux-gnu/libnew.so.1"},
		{name: "missing directories", path: "/lib64/new/dir/libnew.so", want: "/usr/lib64/new/dir/libnew.so"},
		{name: "missing root directory", path: "/opt/app/bin", want: "/opt/app/bin"},
		{name: "dangling link", path: "/usr/lib/x86_64-linux-gnu/dangling.so", want: "/usr/lib/x86_64-linux-gnu/nowhere.so"},
		{name: "escaping dangling link", path: "/escape/dotdot-missing", want: "/etc/passwd"},
		{name: "loop", path: "/loop/a/x", wantErr: ErrSymlinkLoop},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := root.ResolveExisting(tc.path)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("ResolveExisting(%q) = %q, %v; want an error wrapping %q", tc.path, got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ResolveExisting(%q) = %q, %v; want %q", tc.path, got, err, tc.want)
			}
		})
	}
}

func TestRootOpen(t *testing.T) {
	root := NewRoot(usrMergedFS(), "test")
	t.Run("through links", func(t *testing.T) {
		f, fi, err := root.Open("/lib/x86_64-linux-gnu/libstdc++.so.6")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		b := make([]byte, fi.Size())
		if _, err := f.ReadAt(b, 0); err != nil || string(b) != "libstdc++" {
			t.Errorf("read %q, %v; want %q", b, err, "libstdc++")
		}
	})
	t.Run("directory", func(t *testing.T) {
		if _, _, err := root.Open("/lib"); !errors.Is(err, ErrNotRegular) {
			t.Errorf("Open(/lib) error = %v, want ErrNotRegular", err)
		}
	})
	t.Run("loop", func(t *testing.T) {
		if _, _, err := root.Open("/loop/self"); !errors.Is(err, ErrSymlinkLoop) {
			t.Errorf("Open(/loop/self) error = %v, want ErrSymlinkLoop", err)
		}
	})
	t.Run("ReadFile and Stat", func(t *testing.T) {
		b, err := root.ReadFile("/escape/absolute")
		if err != nil || string(b) != "box" {
			t.Errorf("ReadFile = %q, %v; want the root's /etc/hostname", b, err)
		}
		fi, err := root.Stat("/lib")
		if err != nil || !fi.IsDir() {
			t.Errorf("Stat(/lib) = %v, %v; want the directory behind the link", fi, err)
		}
	})
}
