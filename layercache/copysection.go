package layercache

import (
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// copyWindow is how much of a section's file copySection maps at a time.
const copyWindow = 8 << 20

// copySection copies size bytes of src from off to dst, an empty file,
// with up to workers windows under way at once: cloned if whole and the
// file system can (FICLONE: btrfs, XFS); else, with more than one worker,
// written to dst from src's pages mapped a window at a time; else by the
// kernel (copy_file_range); else through a buffer. It stops, failing,
// once ctx is done.
//
// Mapping is for the sections of image archives, whose blobs start at
// offsets that are not page-aligned: copy_file_range of the 229 MB layer
// of a docker save archive (at offset 2560) took 107-123 ms here against
// 75-91 ms from offset 0; from two windows mapped at once, 74 ms (the
// mapping is what runs in parallel: the writes to one file take its lock
// in turn). With one worker, the kernel copies: mapped, a first pack onto
// that base took 280 ms against 257 (interleaved medians of 21), its
// unmapping interrupting the hash on the other core (TLB shootdowns). A
// file cut short while it is copied fails the write (EFAULT), never the
// process: the kernel, not this process, touches the mapped pages.
func copySection(ctx context.Context, dst, src *os.File, off, size int64, whole bool, workers int) (int64, error) {
	if whole && unix.IoctlFileClone(int(dst.Fd()), int(src.Fd())) == nil {
		fi, err := dst.Stat()
		if err != nil {
			return 0, err
		}
		return fi.Size(), nil
	}
	if workers > 1 {
		if n, err := copyMapped(ctx, dst, src, off, size, workers); !errors.Is(err, errNoMap) {
			return n, err
		}
	}
	return copyRange(ctx, dst, src, off, size)
}

// errNoMap means src's file system cannot map it.
var errNoMap = errors.New("cannot be mapped")

// copyMapped is copySection through mappings of src, errNoMap if src
// cannot be mapped (then nothing was written).
func copyMapped(ctx context.Context, dst, src *os.File, off, size int64, workers int) (int64, error) {
	first := off - off%copyWindow // page-aligned, as mmap wants
	if probe, err := unix.Mmap(int(src.Fd()), first, 1, unix.PROT_READ, unix.MAP_SHARED); err != nil {
		return 0, errNoMap
	} else {
		unix.Munmap(probe)
	}
	windows := (off + size - first + copyWindow - 1) / copyWindow
	var (
		next, written atomic.Int64
		failed        atomic.Pointer[error]
		wg            sync.WaitGroup
	)
	for range max(workers, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1) - 1; i < windows && failed.Load() == nil; i = next.Add(1) - 1 {
				n, err := copyWindowAt(ctx, dst, src, first+i*copyWindow, off, off+size)
				written.Add(n)
				if err != nil {
					failed.CompareAndSwap(nil, &err)
				}
			}
		}()
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		return written.Load(), *err
	}
	return written.Load(), nil
}

// copyWindowAt writes to dst, at their offsets from off, the bytes from
// off to end of src's window that starts at start.
func copyWindowAt(ctx context.Context, dst, src *os.File, start, off, end int64) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m, err := unix.Mmap(int(src.Fd()), start, int(min(copyWindow, end-start)), unix.PROT_READ, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return 0, err
	}
	defer unix.Munmap(m)
	from := max(start, off)
	n, err := dst.WriteAt(m[from-start:], from-off)
	return int64(n), err
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
