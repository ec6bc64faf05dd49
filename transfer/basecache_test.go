package transfer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/scratchpack/scratchpack/layercache"
)

// TestBaseCacheReadAhead: a base whose index is in the cache reads the
// files WithWanted names from the cache ahead of their opening: in place
// if their blobs still have the stamps the cache gave them, else read and
// checked: a damaged blob (even one whose mtime was set back) is read
// again from the layer, never used. Files not wanted are read when opened.
func TestBaseCacheReadAhead(t *testing.T) {
	ctx := context.Background()
	files := map[string]string{"usr/lib/libc.so.6": "the C library", "usr/lib/libm.so.6": "the maths library", "etc/hello": "hi\n"}
	img := imageOf(t, []ent{dir("etc", 0o755), dir("usr/lib", 0o755),
		file("etc/hello", files["etc/hello"], 0o644),
		file("usr/lib/libc.so.6", files["usr/lib/libc.so.6"], 0o755),
		file("usr/lib/libm.so.6", files["usr/lib/libm.so.6"], 0o755)})
	cache, err := layercache.OpenCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	wanted := WithWanted(func(name string) bool { return name == "usr/lib/libc.so.6" || name == "usr/lib/libm.so.6" })
	// open opens the base, reads every file and saves what it read; it
	// returns the number of layers read, and of blobs read ahead unused.
	open := func() (int, int) {
		t.Helper()
		bfs, err := OpenBase(ctx, img, WithIndexCache(cache), wanted)
		if err != nil {
			t.Fatal(err)
		}
		for name, want := range files {
			got, err := fs.ReadFile(bfs, name)
			if err != nil || string(got) != want {
				t.Errorf("ReadFile(%s) = %q, %v; want %q", name, got, err, want)
			}
		}
		if err := bfs.Save(); err != nil {
			t.Fatal(err)
		}
		return bfs.LayersRead(), len(bfs.early)
	}
	if n, _ := open(); n != 2 {
		t.Errorf("first open: %d layers read, want 2 (the index, and etc/hello, not wanted)", n)
	}
	if n, unused := open(); n != 0 || unused != 0 {
		t.Errorf("from the cache: %d layers read, %d blobs read ahead unused; want 0, 0", n, unused)
	}
	bfs, err := OpenBase(ctx, img, WithIndexCache(cache), wanted)
	if err != nil {
		t.Fatal(err)
	}
	if len(bfs.early) != 2 {
		t.Errorf("%d blobs read ahead, want 2 (libc and libm)", len(bfs.early))
	}
	// The blobs as Save left them: read in place, not read whole.
	f, err := bfs.Open("usr/lib/libc.so.6")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := f.(*blobFile); !ok {
		t.Errorf("libc from the cache is a %T, want a *blobFile (read in place)", f)
	}
	f.Close()
	// Damage the cached libc: the read ahead finds it does not have its
	// digest, and the file is read from the layer again, and saved again;
	// also damage that keeps its size (the damaged blob is dropped, so
	// that saving writes it again).
	sum := sha256.Sum256([]byte(files["usr/lib/libc.so.6"]))
	blob := filepath.Join(cache.Dir(), "blobs", "sha256", hex.EncodeToString(sum[:]))
	// The last damage keeps the size and sets the mtime back to what the
	// cache gave it: the ctime tells.
	for i, damaged := range []string{"the C library, damaged", "the C librarY", "the c library"} {
		if err := os.Chmod(blob, 0o644); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(blob)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(blob, []byte(damaged), 0o644); err != nil {
			t.Fatal(err)
		}
		if i == 2 {
			if err := os.Chtimes(blob, fi.ModTime(), fi.ModTime()); err != nil {
				t.Fatal(err)
			}
		}
		if n, _ := open(); n != 1 {
			t.Errorf("with a damaged blob (%q): %d layers read, want 1", damaged, n)
		}
		if n, unused := open(); n != 0 || unused != 0 {
			t.Errorf("then (%q): %d layers read, %d blobs read ahead unused; want 0, 0", damaged, n, unused)
		}
	}
}

// TestBaseCacheStampsOldRecords: a record of an earlier scratchpack, whose
// files have no stamps, still works (its blobs are read and checked), and
// the next Save stamps them, so that they are read in place from then on.
func TestBaseCacheStampsOldRecords(t *testing.T) {
	ctx := context.Background()
	img := imageOf(t, []ent{dir("usr/lib", 0o755), file("usr/lib/libc.so.6", "the C library", 0o755)})
	cache, err := layercache.OpenCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	wanted := WithWanted(func(name string) bool { return name == "usr/lib/libc.so.6" })
	open := func() *BaseFS {
		t.Helper()
		bfs, err := OpenBase(ctx, img, WithIndexCache(cache), wanted)
		if err != nil {
			t.Fatal(err)
		}
		return bfs
	}
	if err := open().Save(); err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	key := indexCacheKey(d)
	var r baseRecord
	if ok, err := cache.ReadRecord(baseRecords, key, &r); !ok || err != nil || len(r.Files) != 1 || r.Files[0].Stamp == nil {
		t.Fatalf("record %+v (%v, %v): want one file, stamped", r, ok, err)
	}
	for i := range r.Files {
		r.Files[i].Stamp = nil // as an earlier scratchpack wrote it
	}
	if err := cache.WriteRecord(baseRecords, key, r); err != nil {
		t.Fatal(err)
	}
	bfs := open()
	f, err := bfs.Open("usr/lib/libc.so.6")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := f.(*memFile); !ok {
		t.Errorf("a file without a stamp is a %T, want a *memFile (read and checked)", f)
	}
	f.Close()
	if err := bfs.Save(); err != nil {
		t.Fatal(err)
	}
	if n := open().LayersRead(); n != 0 {
		t.Errorf("%d layers read", n)
	}
	f, err = open().Open("usr/lib/libc.so.6")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := f.(*blobFile); !ok {
		t.Errorf("after Save, the file is a %T, want a *blobFile (read in place)", f)
	}
	f.Close()
}
