package transfer

import (
	"errors"
	"io"
)

// windowReader reads a stretch of a file through a window of read-ahead,
// for a tar's headers read in place: tar.Reader reads a header, seeks past
// the content and reads the byte before the next header, three system
// calls an entry through an io.SectionReader; through a window, the
// headers of a run of small files and the bytes between them come in one.
// Seeks are free; a Read outside the window reads a new one where it is.
type windowReader struct {
	r      io.ReaderAt
	base   int64 // where the stretch starts in r
	size   int64 // of the stretch
	off    int64 // of the next Read, in the stretch
	win    []byte
	winOff int64 // of win[0], in the stretch
}

// windowSize is read at a time: enough for the headers of a run of small
// files, and little to copy for nothing when the next header is further
// on (a window is copied whole): the headers of the Debian base's 9,410
// entries took 52 ms through 4 KiB windows, 64 ms through 64 KiB ones.
const windowSize = 4 << 10

func newWindowReader(r io.ReaderAt, base, size int64) *windowReader {
	return &windowReader{r: r, base: base, size: size, win: make([]byte, 0, windowSize)}
}

func (w *windowReader) Read(p []byte) (int, error) {
	if w.off >= w.size {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	if w.off < w.winOff || w.off >= w.winOff+int64(len(w.win)) {
		if len(p) >= cap(w.win) { // a large read: straight into p
			n, err := w.r.ReadAt(p[:min(int64(len(p)), w.size-w.off)], w.base+w.off)
			w.off += int64(n)
			if n > 0 && errors.Is(err, io.EOF) {
				err = nil
			}
			return n, err
		}
		n, err := w.r.ReadAt(w.win[:min(int64(cap(w.win)), w.size-w.off)], w.base+w.off)
		w.win, w.winOff = w.win[:n], w.off
		if n == 0 {
			if err == nil || errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF // the file is shorter than the stretch
			}
			return 0, err
		}
	}
	n := copy(p, w.win[w.off-w.winOff:])
	w.off += int64(n)
	return n, nil
}

func (w *windowReader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += w.off
	case io.SeekEnd:
		offset += w.size
	default:
		return 0, errors.New("windowReader.Seek: invalid whence")
	}
	if offset < 0 {
		return 0, errors.New("windowReader.Seek: negative position")
	}
	w.off = offset
	return offset, nil
}
