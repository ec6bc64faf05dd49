package transfer

import (
	"archive/tar"
	"bufio"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/scratchpack/scratchpack/layercache"
)

// errStaleSection means a layer's local file changed since its bytes were
// checked: what is in it is read again through the layer, and checked.
var errStaleSection = errors.New("the layer's file changed since it was checked")

// pass reads the whole of layer i, checking its bytes against its digest
// and diff_id as they stream by (see verifiedLayer), and calls visit with
// each entry's clean name ("" for one that leaves the root), header and
// the offset of its content in the layer's tar. It returns the content of
// the regular files visit asked for, by offset, once the whole layer has
// been read and found right: nothing of a layer that fails is kept. A
// layer that is an uncompressed tar in a local file, unchanged while it
// was read and settled before, is remembered as a section, so that files
// are read from it at their offsets afterwards, and its blob copied by the
// kernel into outputs.
func (ix *indexer) pass(i int, visit func(name string, h *tar.Header, off int64) bool) (map[int64][]byte, error) {
	l := ix.layers[i]
	what := fmt.Sprintf("layer %d of %s", i+1, ix.name)
	start := time.Now()
	sec, before := ix.sectionOf(l)
	rc, err := l.Uncompressed()
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", what, err)
	}
	defer rc.Close()
	ix.passes++
	cr := &countingReader{r: bufio.NewReaderSize(rc, 1<<20)}
	tr := tar.NewReader(cr)
	kept := map[int64][]byte{}
	for {
		if err := ix.ctx.Err(); err != nil {
			return nil, err
		}
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", what, blobFault(rc, err))
		}
		off := cr.n
		name, ok := entryName(h.Name)
		if !ok {
			name = ""
		}
		if !visit(name, h, off) || h.Typeflag != tar.TypeReg {
			continue
		}
		b := make([]byte, h.Size)
		if _, err := io.ReadFull(tr, b); err != nil {
			return nil, fmt.Errorf("reading %q in %s: %w", h.Name, what, blobFault(rc, err))
		}
		kept[off] = b
	}
	// Read to the end, so that the layer's digests are checked before
	// anything read from it is used.
	if _, err := io.Copy(io.Discard, cr); err != nil {
		return nil, fmt.Errorf("reading %s: %w", what, err)
	}
	if sec != nil {
		after, err := layercache.StampPath(sec.Path)
		if err == nil && after == before && before.Settled(start) {
			sec.Stamp = before
			ix.sections[i] = sec
			if vl, ok := l.(*verifiedLayer); ok {
				vl.trust(*sec)
			}
		}
	}
	return kept, nil
}

// sectionOf is l's blob as a section of a local file, if it is an
// uncompressed tar kept in one (its digest is its diff_id), with the
// file's stamp now; nil otherwise.
func (ix *indexer) sectionOf(l interface{}) (*layercache.Section, layercache.Stamp) {
	vl, ok := l.(*verifiedLayer)
	if !ok {
		return nil, layercache.Stamp{}
	}
	s, ok := vl.section()
	if !ok {
		return nil, layercache.Stamp{}
	}
	d, err1 := vl.Digest()
	diff, err2 := vl.DiffID()
	if err1 != nil || err2 != nil || d != diff {
		return nil, layercache.Stamp{}
	}
	st, err := layercache.StampPath(s.Path)
	if err != nil {
		return nil, layercache.Stamp{}
	}
	return &s, st
}

// countingReader counts the bytes read through it: after tar.Reader.Next,
// which reads no further than an entry's headers, the offset of its content.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
