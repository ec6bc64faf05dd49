package packer

import (
	"crypto/sha256"
	"encoding/hex"
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
// with the right size, does not copy them. A blob written for this image
// (in the work directory) is hard-linked: nothing else holds it. A cache
// blob never is: an output sharing its inode would carry any later damage
// of either into the other. It is cloned where the file system can
// (FICLONE: btrfs, XFS), and the clone read and checked, since the cache
// trusts its blobs without reading them; elsewhere it is left for the
// layout's writer to copy, through the check of fileLayer.Compressed.
func placeBlobs(dir string, a mutate.Appendable) error {
	var layers []v1.Layer
	collectLayers(a, &layers, 0)
	for _, l := range layers {
		fl, ok := l.(*fileLayer)
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
		if err := cloneChecked(fl, to); err != nil {
			return err
		}
	}
	return nil
}

// cloneChecked clones the cache blob of l to the file to, if the file
// system can, and checks the clone's digest; a clone that does not match
// drops the cache entry and fails with ErrCacheCorrupt.
func cloneChecked(l *fileLayer, to string) error {
	tmp, err := createTemp(to)
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	err = cloneFile(l.path, tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil // no reflinks here: the layout's writer copies, checking
	}
	f, err := os.Open(tmp.Name())
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.Copy(io.Discard, l.checked(f)); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), to)
}

// cloneFile makes dst share src's extents (FICLONE): a copy that costs no
// space and no copying, on file systems with reflinks.
func cloneFile(src string, dst *os.File) error {
	s, err := os.Open(src)
	if err != nil {
		return err
	}
	defer s.Close()
	return unix.IoctlFileClone(int(dst.Fd()), int(s.Fd()))
}

// blobCheck is a reader of a cache blob that fails at its end unless what
// was read has the size and digest the cache recorded; it then drops the
// entry, so that the next use writes the layer again.
type blobCheck struct {
	r    io.Reader
	l    *fileLayer
	h    interface{ Sum([]byte) []byte }
	w    io.Writer
	n    int64
	done bool
}

// checked returns r, the bytes of l's cache blob, as a reader that checks
// them (see blobCheck).
func (l *fileLayer) checked(r io.Reader) io.Reader {
	h := sha256.New()
	return &blobCheck{r: r, l: l, h: h, w: h}
}

func (b *blobCheck) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.w.Write(p[:n])
	b.n += int64(n)
	if b.n > b.l.size {
		return n, b.corrupt(fmt.Sprintf("more than the %d bytes recorded", b.l.size))
	}
	if errors.Is(err, io.EOF) && !b.done {
		b.done = true
		if got := hex.EncodeToString(b.h.Sum(nil)); b.n != b.l.size || got != b.l.digest.Hex {
			return n, b.corrupt(fmt.Sprintf("%d bytes with digest sha256:%s, not the %d bytes of %s recorded", b.n, got, b.l.size, b.l.digest))
		}
	}
	return n, err
}

func (b *blobCheck) corrupt(what string) error {
	b.l.cache.drop(b.l)
	return fmt.Errorf("%w: %s holds %s: its entry was dropped, and the next pack writes the layer again", ErrCacheCorrupt, b.l.path, what)
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
