package layercache

import (
	"bytes"
	"errors"
	"os"
	"testing"
	"time"
)

// TestBlobStamps: PutBlob gives a blob a stamp that vouches for its bytes
// until it is written again: OpenBlob reads it in place while it keeps the
// stamp, and any write (one of the same size, one with the mtime set back
// after it) makes it stale, for OpenBlob, for a BlobFile opened before,
// and for ReadBlob, which then checks the digest and drops the blob. A
// blob put again unchanged keeps its stamp (records of other bases share
// it); one found changed is written again.
func TestBlobStamps(t *testing.T) {
	c, err := OpenCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("the bytes of a library")
	h, st, err := c.PutBlob(data)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mtime != blobMtime.UnixNano() || st.Size != int64(len(data)) {
		t.Fatalf("stamp %+v: want the cache's mtime and the blob's size", st)
	}
	if _, again, err := c.PutBlob(data); err != nil || again != st {
		t.Fatalf("put again: %+v, %v; want the same stamp %+v", again, err, st)
	}
	f, err := c.OpenBlob(h, int64(len(data)), st)
	if err != nil {
		t.Fatalf("OpenBlob: %v", err)
	}
	defer f.Close()
	got := make([]byte, 9)
	if _, err := f.ReadAt(got, 4); err != nil || string(got) != "bytes of " {
		t.Fatalf("ReadAt: %q, %v", got, err)
	}
	if b, err := c.ReadBlob(h, 100, st); err != nil || !bytes.Equal(b, data) {
		t.Fatalf("ReadBlob: %q, %v", b, err)
	}
	if _, err := c.OpenBlob(h, int64(len(data))+1, st); !errors.Is(err, ErrStale) {
		t.Errorf("OpenBlob of another size: %v, want ErrStale", err)
	}
	if _, err := c.OpenBlob(h, int64(len(data)), Stamp{}); !errors.Is(err, ErrStale) {
		t.Errorf("OpenBlob with no stamp: %v, want ErrStale", err)
	}

	// Written again, same size, mtime set back: the ctime tells.
	name := c.blobPath(h)
	if err := os.Chmod(name, 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond) // a tick of the file system's clock
	damaged := bytes.ToUpper(data)
	if err := os.WriteFile(name, damaged, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(name, blobMtime, blobMtime); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ReadAt(got, 4); !errors.Is(err, ErrStale) {
		t.Errorf("ReadAt of the blob opened before it changed: %v, want ErrStale", err)
	}
	if _, err := c.OpenBlob(h, int64(len(data)), st); !errors.Is(err, ErrStale) {
		t.Errorf("OpenBlob of the changed blob: %v, want ErrStale", err)
	}
	if _, err := c.ReadBlob(h, 100, st); !errors.Is(err, ErrCorrupt) {
		t.Errorf("ReadBlob of the changed blob: %v, want ErrCorrupt", err)
	}
	if _, err := os.Stat(name); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the changed blob was not dropped: %v", err)
	}

	// Changed but not dropped (same size): PutBlob writes it again.
	if _, st, err = c.PutBlob(data); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(name, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, damaged, 0o644); err != nil {
		t.Fatal(err)
	}
	_, st2, err := c.PutBlob(data)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := c.ReadBlob(h, 100, st2); err != nil || !bytes.Equal(b, data) || st2 == st {
		t.Errorf("put over a changed blob: %q, %v (stamp %+v, was %+v)", b, err, st2, st)
	}
}
