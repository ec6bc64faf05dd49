package transfer

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"math/rand"
	"testing"
)

// TestWindowReader: a tar read in place through a window gives the same
// entries, offsets and contents as through an io.SectionReader, for files
// smaller and larger than the window; a stretch longer than its file ends
// in an error, not a loop.
func TestWindowReader(t *testing.T) {
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	rng := rand.New(rand.NewSource(1))
	for i, size := range []int{0, 1, 511, 512, 513, 3000, windowSize - 100, windowSize, windowSize + 1, 3*windowSize + 7, 10} {
		data := make([]byte, size)
		rng.Read(data)
		if err := tw.WriteHeader(&tar.Header{Name: string(rune('a'+i)) + ".bin", Mode: 0o644, Size: int64(size), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	file := append(append([]byte("some bytes before"), tb.Bytes()...), "and after"...)
	base, size := int64(len("some bytes before")), int64(tb.Len())

	type entry struct {
		name string
		off  int64
		data []byte
	}
	// read reads every entry, and the content of every other one.
	read := func(r io.Reader, offset func() int64) ([]entry, error) {
		var out []entry
		tr := tar.NewReader(r)
		for i := 0; ; i++ {
			h, err := tr.Next()
			if err == io.EOF {
				return out, nil
			}
			if err != nil {
				return out, err
			}
			e := entry{name: h.Name, off: offset()}
			if i%2 == 0 {
				if e.data, err = io.ReadAll(tr); err != nil {
					return out, err
				}
			}
			out = append(out, e)
		}
	}
	sr := io.NewSectionReader(bytes.NewReader(file), base, size)
	want, err := read(sr, func() int64 { off, _ := sr.Seek(0, io.SeekCurrent); return off })
	if err != nil {
		t.Fatal(err)
	}
	wr := newWindowReader(bytes.NewReader(file), base, size)
	got, err := read(wr, func() int64 { return wr.off })
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d entries through the window, %d through a SectionReader", len(got), len(want))
	}
	for i := range want {
		if got[i].name != want[i].name || got[i].off != want[i].off || !bytes.Equal(got[i].data, want[i].data) {
			t.Errorf("entry %d: %q at %d (%d bytes read), want %q at %d (%d bytes)", i,
				got[i].name, got[i].off, len(got[i].data), want[i].name, want[i].off, len(want[i].data))
		}
	}

	cut := newWindowReader(bytes.NewReader(file[:base+size/2]), base, size)
	if _, err := read(cut, func() int64 { return cut.off }); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("a stretch past the end of its file: %v, want io.ErrUnexpectedEOF", err)
	}
}
