package layercache

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// writebackChunk is how much is written before the kernel is asked to start
// writing it to disk.
const writebackChunk = 8 << 20

// earlyWriteback is a writer to f that asks the kernel to start writing each
// chunk to disk as soon as it is complete (sync_file_range(2) with
// SYNC_FILE_RANGE_WRITE, which does not wait), so that the disk works while
// the rest is produced and the fsync at the end waits only for the last
// chunk. It changes when data reaches the disk, never what is written; where
// the call is not supported it does nothing.
type earlyWriteback struct {
	f       *os.File
	off     int64 // bytes written
	flushed int64 // bytes handed to writeback
}

func Writeback(f *os.File) io.Writer { return &earlyWriteback{f: f} }

func (w *earlyWriteback) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.off += int64(n)
	if w.off-w.flushed >= writebackChunk {
		_ = unix.SyncFileRange(int(w.f.Fd()), w.flushed, w.off-w.flushed, unix.SYNC_FILE_RANGE_WRITE)
		w.flushed = w.off
	}
	return n, err
}
