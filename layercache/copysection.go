package layercache

import (
	"context"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// copySection copies size bytes of src from off to dst, an empty file:
// cloned if whole and the file system can (FICLONE: btrfs, XFS), else
// copied by the kernel (see copyRange). It stops, failing, once ctx is done.
//
// The kernel's copy out of an image archive is slower than cp's of the
// same bytes as a file of their own: the blob of a docker save archive
// starts at an offset that is not page-aligned (the 229 MB layer of the
// Debian base, at offset 2560: 107-130 ms against 75-91 from offset 0).
// Writing from mapped pages of the archive instead (two windows at once)
// made the median 83 ms, but one copy in five took 250-800 ms (25 copies,
// each of a new file: the mapped pages' cost comes and goes), and with one
// window it slowed the hash of a first pack (its unmapping interrupts the
// other core); sendfile is as fast as copy_file_range.
func copySection(ctx context.Context, dst, src *os.File, off, size int64, whole bool) (int64, error) {
	if whole && unix.IoctlFileClone(int(dst.Fd()), int(src.Fd())) == nil {
		fi, err := dst.Stat()
		if err != nil {
			return 0, err
		}
		return fi.Size(), nil
	}
	return copyRange(ctx, dst, src, off, size)
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
