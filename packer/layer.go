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

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/scratchpack/scratchpack/layercache"
)

// LayerOptions controls how a layer is written.
type LayerOptions struct {
	Dir         string                 // where the blob is written
	MTime       time.Time              // the time of every entry (SOURCE_DATE_EPOCH); zero means the Unix epoch
	Compression layercache.Compression // gzip (the zero value), zstd or none
	Level       int                    // compression level; 0 means the compression's default
}

// WriteLayer writes the files of s as one reproducible tar layer into a new
// file in o.Dir, in a single pass: tar → compressor → file, with the
// uncompressed digest (diff_id), the compressed digest and the size computed
// on the way; no byte is read, compressed or hashed twice. Entries are sorted,
// owned 0:0, with fixed modes and times and no user or group names. The
// layer's blob stays in that file, which the caller removes.
func WriteLayer(s *FileSet, o LayerOptions) (v1.Layer, error) {
	return writeLayerFile(s, o)
}

func writeLayerFile(s *FileSet, o LayerOptions) (*layercache.Layer, error) {
	level, err := o.Compression.Level(o.Level)
	if err != nil {
		return nil, err
	}
	if o.MTime.IsZero() {
		o.MTime = time.Unix(0, 0)
	}
	f, err := layercache.CreateTemp(filepath.Join(o.Dir, "layer"))
	if err != nil {
		return nil, err
	}
	l, err := writeLayer(f, s, o.Compression, level, o.MTime)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return nil, err
	}
	return l, nil
}

func writeLayer(f *os.File, s *FileSet, c layercache.Compression, level int, mtime time.Time) (*layercache.Layer, error) {
	compressed := &hashWriter{h: sha256.New(), w: f}
	zw, err := c.Compressor(compressed, level)
	if err != nil {
		return nil, err
	}
	// Without compression the blob is the tar: one hash gives both digests.
	uncompressed := compressed
	if c != layercache.Uncompressed {
		uncompressed = &hashWriter{h: sha256.New(), w: zw}
	}
	tw := tar.NewWriter(uncompressed)
	buf := make([]byte, copyBuffer)
	for _, e := range s.Entries() {
		if err := writeEntry(tw, e, mtime, buf); err != nil {
			zw.Close()
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		zw.Close()
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return layercache.NewLayer(f.Name(), compressed.sum(), uncompressed.sum(), compressed.n, uncompressed.n, c), nil
}

// copyBuffer is the size of the reads from source files: large enough that
// each read costs little next to the work on its bytes, small enough that the
// buffer is cheap to fault in. Fresh memory is dear on virtual machines (12 µs
// a 4 KiB page where `make bench` runs): a 1 MiB buffer cost 8 ms of a 45 ms
// uncompressed pack of the C++ hello.
const copyBuffer = 1 << 17

func writeEntry(tw *tar.Writer, e *Entry, mtime time.Time, buf []byte) error {
	h := &tar.Header{
		Name:    strings.TrimPrefix(e.Path, "/"),
		Mode:    UnixMode(e.Mode),
		ModTime: mtime,
		Uid:     e.UID,
		Gid:     e.GID,
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
	// Only the Reader: io.CopyBuffer would otherwise use os.File's WriteTo
	// and its own 32 KiB buffer.
	n, err := io.CopyBuffer(tw, struct{ io.Reader }{src}, buf)
	if err != nil {
		if n >= e.Size {
			return fmt.Errorf("%s grew while it was being packed (more than %d bytes): pack it again: %w", e.Source, e.Size, err)
		}
		return fmt.Errorf("copying %s: %w", e.Source, err)
	}
	if n != e.Size {
		return fmt.Errorf("%s changed while it was being packed (%d bytes, expected %d): pack it again", e.Source, n, e.Size)
	}
	return nil
}

// UnixMode is the Unix mode word of m, as a tar header holds it: permission
// bits, the sticky bit (/tmp is 1777), and the setuid and setgid bits
// (kept with --keep-suid): 04755 for a set-uid program.
func UnixMode(m fs.FileMode) int64 {
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
