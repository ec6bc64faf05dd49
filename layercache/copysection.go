package layercache

import (
	"cmp"
	"context"
	"io"
	"os"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// copySection copies size bytes of src from off to dst, an empty file:
// cloned if whole and the file system can (FICLONE: btrfs, XFS); else,
// with more than one worker, read and written by that many threads at
// once, each its own stretch (copyParallel); else by the kernel
// (copyRange). It stops, failing, once ctx is done.
//
// The kernel's copy out of an image archive is slower than cp's of the
// same bytes as a file of their own: the blob of a docker save archive
// starts at an offset that is not page-aligned (the 229 MB layer of the
// Debian base, at offset 2560: 105-121 ms, median of 25 copies, against
// 82 from offset 0). Read and written by two threads it took 72-79 ms
// (one thread: 107-125), with no copy of a hundred over 103 ms. Writing
// from mapped pages of the archive made the median 83 ms too, but one copy
// in five took 250-800 ms here.
func copySection(ctx context.Context, dst, src *os.File, off, size int64, whole bool, workers int) (int64, error) {
	if whole && unix.IoctlFileClone(int(dst.Fd()), int(src.Fd())) == nil {
		fi, err := dst.Stat()
		if err != nil {
			return 0, err
		}
		return fi.Size(), nil
	}
	if workers > 1 && size >= parallelMin {
		return copyParallel(ctx, dst, src, off, size, workers)
	}
	return copyRange(ctx, dst, src, off, size)
}

// parallelMin is the least size copyParallel is used for.
const parallelMin = 8 << 20

// copyParallel is copySection by workers threads, each reading and writing
// its own stretch of the section through a buffer of its own. The reads
// run at once; the writes to one file take its lock in turn.
func copyParallel(ctx context.Context, dst, src *os.File, off, size int64, workers int) (int64, error) {
	const buf = 1 << 20
	part := (size/int64(workers) + buf - 1) / buf * buf
	var (
		written atomic.Int64
		mu      sync.Mutex
		first   error
		wg      sync.WaitGroup
	)
	for start := int64(0); start < size; start += part {
		end := min(start+part, size)
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := make([]byte, buf)
			for p := start; p < end; {
				mu.Lock()
				failed := first != nil
				mu.Unlock()
				err := ctx.Err()
				if failed || err != nil {
					if err != nil {
						mu.Lock()
						first = cmp.Or(first, err)
						mu.Unlock()
					}
					return
				}
				n, err := src.ReadAt(b[:min(buf, end-p)], off+p)
				if n > 0 {
					if _, werr := dst.WriteAt(b[:n], p); werr != nil {
						err = werr
					} else {
						written.Add(int64(n))
					}
				}
				if err != nil || n == 0 {
					mu.Lock()
					first = cmp.Or(first, err, io.ErrUnexpectedEOF)
					mu.Unlock()
					return
				}
				p += int64(n)
			}
		}()
	}
	wg.Wait()
	return written.Load(), first
}

// copyRange is copySection by the kernel's copy_file_range, in pieces (so
// that ctx can stop it), else through a buffer.
func copyRange(ctx context.Context, dst, src *os.File, off, size int64) (int64, error) {
	const piece = 64 << 20
	var n int64
	for n < size {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		c, err := unix.CopyFileRange(int(src.Fd()), &off, int(dst.Fd()), nil, int(min(size-n, piece)), 0)
		if err != nil {
			if n > 0 {
				return n, err
			}
			return io.Copy(dst, io.NewSectionReader(src, off, size))
		}
		if c == 0 {
			break
		}
		n += int64(c)
	}
	return n, nil
}
