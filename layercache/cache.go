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
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"
)

// Cache keeps layer blobs between runs, so that a layer made of the same
// files with the same settings is taken from it instead of being written
// again, and a layer several images share (the glibc set of --layers=libs)
// is written once. Its directory holds:
//
//	blobs/sha256/HEX   layer blobs, named by their digest
//	layers/KEY.json    for each layer key (see layerKey), the blob's digests, sizes and compression
//	tmp/               files being written, renamed into blobs/ and layers/ when complete
//
// Every file appears by an atomic rename of a complete file, and blobs are
// named by their content, so any number of processes may use one cache at
// once without locks: two that write the same entry write the same bytes. An
// entry is used only if its blob still has the recorded size and digest; a
// corrupt or half-deleted entry is written again. Nothing is ever evicted:
// remove the directory to reclaim the space.
type Cache struct {
	dir string
}

// OpenCache opens (creating it if needed) the cache in dir.
func OpenCache(dir string) (*Cache, error) {
	if dir == "" {
		return nil, errors.New("cache: no directory given")
	}
	for _, d := range []string{"blobs/sha256", "layers", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrUnusable, dir, err)
		}
	}
	c := &Cache{dir: dir}
	c.removeStaleTemps()
	return c, nil
}

// Dir is the cache's directory.
func (c *Cache) Dir() string { return c.dir }

// staleTemp is how old a temporary file must be before OpenCache removes it:
// far longer than writing any layer takes, so a live writer never loses it.
const staleTemp = 24 * time.Hour

// removeStaleTemps removes what processes that died while writing left behind.
func (c *Cache) removeStaleTemps() {
	entries, err := os.ReadDir(filepath.Join(c.dir, "tmp"))
	if err != nil {
		return
	}
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > staleTemp {
			_ = os.Remove(filepath.Join(c.dir, "tmp", e.Name()))
		}
	}
}

// cacheEntry is layers/KEY.json.
type cacheEntry struct {
	Digest      v1.Hash `json:"digest"`
	DiffID      v1.Hash `json:"diff_id"`
	Size        int64   `json:"size"`
	TarSize     int64   `json:"tar_size"`
	Compression string  `json:"compression"`
	// Blob is what stat(2) said of the blob when its content was last
	// checked; nil until it is.
	Blob *blobStat `json:"blob,omitempty"`
}

func (c *Cache) entryPath(key string) string { return filepath.Join(c.dir, "layers", key+".json") }
func (c *Cache) blobPath(h v1.Hash) string {
	return filepath.Join(c.dir, "blobs", h.Algorithm, h.Hex)
}

// ErrUnusable is wrapped when a cache cannot be opened, read or written:
// choose another directory, or do without a cache.
var ErrUnusable = errors.New("unusable layer cache")

// ErrCorrupt is wrapped by Get's error when an entry exists but cannot be
// used; the layer is then written again and the entry replaced.
var ErrCorrupt = errors.New("corrupt cache entry")

// get returns the layer cached under key, nil if there is none, or an error
// wrapping ErrCacheCorrupt if the entry is damaged.
//
// A blob is trusted without reading it when stat(2) still says what the
// entry recorded (see blobStat); otherwise it is hashed, and if it is whole
// the entry records its stat again. Hashing node's 40 MB blob on every use
// cost a third of a cached pack.
func (c *Cache) Get(key string) (*Layer, error) {
	raw, err := os.ReadFile(c.entryPath(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var e cacheEntry
	if err := json.Unmarshal(raw, &e); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrCorrupt, c.entryPath(key), err)
	}
	comp, err := ParseCompression(e.Compression)
	if err != nil || e.Digest.Algorithm != "sha256" || len(e.Digest.Hex) != sha256.Size*2 {
		return nil, fmt.Errorf("%w: %s: bad compression %q or digest %q", ErrCorrupt, c.entryPath(key), e.Compression, e.Digest)
	}
	l := &Layer{path: c.blobPath(e.Digest), digest: e.Digest, diffID: e.DiffID, size: e.Size, tarSize: e.TarSize,
		compression: comp, cached: true}
	if err := c.pin(l, key); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if e.Blob != nil && *e.Blob == l.stat && l.stat.Size == e.Size {
		return l, nil
	}
	if err := c.checkBlob(l); err != nil {
		l.blob.Close()
		return nil, err
	}
	e.Blob = &l.stat
	_ = c.record(key, e) // if it fails, the next use checks the blob again
	return l, nil
}

// pin opens l's cache blob and keeps it open in l, with its stat: l reads
// that inode from then on, whatever is later renamed over its name.
func (c *Cache) pin(l *Layer, key string) error {
	f, err := os.Open(l.path)
	if err != nil {
		return err
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		f.Close()
		return err
	}
	l.cache, l.key, l.blob, l.stat = c, key, f, statOf(&st)
	return nil
}

// checkBlob hashes the pinned blob of l and fails unless it has l's size
// and digest. It first makes the blob read-only with the mtime blobMtime
// (unless it is already: that would change its ctime, which other
// processes reading it compare), and sets l.stat to the blob's stat if
// nothing changed it while it was read.
func (c *Cache) checkBlob(l *Layer) error {
	fd := int(l.blob.Fd())
	var err error
	if l.stat.Mode&0o222 != 0 {
		err = unix.Fchmod(fd, 0o444)
	}
	if err == nil && l.stat.Mtime != blobMtime.UnixNano() {
		err = unix.Futimes(fd, []unix.Timeval{unix.NsecToTimeval(blobMtime.UnixNano()), unix.NsecToTimeval(blobMtime.UnixNano())})
	}
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrCorrupt, l.path, err)
	}
	before, err := fstatBlob(l.blob)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	h := sha256.New()
	n, err := io.Copy(h, io.NewSectionReader(l.blob, 0, 1<<62))
	if err != nil {
		return fmt.Errorf("%w: reading %s: %w", ErrCorrupt, l.path, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); n != l.size || got != l.digest.Hex {
		return fmt.Errorf("%w: %s has %d bytes with digest sha256:%s, the entry says %d bytes, %s",
			ErrCorrupt, l.path, n, got, l.size, l.digest)
	}
	after, err := fstatBlob(l.blob)
	if err != nil || !after.unchangedSince(before) {
		return fmt.Errorf("%w: %s changed while it was checked", ErrCorrupt, l.path)
	}
	l.stat = after
	return nil
}

// put moves the blob of l (written in c.TmpDir()) into the cache, read-only,
// and records it under key; l then points at the blob in the cache.
func (c *Cache) Put(key string, l *Layer) error {
	blob := c.blobPath(l.digest)
	if err := os.Chmod(l.path, 0o444); err != nil {
		return err
	}
	if err := os.Chtimes(l.path, blobMtime, blobMtime); err != nil {
		return err
	}
	if err := os.Rename(l.path, blob); err != nil {
		return err
	}
	// The blob was just written and hashed on the way; another process may
	// have renamed its own copy over it since, which stat tells.
	l.path = blob
	if err := c.pin(l, key); err != nil {
		return err
	}
	e := cacheEntry{Digest: l.digest, DiffID: l.diffID, Size: l.size, TarSize: l.tarSize, Compression: l.compression.String(), Blob: &l.stat}
	return c.record(key, e)
}

// record writes the entry for key, atomically.
func (c *Cache) record(key string, e cacheEntry) error {
	raw, err := json.Marshal(e)
	if err != nil {
		return err
	}
	f, err := CreateTemp(filepath.Join(c.TmpDir(), key+".json"))
	if err != nil {
		return err
	}
	_, err = f.Write(append(raw, '\n'))
	if err == nil {
		err = f.Chmod(0o444)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), c.entryPath(key))
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// drop removes l's entry, and its blob, found damaged after get trusted
// it: the next use writes the layer again.
func (c *Cache) Drop(l *Layer) {
	_ = os.Remove(c.entryPath(l.key))
	if st, err := statBlob(l.path); err == nil && st.Dev == l.stat.Dev && st.Ino == l.stat.Ino {
		_ = os.Remove(l.path) // not a good blob another process renamed there since
	}
}

// tmpDir is where layers are written before put renames them into the cache.
func (c *Cache) TmpDir() string { return filepath.Join(c.dir, "tmp") }
