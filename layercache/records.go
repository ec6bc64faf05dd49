package layercache

import (
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
// names are kept by digest in blobs/sha256/, as layer blobs are, and are
// checked against their digest whenever they are read.

// PutBlob stores data as a blob named by its sha256 digest, which it
// returns. A blob already there is left as it is (it is read and checked
// on use, like any other).
func (c *Cache) PutBlob(data []byte) (v1.Hash, error) {
	sum := sha256.Sum256(data)
	h := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
	if fi, err := os.Stat(c.blobPath(h)); err == nil && fi.Size() == int64(len(data)) {
		return h, nil
	}
	if err := c.writeAtomic(c.blobPath(h), data); err != nil {
		return h, fmt.Errorf("%w: %s: %w", ErrUnusable, c.dir, err)
	}
	return h, nil
}

// ReadBlob returns the blob h of at most max bytes, checked against h: a
// blob that is not there is fs.ErrNotExist, one that does not match (or
// is larger) ErrCorrupt, and one that does not match is removed.
func (c *Cache) ReadBlob(h v1.Hash, max int64) ([]byte, error) {
	if h.Algorithm != "sha256" || len(h.Hex) != sha256.Size*2 {
		return nil, fmt.Errorf("%w: blob name %q", ErrCorrupt, h)
	}
	f, err := os.Open(c.blobPath(h))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() > max {
		return nil, fmt.Errorf("%w: %s does not have its digest", ErrCorrupt, c.blobPath(h))
	}
	// One buffer of the blob's size, read at once: io.ReadAll's doubling
	// copied and zeroed the 2 MB of a libc several times over, which was
	// most of the time of a pack on a cached base.
	b := make([]byte, fi.Size())
	if _, err := io.ReadFull(f, b); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: %s does not have its digest", ErrCorrupt, c.blobPath(h))
		}
		return nil, err
	}
	if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != h.Hex {
		// Dropped, so that PutBlob, which leaves a blob of the right size
		// in place, writes it again.
		_ = os.Remove(c.blobPath(h))
		return nil, fmt.Errorf("%w: %s does not have its digest (dropped)", ErrCorrupt, c.blobPath(h))
	}
	return b, nil
}

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
