package layercache

import (
	"fmt"
	"io"
	"runtime"

	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/klauspost/pgzip"
)

// Compression is how a layer's tar is compressed. The zero value is Gzip.
type Compression int

// The compressions a layer can have, with their OCI media types.
const (
	Gzip         Compression = iota // application/vnd.oci.image.layer.v1.tar+gzip: read by every runtime
	Zstd                            // application/vnd.oci.image.layer.v1.tar+zstd: smaller, faster; newer runtimes only
	Uncompressed                    // application/vnd.oci.image.layer.v1.tar
)

// DefaultGzipLevel is the gzip level used unless one is asked for: the
// fastest level whose output is within 2% of level 6's. Measured with
// klauspost/pgzip v1.3.0 (klauspost/compress v1.20.3) on a tar of node 20.20.2
// (/usr/bin/node) and its libraries (104 MB; `make bench` prints the table):
// level 6 gives 38.55% of the tar, level 5 39.01% (+1.2%), level 4 39.97%
// (+3.7%), level 1 43.88% (+13.8%). These are klauspost's levels, which trade
// ratio for speed: zlib's gzip -6 gives 36.61%, 5% less than klauspost's
// level 6, and no klauspost level comes within 2% of it (level 9: +2.8%, and
// seven times slower than level 5).
const DefaultGzipLevel = 5

// DefaultZstdLevel is the zstd level used unless one is asked for, the
// zstd command's default (klauspost/compress's SpeedDefault). klauspost has
// four encoders: levels 1-2, 3-5, 6-9 and 10-22 each give the same output.
const DefaultZstdLevel = 3

// gzipBlock is the size of the blocks pgzip compresses in parallel. The
// output depends on it (each block restarts the compressor, with the previous
// 32 KiB as dictionary) but not on how many blocks are compressed at once, so
// it is fixed: the same layer has the same digest on any machine. 256 KiB
// rather than pgzip's 1 MiB: node's layer grows by 0.06%, but the blocks in
// flight take a quarter of the memory, which a short pack pays for in page
// faults, and the last blocks of a small layer spread over the cores: the
// C++ hello packs in 92 ms instead of 106 and node in 720 ms instead of 757.
const gzipBlock = 256 << 10

var compressionNames = map[Compression]string{Gzip: "gzip", Zstd: "zstd", Uncompressed: "none"}

func (c Compression) String() string {
	if s, ok := compressionNames[c]; ok {
		return s
	}
	return fmt.Sprintf("Compression(%d)", int(c))
}

// ParseCompression parses "gzip", "zstd" or "none".
func ParseCompression(s string) (Compression, error) {
	for c, n := range compressionNames {
		if n == s {
			return c, nil
		}
	}
	return 0, fmt.Errorf("unknown compression %q: want gzip, zstd or none", s)
}

// MediaType is the OCI media type of a layer compressed with c.
func (c Compression) MediaType() types.MediaType {
	switch c {
	case Zstd:
		return types.OCILayerZStd
	case Uncompressed:
		return types.OCIUncompressedLayer
	}
	return types.OCILayer
}

// level checks level for c and returns it, or c's default for 0.
func (c Compression) Level(level int) (int, error) {
	switch {
	case c == Gzip && level == 0:
		return DefaultGzipLevel, nil
	case c == Gzip && level >= 1 && level <= 9:
		return level, nil
	case c == Zstd && level == 0:
		return DefaultZstdLevel, nil
	case c == Zstd && level >= 1 && level <= 22:
		return level, nil
	case c == Uncompressed && level == 0:
		return 0, nil
	case c == Gzip:
		return 0, fmt.Errorf("gzip compression level %d: want 1 (fastest) to 9 (smallest)", level)
	case c == Zstd:
		return 0, fmt.Errorf("zstd compression level %d: want 1 (fastest) to 22 (smallest)", level)
	case c == Uncompressed:
		return 0, fmt.Errorf("compression level %d given without compression: drop it, or choose gzip or zstd", level)
	}
	return 0, fmt.Errorf("unknown compression %v", c)
}

// compressor returns a writer that compresses into w with c at level (as
// returned by c.level), using every core. For Uncompressed it is w itself,
// with a Close that does nothing.
func (c Compression) Compressor(w io.Writer, level int) (io.WriteCloser, error) {
	switch c {
	case Gzip:
		zw, err := pgzip.NewWriterLevel(w, level)
		if err != nil {
			return nil, err
		}
		if err := zw.SetConcurrency(gzipBlock, 2*runtime.GOMAXPROCS(0)); err != nil {
			return nil, err
		}
		return zw, nil
	case Zstd:
		return newZstdWriter(w, level)
	case Uncompressed:
		return nopWriteCloser{w}, nil
	}
	return nil, fmt.Errorf("unknown compression %v", c)
}

// decompressor returns the tar read from r, a blob compressed with c.
func (c Compression) Decompressor(r io.ReadCloser) (io.ReadCloser, error) {
	switch c {
	case Gzip:
		zr, err := gzip.NewReader(r)
		if err != nil {
			r.Close()
			return nil, err
		}
		return readCloser{zr, func() error { zr.Close(); return r.Close() }}, nil
	case Zstd:
		zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1))
		if err != nil {
			r.Close()
			return nil, err
		}
		return readCloser{zr, func() error { zr.Close(); return r.Close() }}, nil
	case Uncompressed:
		return r, nil
	}
	r.Close()
	return nil, fmt.Errorf("unknown compression %v", c)
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

type readCloser struct {
	io.Reader
	close func() error
}

func (r readCloser) Close() error { return r.close() }
