package testenv

import (
	"os"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// muslLibc is Debian's musl C library, which is also musl's loader
// (/lib/ld-musl-x86_64.so.1 links to it).
const muslLibc = "/usr/lib/x86_64-linux-musl/libc.so"

// MuslRootfs assembles, in a temporary directory, a root filesystem shaped
// like Alpine's from Debian's musl package (no Alpine download is possible
// here), and returns its path:
//
//   - /lib/ld-musl-x86_64.so.1, musl's loader and C library, and
//     /lib/libc.musl-x86_64.so.1 linking to it, as on Alpine;
//   - /etc/passwd and /etc/group with root, /root and /tmp (mode 1777).
//
// It has no glibc loader. It skips (or fails, in CI) without the musl package.
func MuslRootfs(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat(muslLibc); err != nil {
		missing(t, "%s not found (install the Debian package \"musl\")", muslLibc)
	}
	root := filepath.Join(t.TempDir(), "rootfs")
	for _, d := range []struct {
		name string
		perm os.FileMode
	}{{"", 0o755}, {"lib", 0o755}, {"etc", 0o755}, {"root", 0o700}, {"tmp", os.ModeSticky | 0o777}} {
		p := filepath.Join(root, d.name)
		if err := os.Mkdir(p, d.perm); err != nil {
			t.Fatalf("creating %s: %v", p, err)
		}
		if err := os.Chmod(p, d.perm); err != nil {
			t.Fatalf("chmod %s: %v", p, err)
		}
	}
	copyRegular(t, muslLibc, filepath.Join(root, "lib", "ld-musl-x86_64.so.1"))
	symlink(t, "ld-musl-x86_64.so.1", filepath.Join(root, "lib", "libc.musl-x86_64.so.1"))
	writeFile(t, filepath.Join(root, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\n")
	writeFile(t, filepath.Join(root, "etc", "group"), "root:x:0:\n")
	return root
}

// MuslImage returns MuslRootfs as a single-layer image, configured as
// ImageFromRootfs does.
func MuslImage(t testing.TB) v1.Image {
	t.Helper()
	return ImageFromRootfs(t, MuslRootfs(t))
}
