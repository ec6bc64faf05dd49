package layercache

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand"
	"runtime"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// zstdInput is size bytes that compress about as well as a program does.
func zstdInput(size int) []byte {
	rng := rand.New(rand.NewSource(2))
	words := [][]byte{[]byte("main"), []byte("\x00\x00\x00\x00"), []byte("GLIBC_2.34"), []byte("\x48\x89\xe5")}
	var b bytes.Buffer
	for b.Len() < size {
		if rng.Intn(4) == 0 {
			b.WriteByte(byte(rng.Intn(256)))
			continue
		}
		b.Write(words[rng.Intn(len(words))])
	}
	return b.Bytes()[:size]
}

// zstdFrames walks the frames of a zstd stream (RFC 8878: a header, blocks
// up to the one marked last, an optional checksum), checks that each says
// how much it holds, at most zstdFrame bytes, and decodes alone, and returns
// how many there are.
func zstdFrames(t *testing.T, blob []byte) int {
	t.Helper()
	d, err := zstd.NewReader(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	n := 0
	for len(blob) > 0 {
		var h zstd.Header
		if err := h.Decode(blob); err != nil {
			t.Fatalf("frame %d: %v", n, err)
		}
		if !h.HasFCS || h.FrameContentSize > zstdFrame {
			t.Fatalf("frame %d: content size %d (known: %v), want at most %d", n, h.FrameContentSize, h.HasFCS, zstdFrame)
		}
		end := h.HeaderSize
		for last := false; !last; {
			if end+3 > len(blob) {
				t.Fatalf("frame %d: truncated", n)
			}
			bh := int(blob[end]) | int(blob[end+1])<<8 | int(blob[end+2])<<16
			size := bh >> 3
			last = bh&1 == 1
			if (bh>>1)&3 == 1 { // RLE: one byte, repeated size times
				size = 1
			}
			end += 3 + size
		}
		if h.HasCheckSum {
			end += 4
		}
		out, err := d.DecodeAll(blob[:end], nil)
		if err != nil || uint64(len(out)) != h.FrameContentSize {
			t.Fatalf("frame %d alone: %d bytes, %v; its header says %d", n, len(out), err, h.FrameContentSize)
		}
		blob = blob[end:]
		n++
	}
	return n
}

// TestZstdWriter: what goes in, in writes of any size, comes out of any zstd
// decoder, as independent frames of at most zstdFrame bytes, and the blob is
// the same whatever the number of cores.
func TestZstdWriter(t *testing.T) {
	for _, tc := range []struct {
		name   string
		size   int
		frames int
	}{
		{"empty", 0, 0},
		{"small", 1000, 1},
		{"one full frame", zstdFrame, 1},
		{"three frames", 2*zstdFrame + 12345, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := zstdInput(tc.size)
			var sums [][sha256.Size]byte
			for _, procs := range []int{1, 2, 8} {
				old := runtime.GOMAXPROCS(procs)
				var blob bytes.Buffer
				z, err := newZstdWriter(&blob, DefaultZstdLevel)
				if err != nil {
					t.Fatal(err)
				}
				rng := rand.New(rand.NewSource(int64(procs)))
				for rest := in; len(rest) > 0; {
					k := min(len(rest), 1+rng.Intn(3<<20))
					if n, err := z.Write(rest[:k]); n != k || err != nil {
						t.Fatalf("Write: %d, %v", n, err)
					}
					rest = rest[k:]
				}
				if err := z.Close(); err != nil {
					t.Fatal(err)
				}
				runtime.GOMAXPROCS(old)

				d, err := zstd.NewReader(bytes.NewReader(blob.Bytes()))
				if err != nil {
					t.Fatal(err)
				}
				out, err := io.ReadAll(d)
				d.Close()
				if err != nil || !bytes.Equal(out, in) {
					t.Fatalf("with %d cores: decoded %d bytes (%v), want the %d written", procs, len(out), err, len(in))
				}
				if got := zstdFrames(t, blob.Bytes()); got != tc.frames {
					t.Errorf("with %d cores: %d frames, want %d", procs, got, tc.frames)
				}
				sums = append(sums, sha256.Sum256(blob.Bytes()))
			}
			if sums[0] != sums[1] || sums[0] != sums[2] {
				t.Errorf("blobs differ with 1, 2 and 8 cores")
			}
		})
	}
}

// failingWriter fails every write after the first n bytes.
type failingWriter struct{ n int }

var errDiskFull = errors.New("disk full")

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		k := w.n
		w.n = 0
		return k, errDiskFull
	}
	w.n -= len(p)
	return len(p), nil
}

// TestZstdWriterError: an error writing the blob comes back from a later
// Write or from Close, and Close still returns.
func TestZstdWriterError(t *testing.T) {
	z, err := newZstdWriter(&failingWriter{n: 100}, DefaultZstdLevel)
	if err != nil {
		t.Fatal(err)
	}
	in := zstdInput(5 * zstdFrame)
	var werr error
	for rest := in; len(rest) > 0 && werr == nil; {
		k := min(len(rest), 1<<20)
		_, werr = z.Write(rest[:k])
		rest = rest[k:]
	}
	cerr := z.Close()
	if !errors.Is(cerr, errDiskFull) {
		t.Errorf("Close: %v, want %v (a Write said %v)", cerr, errDiskFull, werr)
	}
	if err := z.Close(); err == nil {
		t.Error("second Close: no error")
	}
}
