package packer

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/scratchpack/scratchpack/layercache"
	"github.com/scratchpack/scratchpack/transfer"
	"golang.org/x/sys/unix"
)

// cachedImage is an image of one layer taken from c (filled first).
func cachedImage(t *testing.T, set *FileSet, c *layercache.Cache) (v1.Image, *layercache.Layer) {
	t.Helper()
	cached(t, set, LayerOptions{}, c)
	l, _ := cached(t, set, LayerOptions{}, c)
	if !l.Cached() {
		t.Fatal("the layer did not come from the cache")
	}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		t.Fatal(err)
	}
	return img, l
}

func layoutBlob(dir string, h v1.Hash) string { return filepath.Join(dir, "blobs", h.Algorithm, h.Hex) }

func validLayout(t *testing.T, dir string) error {
	t.Helper()
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return err
	}
	return validate.Index(idx)
}

// TestCacheSharesNoInode: an oci: output never shares an inode with the
// cache (whose blobs are read-only), so truncating one layout's blob breaks
// neither the cache nor another layout, and a damaged layout blob is
// replaced, not reused, by the next write into that layout.
func TestCacheSharesNoInode(t *testing.T) {
	set, want := testFiles(t)
	c := openTestCache(t)
	img, l := cachedImage(t, set, c)
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	if _, err := transfer.Write(bg, img, []transfer.Ref{mustParse(t, "oci:"+a), mustParse(t, "oci:"+b)}); err != nil {
		t.Fatal(err)
	}
	var cst unix.Stat_t
	if err := unix.Stat(l.Path(), &cst); err != nil {
		t.Fatal(err)
	}
	if cst.Mode&0o222 != 0 {
		t.Errorf("cache blob %s has mode %o: want it read-only", l.Path(), cst.Mode&0o7777)
	}
	for _, d := range []string{a, b} {
		var st unix.Stat_t
		if err := unix.Stat(layoutBlob(d, layerDigest(t, l)), &st); err != nil {
			t.Fatal(err)
		}
		if st.Ino == cst.Ino || st.Nlink != 1 {
			t.Errorf("%s: inode %d with %d links; the cache blob is inode %d", layoutBlob(d, layerDigest(t, l)), st.Ino, st.Nlink, cst.Ino)
		}
	}

	if err := os.Truncate(layoutBlob(a, layerDigest(t, l)), layerSize(t, l)/2); err != nil {
		t.Fatal(err)
	}
	if err := validLayout(t, b); err != nil {
		t.Errorf("truncating a broke b: %v", err)
	}
	again, rebuilt := cached(t, set, LayerOptions{}, c)
	if !again.Cached() || rebuilt != nil {
		t.Errorf("truncating a broke the cache: cached %v, rebuilt %v", again.Cached(), rebuilt)
	}
	checkLayer(t, again, layercache.Gzip, want)

	// The same size, another byte: the next write into a replaces it.
	if _, err := transfer.Write(bg, img, []transfer.Ref{mustParse(t, "oci:"+a)}); err != nil {
		t.Fatal(err)
	}
	blob, err := os.ReadFile(layoutBlob(a, layerDigest(t, l)))
	if err != nil {
		t.Fatal(err)
	}
	blob[len(blob)/2] ^= 0x40
	if err := os.WriteFile(layoutBlob(a, layerDigest(t, l)), blob, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := transfer.Write(bg, img, []transfer.Ref{mustParse(t, "oci:"+a+":again")}); err != nil {
		t.Fatal(err)
	}
	if err := validLayout(t, a); err != nil {
		t.Errorf("a damaged blob of a was reused: %v", err)
	}
}

// flipInPlace changes one byte of the cache blob of l in place and gives it
// back its mode and mtime, as a careless tool (or touch -d) would: only the
// ctime, which no tool can set, tells.
func flipInPlace(t *testing.T, l *layercache.Layer) {
	t.Helper()
	b, err := os.ReadFile(l.Path())
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x40
	writeInPlace(t, l.Path(), b)
	if err := os.Chmod(l.Path(), 0o444); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(l.Path(), time.Unix(1, 0) /* the mtime the cache pins */, time.Unix(1, 0) /* the mtime the cache pins */); err != nil {
		t.Fatal(err)
	}
}

// TestCacheFlippedByteNeverReachesOutput: a byte flipped in a cache blob
// (size, mode and mtime kept) reaches no output of any kind. Flipped before
// a build, it is found (the ctime differs, so the blob is read) and the
// layer written again; flipped after the build took the layer and before
// the write, the write fails naming it, leaves nothing, and drops the entry.
func TestCacheFlippedByteNeverReachesOutput(t *testing.T) {
	set, want := testFiles(t)
	c := openTestCache(t)
	for _, prefix := range []string{"oci:", "oci-archive:", "docker-archive:", ""} {
		t.Run(prefix+"before the build", func(t *testing.T) {
			_, l := cachedImage(t, set, c)
			flipInPlace(t, l)
			again, rebuilt := cached(t, set, LayerOptions{}, c)
			if again.Cached() || !errors.Is(rebuilt, layercache.ErrCorrupt) {
				t.Fatalf("cached %v, rebuilt %v: want the layer written again", again.Cached(), rebuilt)
			}
			checkLayer(t, again, layercache.Gzip, want)
			writeAndCheck(t, again, prefix)
		})
		t.Run(prefix+"between build and write", func(t *testing.T) {
			img, l := cachedImage(t, set, c)
			flipInPlace(t, l)
			out := filepath.Join(t.TempDir(), "out.tar")
			_, err := transfer.Write(bg, img, []transfer.Ref{mustParse(t, prefix+out)})
			if !errors.Is(err, layercache.ErrCorrupt) || !strings.Contains(err.Error(), l.Path()) {
				t.Fatalf("Write of a cache blob changed since the build: %v; want ErrCacheCorrupt naming %s", err, l.Path())
			}
			if _, err := os.Lstat(out); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the failed write left %s (%v)", out, err)
			}
			again, rebuilt := cached(t, set, LayerOptions{}, c)
			if again.Cached() {
				t.Fatalf("the entry is still used (rebuilt %v)", rebuilt)
			}
			writeAndCheck(t, again, prefix)
		})
	}
}

// writeAndCheck writes an image of l to a new destination of the kind
// prefix names, and validates what was written.
func writeAndCheck(t *testing.T, l v1.Layer, prefix string) {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out.tar")
	if _, err := transfer.Write(bg, img, []transfer.Ref{mustParse(t, prefix+out)}); err != nil {
		t.Fatal(err)
	}
	var got v1.Image
	switch prefix {
	case "oci:":
		err = validLayout(t, out)
	case "oci-archive:":
		got, err = transfer.LoadBase(bg, mustParse(t, "oci-archive:"+out), amd64)
	default:
		got, err = tarball.ImageFromPath(out, nil)
	}
	if err == nil && got != nil {
		err = validate.Image(got)
	}
	if err != nil {
		t.Errorf("%s%s: %v", prefix, out, err)
	}
}
