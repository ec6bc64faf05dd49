package layercache

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Records and small blobs: what the cache keeps besides layers (the index
// of a base image and the files read from it, see transfer.OpenBase).
// A record is a small JSON document under bases/KEY.json; the blobs it
// names are kept by digest in blobs/sha256/, as layer blobs are, with the
// stamps PutBlob gave them: a blob that still has its stamp was not
// written since, and is read in place (a library's few parts that its
// analysis reads); any other is read whole and checked against its digest.

// PutBlob stores data as a blob named by its sha256 digest, and returns
// the digest and the blob's stamp, which vouches for its bytes afterwards
// (see ReadBlob): its mtime is set to blobMtime once it holds data, so that
// any later write to it, even one in the same tick of the file system's
// clock, changes its stamp. A blob already there is read, and written again
// unless it holds data.
func (c *Cache) PutBlob(data []byte) (v1.Hash, Stamp, error) {
	sum := sha256.Sum256(data)
	h := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
	name := c.blobPath(h)
	if old, err := os.ReadFile(name); err != nil || !bytes.Equal(old, data) {
		if err := c.writeAtomic(name, data); err != nil {
			return h, Stamp{}, fmt.Errorf("%w: %s: %w", ErrUnusable, c.dir, err)
		}
	}
	st, err := StampPath(name)
	if err == nil && st.Mtime != blobMtime.UnixNano() {
		// Not for a blob that has it: setting it changes the ctime, and
		// so the stamps other records keep of a blob they share.
		if err = os.Chtimes(name, blobMtime, blobMtime); err == nil {
			st, err = StampPath(name)
		}
	}
	if err != nil {
		return h, Stamp{}, fmt.Errorf("%w: %s: %w", ErrUnusable, c.dir, err)
	}
	return h, st, nil
}

// trusted reports whether a blob whose stamp is now may be taken for the
// bytes it held when PutBlob returned st: it has not been written since.
func trusted(now, st Stamp) bool {
	return st != Stamp{} && now == st && now.Mtime == blobMtime.UnixNano()
}

// ReadBlob returns the blob h of at most max bytes: read, if the blob
// still has st, the stamp PutBlob gave it; else read and checked against
// h. A blob that is not there is fs.ErrNotExist, one that does not match
// (or is larger) ErrCorrupt, and one that does not match is removed.
func (c *Cache) ReadBlob(h v1.Hash, max int64, st Stamp) ([]byte, error) {
	if h.Algorithm != "sha256" || len(h.Hex) != sha256.Size*2 {
		return nil, fmt.Errorf("%w: blob name %q", ErrCorrupt, h)
	}
	f, err := os.Open(c.blobPath(h))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	before, err := StampOf(f)
	if err != nil {
		return nil, err
	}
	if before.Size > max {
		return nil, fmt.Errorf("%w: %s does not have its digest", ErrCorrupt, c.blobPath(h))
	}
	// One buffer of the blob's size, read at once: io.ReadAll's doubling
	// copied and zeroed the 2 MB of a libc several times over, which was
	// most of the time of a pack on a cached base.
	b := make([]byte, before.Size)
	if _, err := io.ReadFull(f, b); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: %s does not have its digest", ErrCorrupt, c.blobPath(h))
		}
		return nil, err
	}
	if trusted(before, st) {
		if after, err := StampOf(f); err == nil && after == before {
			return b, nil
		}
	}
	if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != h.Hex {
		// Dropped, so that PutBlob writes it again.
		_ = os.Remove(c.blobPath(h))
		return nil, fmt.Errorf("%w: %s does not have its digest (dropped)", ErrCorrupt, c.blobPath(h))
	}
	return b, nil
}

// OpenBlob opens the blob h for reading in place, if it still has st, the
// stamp PutBlob gave it, and is size bytes; else it fails with ErrStale
// (then ReadBlob reads and checks it). The caller compares the file's stamp
// with st after each read (BlobFile does).
func (c *Cache) OpenBlob(h v1.Hash, size int64, st Stamp) (*BlobFile, error) {
	if h.Algorithm != "sha256" || len(h.Hex) != sha256.Size*2 {
		return nil, fmt.Errorf("%w: blob name %q", ErrCorrupt, h)
	}
	f, err := os.Open(c.blobPath(h))
	if err != nil {
		return nil, err
	}
	if now, err := StampOf(f); err != nil || !trusted(now, st) || now.Size != size {
		f.Close()
		return nil, ErrStale
	}
	return &BlobFile{f: f, st: st}, nil
}

// ErrStale means a blob of the cache is not as PutBlob left it: it is to
// be read and checked against its digest instead.
var ErrStale = errors.New("the cache blob changed since it was written")

// BlobFile is a blob of the cache read in place (see OpenBlob): each read
// fails with ErrStale unless the blob still has its stamp afterwards.
type BlobFile struct {
	f  *os.File
	st Stamp
}

// ReadAt reads the blob at off, as os.File does.
func (b *BlobFile) ReadAt(p []byte, off int64) (int, error) {
	n, err := b.f.ReadAt(p, off)
	if now, serr := StampOf(b.f); serr != nil || now != b.st {
		return 0, fmt.Errorf("%w: %s", ErrStale, b.f.Name())
	}
	return n, err
}

// Size is the blob's size.
func (b *BlobFile) Size() int64 { return b.st.Size }

// Close closes the blob's file.
func (b *BlobFile) Close() error { return b.f.Close() }

// ReadRecord decodes the record key of kind into v; ok is false if there
// is none. A record that cannot be decoded is ErrCorrupt.
func (c *Cache) ReadRecord(kind, key string, v any) (ok bool, err error) {
	raw, err := os.ReadFile(c.recordPath(kind, key))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return false, fmt.Errorf("%w: %s: %w", ErrCorrupt, c.recordPath(kind, key), err)
	}
	return true, nil
}

// WriteRecord writes v as the record key of kind, atomically.
func (c *Cache) WriteRecord(kind, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	p := c.recordPath(kind, key)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrUnusable, c.dir, err)
	}
	if err := c.writeAtomic(p, append(raw, '\n')); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrUnusable, c.dir, err)
	}
	return nil
}

func (c *Cache) recordPath(kind, key string) string {
	return filepath.Join(c.dir, kind, key+".json")
}

// writeAtomic writes data to a temporary file and renames it, read-only,
// to name.
func (c *Cache) writeAtomic(name string, data []byte) error {
	f, err := CreateTemp(filepath.Join(c.TmpDir(), filepath.Base(name)))
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(0o444)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), name)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}
