package packer

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// LayerOptions controls how a layer is written.
type LayerOptions struct {
	Dir   string    // where the compressed blob is kept until it is written out
	MTime time.Time // the time of every entry (SOURCE_DATE_EPOCH, else the epoch)
	Level int       // gzip level; 0 means gzip.DefaultCompression
}

// WriteLayer writes the files of s as one reproducible gzip tar layer, in a
// single pass: tar → gzip → file, with the uncompressed digest (diff_id) and
// the compressed digest computed on the way. Entries are sorted, owned 0:0,
// with fixed modes and times and no user or group names.
func WriteLayer(s *FileSet, o LayerOptions) (v1.Layer, error) {
	f, err := os.CreateTemp(o.Dir, "layer-*.tar.gz")
	if err != nil {
		return nil, err
	}
	l, err := writeLayer(f, s, o)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return nil, err
	}
	return l, nil
}

func writeLayer(f *os.File, s *FileSet, o LayerOptions) (v1.Layer, error) {
	level := o.Level
	if level == 0 {
		level = gzip.DefaultCompression
	}
	compressed := &hashWriter{h: sha256.New(), w: f}
	zw, err := gzip.NewWriterLevel(compressed, level)
	if err != nil {
		return nil, err
	}
	uncompressed := &hashWriter{h: sha256.New(), w: zw}
	tw := tar.NewWriter(uncompressed)
	for _, e := range s.Entries() {
		if err := writeEntry(tw, e, o.MTime); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return partial.CompressedToLayer(&fileLayer{
		path:     f.Name(),
		digest:   compressed.sum(),
		diffID:   uncompressed.sum(),
		size:     compressed.n,
		tarSize:  uncompressed.n,
		mediaTyp: types.OCILayer,
	})
}

func writeEntry(tw *tar.Writer, e *Entry, mtime time.Time) error {
	h := &tar.Header{
		Name:    strings.TrimPrefix(e.Path, "/"),
		Mode:    tarMode(e.Mode),
		ModTime: mtime,
		Format:  tar.FormatPAX,
	}
	switch e.Type {
	case TypeDir:
		h.Typeflag, h.Name = tar.TypeDir, h.Name+"/"
	case TypeSymlink:
		h.Typeflag, h.Linkname, h.Mode = tar.TypeSymlink, e.Target, 0o777
	case TypeFile:
		h.Typeflag, h.Size = tar.TypeReg, e.Size
	}
	if err := tw.WriteHeader(h); err != nil {
		return fmt.Errorf("writing %s to the layer: %w", e.Path, err)
	}
	if e.Type != TypeFile {
		return nil
	}
	if e.Source == "" {
		_, err := tw.Write(e.Data)
		return err
	}
	src, err := os.Open(e.Source)
	if err != nil {
		return err
	}
	defer src.Close()
	n, err := io.Copy(tw, src)
	if err != nil {
		return fmt.Errorf("copying %s: %w", e.Source, err)
	}
	if n != e.Size {
		return fmt.Errorf("%s changed while it was being packed (%d bytes, expected %d)", e.Source, n, e.Size)
	}
	return nil
}

// tarMode is the tar header mode of m: permission bits, the sticky bit
// (/tmp is 1777), and the setuid and setgid bits kept with --keep-suid.
func tarMode(m fs.FileMode) int64 {
	mode := int64(m.Perm())
	if m&fs.ModeSticky != 0 {
		mode |= 0o1000
	}
	if m&fs.ModeSetgid != 0 {
		mode |= 0o2000
	}
	if m&fs.ModeSetuid != 0 {
		mode |= 0o4000
	}
	return mode
}

// suidBits is the setuid and setgid bits of fi when keep is set (--keep-suid),
// and none otherwise: images get them only when asked.
func suidBits(fi fs.FileInfo, keep bool) fs.FileMode {
	if !keep {
		return 0
	}
	return fi.Mode() & (fs.ModeSetuid | fs.ModeSetgid)
}

// fileLayer is a compressed layer kept in a file; it implements
// partial.CompressedLayer (and DiffID, so that ggcr never decompresses it to
// learn it).
type fileLayer struct {
	path     string
	digest   v1.Hash
	diffID   v1.Hash
	size     int64
	tarSize  int64
	mediaTyp types.MediaType
}

var _ partial.CompressedLayer = (*fileLayer)(nil)

func (l *fileLayer) Digest() (v1.Hash, error)            { return l.digest, nil }
func (l *fileLayer) DiffID() (v1.Hash, error)            { return l.diffID, nil }
func (l *fileLayer) Size() (int64, error)                { return l.size, nil }
func (l *fileLayer) MediaType() (types.MediaType, error) { return l.mediaTyp, nil }
func (l *fileLayer) Compressed() (io.ReadCloser, error)  { return os.Open(l.path) }

// UncompressedSize is the size of the layer's tar.
func (l *fileLayer) UncompressedSize() int64 { return l.tarSize }

// hashWriter counts and hashes what passes through it.
type hashWriter struct {
	h hash.Hash
	w io.Writer
	n int64
}

func (w *hashWriter) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	w.h.Write(p[:n])
	w.n += int64(n)
	return n, err
}

func (w *hashWriter) sum() v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(w.h.Sum(nil))}
}

// fileDigest returns the sha256 of a host file.
func fileDigest(name string) (string, error) {
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
