package packer

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scratchpack/scratchpack/layercache"
	"github.com/scratchpack/scratchpack/transfer"
	"golang.org/x/sys/unix"
)

// xfs mounts a new XFS file system with reflinks, in a file, and returns
// its mount point (as root, with mkfs.xfs: scripts/install-deps.sh installs
// xfsprogs).
func xfs(t *testing.T) string {
	t.Helper()
	mkfs, err := exec.LookPath("mkfs.xfs")
	if os.Geteuid() != 0 || err != nil {
		if inCI() {
			t.Fatalf("CI runs as root with xfsprogs installed (euid %d, %v)", os.Geteuid(), err)
		}
		t.Skipf("SKIP (requires root and mkfs.xfs): euid %d, %v", os.Geteuid(), err)
	}
	dir := t.TempDir()
	img := filepath.Join(dir, "xfs.img")
	if err := os.WriteFile(img, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, 512<<20); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(mkfs, "-q", "-m", "reflink=1", img).CombinedOutput(); err != nil {
		t.Fatalf("mkfs.xfs: %v: %s", err, out)
	}
	mnt := filepath.Join(dir, "mnt")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-o", "loop", img, mnt).CombinedOutput(); err != nil {
		t.Fatalf("mount: %v: %s", err, out)
	}
	// Lazily: cache layers keep their blobs open until they are collected.
	t.Cleanup(func() { exec.Command("umount", "-l", mnt).Run() })
	return mnt
}

// TestCacheReflink: on a file system with reflinks, a cache blob reaches an
// oci: layout as a clone (its own inode, sharing the cache blob's extents),
// and a blob changed after the cache trusted it fails the write.
func TestCacheReflink(t *testing.T) {
	mnt := xfs(t)
	set, _ := testFiles(t)
	c, err := layercache.OpenCache(filepath.Join(mnt, "cache"))
	if err != nil {
		t.Fatal(err)
	}
	img, l := cachedImage(t, set, c)
	out := filepath.Join(mnt, "out")
	if _, err := transfer.Write(bg, img, []transfer.Ref{mustParse(t, "oci:"+out)}); err != nil {
		t.Fatal(err)
	}
	blob := layoutBlob(out, layerDigest(t, l))
	var st, cst unix.Stat_t
	if err := unix.Stat(blob, &st); err != nil {
		t.Fatal(err)
	}
	if err := unix.Stat(l.Path(), &cst); err != nil {
		t.Fatal(err)
	}
	if st.Ino == cst.Ino || st.Nlink != 1 {
		t.Errorf("%s: inode %d with %d links; the cache blob is inode %d", blob, st.Ino, st.Nlink, cst.Ino)
	}
	frag, err := exec.Command("filefrag", "-v", blob).CombinedOutput()
	if err != nil {
		t.Fatalf("filefrag: %v: %s", err, frag)
	}
	if !strings.Contains(string(frag), "shared") {
		t.Errorf("%s shares no extent with the cache blob: not a clone:\n%s", blob, frag)
	}
	if err := validLayout(t, out); err != nil {
		t.Fatal(err)
	}

	img, l = cachedImage(t, set, c)
	flipInPlace(t, l)
	_, err = transfer.Write(bg, img, []transfer.Ref{mustParse(t, "oci:"+filepath.Join(mnt, "other"))})
	if !errors.Is(err, layercache.ErrCorrupt) {
		t.Errorf("Write of a clone of a blob changed since the build: %v; want ErrCacheCorrupt", err)
	}
}
