package transfer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

// TestReadAhead: a stage delivers every byte of its source, in order,
// then the error that ended it, whatever sizes the source and its reader
// read in.
func TestReadAhead(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 10_000) // 160 kB
	errBroken := errors.New("broken")
	for _, tc := range []struct {
		name    string
		src     func() io.Reader
		want    []byte
		wantErr error
	}{
		{"empty", func() io.Reader { return bytes.NewReader(nil) }, nil, nil},
		{"whole", func() io.Reader { return bytes.NewReader(data) }, data, nil},
		{"one byte at a time", func() io.Reader { return iotest.OneByteReader(bytes.NewReader(data[:5000])) }, data[:5000], nil},
		{"data with EOF", func() io.Reader { return iotest.DataErrReader(bytes.NewReader(data)) }, data, nil},
		{"half reads", func() io.Reader { return iotest.HalfReader(bytes.NewReader(data)) }, data, nil},
		{"fails midway", func() io.Reader {
			return io.MultiReader(bytes.NewReader(data[:70_000]), iotest.ErrReader(errBroken))
		}, data[:70_000], errBroken},
		{"truncated", func() io.Reader {
			return io.MultiReader(bytes.NewReader(data[:3]), iotest.ErrReader(io.ErrUnexpectedEOF))
		}, data[:3], io.ErrUnexpectedEOF},
	} {
		for _, n := range []int{1, 1000, 7000} {
			t.Run(fmt.Sprintf("%s/reads of %d", tc.name, n), func(t *testing.T) {
				stop := make(chan struct{})
				defer close(stop)
				r := newReadAhead(tc.src(), 4096, 2, stop)
				got, err := readAllIn(r, n)
				if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
					t.Errorf("error %v, want %v", err, tc.wantErr)
				}
				if !bytes.Equal(got, tc.want) {
					t.Errorf("read %d bytes, want %d (a prefix: %v)", len(got), len(tc.want), bytes.HasPrefix(tc.want, got))
				}
				r.wait() // the goroutine is done once the end was delivered
			})
		}
	}
}

// readAllIn reads r to its end in reads of n bytes; EOF is no error.
func readAllIn(r io.Reader, n int) ([]byte, error) {
	var got []byte
	buf := make([]byte, n)
	for {
		m, err := r.Read(buf)
		got = append(got, buf[:m]...)
		if err == io.EOF {
			return got, nil
		}
		if err != nil {
			return got, err
		}
	}
}

// endlessReader counts its reads, and that none runs with another.
type endlessReader struct {
	reading, overlaps atomic.Int32
}

func (e *endlessReader) Read(p []byte) (int, error) {
	if e.reading.Add(1) > 1 {
		e.overlaps.Add(1)
	}
	defer e.reading.Add(-1)
	return len(p), nil
}

// TestReadAheadStop: a stage stopped before its source ends stops reading
// it; its reader gets errPipeClosed, and wait returns.
func TestReadAheadStop(t *testing.T) {
	src := &endlessReader{}
	stop := make(chan struct{})
	r := newReadAhead(src, 1024, 2, stop)
	if _, err := io.ReadFull(r, make([]byte, 10_000)); err != nil {
		t.Fatal(err)
	}
	close(stop)
	r.wait()
	if src.overlaps.Load() != 0 {
		t.Errorf("the source was read by two goroutines at once")
	}
	for {
		_, err := r.Read(make([]byte, 1024))
		if err == nil {
			continue // chunks already read may be delivered
		}
		if !errors.Is(err, errPipeClosed) {
			t.Errorf("Read after stop: %v, want errPipeClosed", err)
		}
		break
	}
}

// TestBadGzipHeader: a gzip layer whose header is damaged is refused as
// not matching its digest, naming its layer, not only as a bad header: its
// blob is read to its end to tell, before it is closed.
func TestBadGzipHeader(t *testing.T) {
	good := goodImage(t)
	ls, _ := good.Layers()
	h, _ := ls[1].Digest()
	dir := t.TempDir()
	flipped := filepath.Join(dir, "flipped")
	testenv.WriteOCILayout(t, good, flipped, "v1")
	p := filepath.Join(flipped, "blobs", h.Algorithm, h.Hex)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[3] = 0xe0 // reserved flag bits: not a gzip header
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	writeTar(t, flipped, filepath.Join(dir, "flipped.tar"), "")
	for _, ref := range []string{"oci:" + flipped + ":v1", "oci-archive:" + filepath.Join(dir, "flipped.tar") + ":v1"} {
		t.Run(ref, func(t *testing.T) {
			img, err := LoadBase(bg, mustParse(t, ref), amd64)
			if err != nil {
				t.Fatal(err)
			}
			_, err = ListImage(bg, img)
			if !errors.Is(err, ErrCorruptBlob) || !strings.Contains(err.Error(), "layer 2") {
				t.Errorf("ListImage: %v; want ErrCorruptBlob naming its layer 2", err)
			}
			if _, err := OpenBase(bg, img); !errors.Is(err, ErrCorruptBlob) || !strings.Contains(err.Error(), "layer 2") {
				t.Errorf("OpenBase: %v; want ErrCorruptBlob naming its layer 2", err)
			}
		})
	}
}

// TestUncompressedClosedEarly: a layer's tar, or its blob, closed before
// its end stops the goroutines that read it ahead, which read no more of it.
func TestUncompressedClosedEarly(t *testing.T) {
	img, err := mutate.AppendLayers(goodImage(t), bombLayer(t, 64<<20))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "bomb")
	testenv.WriteOCILayout(t, img, dir, "v1")
	base, err := LoadBase(bg, mustParse(t, "oci:"+dir+":v1"), amd64)
	if err != nil {
		t.Fatal(err)
	}
	ls, err := base.Layers()
	if err != nil {
		t.Fatal(err)
	}
	before := runtime.NumGoroutine()
	for _, r := range []struct {
		open func() (io.ReadCloser, error)
		n    int64 // less than the whole
	}{{ls[2].Uncompressed, 5 << 20}, {ls[2].Compressed, 20 << 10}} {
		for _, n := range []int64{0, 10, r.n} {
			rc, err := r.open()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.CopyN(io.Discard, rc, n); err != nil {
				t.Fatalf("reading %d bytes: %v", n, err)
			}
			if err := rc.Close(); err != nil {
				t.Errorf("Close after %d bytes: %v", n, err)
			}
			if err := rc.Close(); err != nil {
				t.Errorf("Close again after %d bytes: %v", n, err)
			}
		}
	}
	for i := 0; runtime.NumGoroutine() > before && i < 100; i++ {
		time.Sleep(10 * time.Millisecond) // a goroutine past its last statement
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after the layer was closed, %d before", n, before)
	}
}
