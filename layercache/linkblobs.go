package layercache

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"golang.org/x/sys/unix"
)

// placeBlobs puts into the OCI layout dir the blobs of a's layers that are
// files already, so that the layout's writer, which skips blobs present
// with the right size, does not copy them through user space. A blob
// written for this image (in the work directory) is hard-linked: nothing
// else holds it. A cache blob never is: an output sharing its inode would
// carry any later damage of either into the other. It is cloned where the
// file system can (FICLONE: btrfs, XFS), else copied by the kernel
// (copy_file_range), and its stat checked afterwards (see blobCheck). A
// section's copy made ahead (see Ahead) is taken from made, if not nil.
func PlaceBlobs(dir string, a mutate.Appendable, made Taker) error {
	var layers []v1.Layer
	collectLayers(a, &layers, 0)
	for _, l := range layers {
		if sl, ok := l.(SectionLayer); ok {
			if err := placeSectionOf(dir, l, sl, made); err != nil {
				return err
			}
			continue
		}
		fl, ok := l.(*Layer)
		if !ok {
			continue
		}
		to := filepath.Join(dir, "blobs", fl.digest.Algorithm, fl.digest.Hex)
		if err := os.MkdirAll(filepath.Dir(to), 0o777); err != nil {
			return err
		}
		if fl.cache == nil {
			_ = os.Link(fl.path, to) // where it cannot, the writer copies
			continue
		}
		if err := copyBlob(fl, to); err != nil {
			return err
		}
	}
	return nil
}

// placeSectionOf puts the blob of l, whose blob may be a Section, into the
// layout dir: a section whose bytes were checked, and whose file has not
// changed since, is copied by the kernel (or its copy made ahead is taken);
// any other blob is left to the layout's writer, which reads it through
// the layer (and so checks it).
func placeSectionOf(dir string, l v1.Layer, sl SectionLayer, made Taker) error {
	s, ok := sl.BlobSection()
	if !ok {
		return nil
	}
	h, err := l.Digest()
	if err != nil {
		return err
	}
	to := filepath.Join(dir, "blobs", h.Algorithm, h.Hex)
	if err := os.MkdirAll(filepath.Dir(to), 0o777); err != nil {
		return err
	}
	if made != nil {
		if tmp, ok := made(h, s); ok {
			if err := os.Rename(tmp, to); err == nil {
				return nil
			}
			_ = os.Remove(tmp)
		}
	}
	if err := placeSection(s, to); err != nil && !errors.Is(err, errStale) {
		return err
	}
	return nil
}

// copyBlob clones or copies the cache blob of l to the file to, and fails
// with ErrCacheCorrupt (dropping the entry) if the blob is not as the cache
// recorded it once copied.
func copyBlob(l *Layer, to string) error {
	tmp, err := CreateTemp(to)
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	n, err := cloneOrCopy(tmp, l.blob, l.size)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := l.checkStat(n); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), to)
}

// cloneOrCopy makes dst, an empty file, a copy of the size bytes of src:
// sharing its extents (FICLONE) where the file system can, else copied by
// the kernel (copy_file_range), else through a buffer. It reads src at
// explicit offsets, so that others may read it at once.
func cloneOrCopy(dst, src *os.File, size int64) (int64, error) {
	if unix.IoctlFileClone(int(dst.Fd()), int(src.Fd())) == nil {
		fi, err := dst.Stat()
		if err != nil {
			return 0, err
		}
		return fi.Size(), nil
	}
	var off, n int64
	for n < size+1 {
		c, err := unix.CopyFileRange(int(src.Fd()), &off, int(dst.Fd()), nil, int(size+1-n), 0)
		if err != nil {
			if n > 0 {
				return n, err
			}
			// Not supported here: through a buffer.
			return io.Copy(dst, io.NewSectionReader(src, 0, size+1))
		}
		if c == 0 {
			break
		}
		n += int64(c)
	}
	return n, nil
}

// blobCheck reads a cache blob and fails at its end unless the blob is
// still as the cache recorded it (see checkStat).
type blobCheck struct {
	r    io.Reader
	l    *Layer
	n    int64
	done bool
}

func (b *blobCheck) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.n += int64(n)
	if errors.Is(err, io.EOF) && !b.done {
		b.done = true
		if cerr := b.l.checkStat(b.n); cerr != nil {
			return n, cerr
		}
	}
	return n, err
}

// Close does nothing: the blob stays open in the layer.
func (b *blobCheck) Close() error { return nil }

// checkStat fails with ErrCacheCorrupt, and drops l's cache entry, unless
// l's cache blob, of which n bytes were read, still has the size, inode,
// mode, mtime and ctime the cache checked or recorded: any write to it
// since (even one that set the mtime back) changes its ctime (see
// unchangedSince). The bytes are not
// hashed again: that would cost a cached pack of node (a 40 MB blob)
// some 100 ms.
func (l *Layer) checkStat(n int64) error {
	now, err := fstatBlob(l.blob)
	if err != nil {
		return err
	}
	if n == l.size && now.unchangedSince(l.stat) {
		return nil
	}
	l.cache.Drop(l)
	return fmt.Errorf("%w: %s changed after it was checked (%d bytes read of %d): its entry was dropped, and the next pack writes the layer again",
		ErrCorrupt, l.path, n, l.size)
}

// collectLayers appends the layers of an image, or of every image of an
// index, to out.
func collectLayers(a mutate.Appendable, out *[]v1.Layer, depth int) {
	switch a := a.(type) {
	case v1.Image:
		ls, err := a.Layers()
		if err == nil {
			*out = append(*out, ls...)
		}
	case v1.ImageIndex:
		if depth > 8 {
			return
		}
		im, err := a.IndexManifest()
		if err != nil {
			return
		}
		for _, d := range im.Manifests {
			switch {
			case d.MediaType.IsImage():
				if img, err := a.Image(d.Digest); err == nil {
					collectLayers(img, out, depth+1)
				}
			case d.MediaType.IsIndex():
				if idx, err := a.ImageIndex(d.Digest); err == nil {
					collectLayers(idx, out, depth+1)
				}
			}
		}
	}
}
