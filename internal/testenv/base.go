package testenv

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// busyboxApplets are linked to /bin/busybox in the base root filesystem.
var busyboxApplets = []string{"cat", "echo", "ls", "sh"}

// nssModules are dlopened by glibc, so ldd does not list them; the
// busybox:glibc image ships them next to libc, and libm as well (the real
// image's /lib holds glibc's main libraries whether busybox needs them or not).
var nssModules = []string{"libnss_dns.so.2", "libnss_files.so.2", "libm.so.6"}

// BusyboxGlibcRootfs assembles, in a temporary directory, a root filesystem
// shaped like the busybox:glibc image from the host's Debian files, and
// returns its path:
//
//   - /bin is a real directory holding Debian's dynamically linked
//     /bin/busybox and the relative applet symlinks sh, ls, echo and cat;
//   - busybox's shared-library closure (as ldd lists it: the loader, libc,
//     libresolv) and glibc's NSS modules, at the paths the host uses and
//     through the host's own symlinks, so on merged-/usr Debian 12 the tree
//     has /lib -> usr/lib, /lib64 -> usr/lib64, the absolute symlink
//     /usr/lib64/ld-linux-x86-64.so.2 -> /lib/x86_64-linux-gnu/..., and the
//     real files under /usr/lib/x86_64-linux-gnu;
//   - /etc/passwd and /etc/group with root, /root, and /tmp (mode 1777).
//
// It skips (or fails, in CI) when busybox is missing or statically linked.
func BusyboxGlibcRootfs(t testing.TB) string {
	t.Helper()
	busybox := hostBusybox(t)
	root := filepath.Join(t.TempDir(), "rootfs")

	for _, d := range []struct {
		name string
		perm os.FileMode
	}{{"", 0o755}, {"bin", 0o755}, {"etc", 0o755}, {"root", 0o700}, {"tmp", os.ModeSticky | 0o777}} {
		p := filepath.Join(root, d.name)
		if err := os.Mkdir(p, d.perm); err != nil {
			t.Fatalf("creating %s: %v", p, err)
		}
		if err := os.Chmod(p, d.perm); err != nil { // not subject to umask
			t.Fatalf("chmod %s: %v", p, err)
		}
	}
	copyRegular(t, busybox, filepath.Join(root, "bin", "busybox"))
	for _, applet := range busyboxApplets {
		symlink(t, "busybox", filepath.Join(root, "bin", applet))
	}
	writeFile(t, filepath.Join(root, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\n")
	writeFile(t, filepath.Join(root, "etc", "group"), "root:x:0:\n")

	libs := lddClosure(t, busybox)
	libc := ""
	for _, l := range libs {
		mirrorHostPath(t, root, l, 0)
		if path.Base(l) == "libc.so.6" {
			libc = l
		}
	}
	if libc == "" {
		t.Fatalf("ldd %s lists no libc.so.6: %v", busybox, libs)
	}
	for _, m := range nssModules {
		p := path.Join(path.Dir(libc), m)
		if _, err := os.Stat(p); err == nil {
			mirrorHostPath(t, root, p, 0)
		}
	}
	return root
}

// hostBusybox returns Debian's busybox, which must be dynamically linked
// (the busybox-static package replaces it with a static one).
func hostBusybox(t testing.TB) string {
	t.Helper()
	bin := ""
	for _, p := range []string{"/bin/busybox", "/usr/bin/busybox"} {
		if _, err := os.Stat(p); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		missing(t, "/bin/busybox not found (install the Debian package \"busybox\")")
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatalf("reading %s: %v", bin, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return bin
		}
	}
	missing(t, "%s is statically linked (busybox-static?); the glibc base needs the dynamically linked one from the Debian package \"busybox\"", bin)
	return ""
}

// lddClosure returns the absolute paths ldd lists for bin, sorted.
func lddClosure(t testing.TB, bin string) []string {
	t.Helper()
	ldd := tool(t, "ldd", "libc-bin")
	out, err := exec.Command(ldd, bin).Output()
	if err != nil {
		t.Fatalf("%s %s: %v", ldd, bin, exitDetail(err))
	}
	var libs []string
	for _, line := range strings.Split(string(out), "\n") {
		// "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or
		// "/lib64/ld-linux-x86-64.so.2 (0x...)"; the vDSO has no path.
		line = strings.TrimSpace(line)
		if _, after, ok := strings.Cut(line, "=>"); ok {
			line = strings.TrimSpace(after)
		}
		if strings.Contains(line, "not found") {
			t.Fatalf("ldd %s: %s", bin, line)
		}
		p, _, _ := strings.Cut(line, " ")
		if strings.HasPrefix(p, "/") {
			libs = append(libs, path.Clean(p))
		}
	}
	sort.Strings(libs)
	return libs
}

// maxSymlinks bounds symlink chains, like the kernel's ELOOP limit.
const maxSymlinks = 40

// mirrorHostPath recreates the absolute host path p under root: directories
// as directories, every symlink met on the way as the same symlink, the
// symlink targets too, and the final regular file as a copy.
func mirrorHostPath(t testing.TB, root, p string, depth int) {
	t.Helper()
	if depth > maxSymlinks {
		t.Fatalf("mirroring %s: too many levels of symbolic links", p)
	}
	parts := strings.Split(strings.TrimPrefix(path.Clean(p), "/"), "/")
	cur := "/"
	for i, part := range parts {
		host := path.Join(cur, part)
		dst := filepath.Join(root, filepath.FromSlash(host))
		fi, err := os.Lstat(host)
		if err != nil {
			t.Fatalf("mirroring %s: %v", p, err)
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(host)
			if err != nil {
				t.Fatalf("mirroring %s: %v", p, err)
			}
			if existing, err := os.Readlink(dst); err != nil {
				symlink(t, target, dst)
			} else if existing != target {
				t.Fatalf("mirroring %s: %s already links to %q, not %q", p, dst, existing, target)
			}
			if !path.IsAbs(target) {
				target = path.Join(cur, target)
			}
			mirrorHostPath(t, root, path.Join(append([]string{target}, parts[i+1:]...)...), depth+1)
			return
		case fi.IsDir():
			if i == len(parts)-1 {
				t.Fatalf("mirroring %s: is a directory", p)
			}
			if err := os.Mkdir(dst, 0o755); err == nil {
				err = os.Chmod(dst, 0o755) // not subject to umask
				if err != nil {
					t.Fatalf("mirroring %s: %v", p, err)
				}
			} else if !os.IsExist(err) {
				t.Fatalf("mirroring %s: %v", p, err)
			}
			cur = host
		case fi.Mode().IsRegular() && i == len(parts)-1:
			if _, err := os.Lstat(dst); err == nil {
				return // already copied through another path
			}
			copyRegular(t, host, dst)
		default:
			t.Fatalf("mirroring %s: %s is %v, not a directory, symlink or regular file", p, host, fi.Mode().Type())
		}
	}
}

func symlink(t testing.TB, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatalf("creating symlink %s -> %s: %v", link, target, err)
	}
}

// copyRegular copies a regular file, keeping its permission bits.
func copyRegular(t testing.TB, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatalf("copying %s: %v", src, err)
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		t.Fatalf("copying %s: %v", src, err)
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fi.Mode().Perm())
	if err != nil {
		t.Fatalf("copying %s: %v", src, err)
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(dst, fi.Mode().Perm())
	}
	if err != nil {
		t.Fatalf("copying %s to %s: %v", src, dst, err)
	}
}

// BusyboxGlibcImage returns BusyboxGlibcRootfs as a single-layer OCI image:
// the layer is a tar with sorted entries owned 0:0 with mtime 0, and the
// config has no Entrypoint, Cmd ["sh"], Env PATH=/bin:/usr/bin, OS linux and
// the host's architecture (amd64 on the CI machines). Its digest depends only
// on the host's busybox and glibc files.
func BusyboxGlibcImage(t testing.TB) v1.Image {
	t.Helper()
	return ImageFromRootfs(t, BusyboxGlibcRootfs(t))
}

// ImageFromRootfs returns the directory root as a single-layer image with
// BusyboxGlibcImage's configuration.
func ImageFromRootfs(t testing.TB, root string) v1.Image {
	t.Helper()
	layerTar, err := tarDir(root)
	if err != nil {
		t.Fatalf("archiving %s: %v", root, err)
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		t.Fatalf("building the busybox layer: %v", err)
	}
	epoch := v1.Time{Time: time.Unix(0, 0).UTC()}
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.Append(base, mutate.Addendum{
		Layer:   plainLayer{layer},
		History: v1.History{Created: epoch, CreatedBy: "scratchpack testenv: busybox:glibc-shaped root filesystem"},
	})
	if err != nil {
		t.Fatalf("appending the busybox layer: %v", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatalf("reading the busybox image config: %v", err)
	}
	cfg = cfg.DeepCopy()
	cfg.Created = epoch
	cfg.OS = "linux"
	cfg.Architecture = runtime.GOARCH
	cfg.Config.Entrypoint = nil
	cfg.Config.Cmd = []string{"sh"}
	cfg.Config.Env = []string{"PATH=/bin:/usr/bin"}
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		t.Fatalf("setting the busybox image config: %v", err)
	}
	return img
}

// plainLayer hides the Descriptor method of ggcr's tarball layers, whose
// empty, non-nil Annotations map makes validate.Image report the manifest
// as not matching its own JSON (which omits the empty map).
type plainLayer struct{ v1.Layer }

// tarDir archives the tree at root with sorted entry names, uid/gid 0, no
// user names, mtime 0 and the files' permission bits.
func tarDir(root string) ([]byte, error) {
	var names []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != root {
			names = append(names, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, p := range names {
		if err := addTarEntry(tw, root, p); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func addTarEntry(tw *tar.Writer, root, p string) error {
	fi, err := os.Lstat(p)
	if err != nil {
		return err
	}
	rel, err := filepath.Rel(root, p)
	if err != nil {
		return err
	}
	hdr := &tar.Header{
		Name:    filepath.ToSlash(rel),
		Mode:    int64(fi.Mode().Perm()),
		ModTime: time.Unix(0, 0),
	}
	if fi.Mode()&fs.ModeSticky != 0 {
		hdr.Mode |= 0o1000
	}
	switch {
	case fi.IsDir():
		hdr.Typeflag = tar.TypeDir
		hdr.Name += "/"
	case fi.Mode()&fs.ModeSymlink != 0:
		hdr.Typeflag = tar.TypeSymlink
		hdr.Mode = 0o777
		if hdr.Linkname, err = os.Readlink(p); err != nil {
			return err
		}
	case fi.Mode().IsRegular():
		hdr.Typeflag = tar.TypeReg
		hdr.Size = fi.Size()
	default:
		return fmt.Errorf("%s: unsupported file type %v", p, fi.Mode().Type())
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	if hdr.Typeflag != tar.TypeReg {
		return nil
	}
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.Copy(tw, f); err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	return nil
}
