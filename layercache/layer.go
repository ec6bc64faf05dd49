package layercache

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// fileLayer is a layer whose blob is a file: a v1.Layer that ggcr never has
// to read to learn its digests or size.
type Layer struct {
	path        string
	digest      v1.Hash
	diffID      v1.Hash
	size        int64
	tarSize     int64
	compression Compression
	cached      bool // taken from the cache rather than written
	// cache and key are set when path is a blob of the cache: then it is
	// never linked into an output, and is read through a blobCheck.
	cache *Cache
	key   string
	blob  *os.File // the cache blob, open: its inode is the one checked
	stat  blobStat // of blob, as last checked or recorded
}

var _ v1.Layer = (*Layer)(nil)

// NewLayer is the layer whose blob is the file at path, with the digests and
// sizes the writer computed as it wrote it: nothing is read to learn them.
func NewLayer(path string, digest, diffID v1.Hash, size, tarSize int64, c Compression) *Layer {
	return &Layer{path: path, digest: digest, diffID: diffID, size: size, tarSize: tarSize, compression: c}
}

// Path is the file that holds the blob.
func (l *Layer) Path() string { return l.path }

// Cached reports whether the layer was taken from a cache, not written.
func (l *Layer) Cached() bool { return l.cached }

func (l *Layer) Digest() (v1.Hash, error) { return l.digest, nil }
func (l *Layer) DiffID() (v1.Hash, error) { return l.diffID, nil }
func (l *Layer) Size() (int64, error)     { return l.size, nil }

// Compressed returns the blob; a cache blob fails at its end if it changed
// after the cache checked it (see blobCheck).
func (l *Layer) Compressed() (io.ReadCloser, error) {
	if l.cache == nil {
		return os.Open(l.path)
	}
	return &blobCheck{r: io.NewSectionReader(l.blob, 0, l.size+1), l: l}, nil
}
func (l *Layer) MediaType() (types.MediaType, error) {
	return l.compression.MediaType(), nil
}

// Uncompressed returns the layer's tar, decompressing the blob.
func (l *Layer) Uncompressed() (io.ReadCloser, error) {
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	return l.compression.Decompressor(rc)
}

// UncompressedSize is the size of the layer's tar.
func (l *Layer) UncompressedSize() int64 { return l.tarSize }

// fileDigest returns the sha256 of a host file.
func FileDigest(name string) (string, error) {
	f, err := os.Open(filepath.Clean(name))
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
