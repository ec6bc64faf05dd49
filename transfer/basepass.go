package transfer

import (
	"archive/tar"
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"

	"github.com/scratchpack/scratchpack/layercache"
)

// errStaleSection means a layer's local file changed since its bytes were
// checked: what is in it is read again through the layer, and checked.
var errStaleSection = errors.New("the layer's file changed since it was checked")

// visitFunc is called by a pass with each entry's clean name ("" for one
// that leaves the root), header and the offset of its content in the
// layer's tar; it returns whether to keep a regular file's content.
type visitFunc func(name string, h *tar.Header, off int64) bool

// pass reads the whole of layer i, checking its bytes against its digest
// and diff_id (see verifiedLayer), calls visit with each entry, and
// returns the content of the regular files visit asked for, by offset,
// once the whole layer has been read and found right: nothing of a layer
// that fails is kept.
//
// A layer that is an uncompressed tar in a local file is read in place
// (passSection); one unchanged while it was read, and settled before, is
// remembered as a section, so that files are read at their offsets
// afterwards and its blob is copied by the kernel into outputs. With late
// (WithLateCheck), pass returns such a layer's contents once its headers
// are read, before its hash is known: the check is left to Checked.
func (ix *indexer) pass(i int, visit visitFunc, late bool) (map[int64][]byte, error) {
	l := ix.layers[i]
	what := fmt.Sprintf("layer %d of %s", i+1, ix.name)
	ix.passes++
	if sec, before := ix.sectionOf(l); sec != nil {
		start := time.Now()
		kept, check, err := ix.passSection(l.(*verifiedLayer), *sec, what, visit)
		if err != nil {
			return nil, err
		}
		settled := before.Settled(start)
		c := lateCheck{layer: i, settle: func() (*layercache.Section, error) {
			if err := check(); err != nil {
				return nil, err
			}
			if after, err := layercache.StampPath(sec.Path); err == nil && after == before && settled {
				sec.Stamp = before
				return sec, nil
			}
			return nil, nil
		}}
		if !late {
			s, err := c.settle()
			if err != nil {
				return nil, err
			}
			ix.keepSection(i, s)
			return kept, nil
		}
		if settled {
			u := *sec
			u.Stamp = before
			ix.unchecked[i] = &u
		}
		ix.late = append(ix.late, c)
		return kept, nil
	}
	rc, err := l.Uncompressed()
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", what, err)
	}
	defer rc.Close()
	cr := &countingReader{r: bufio.NewReaderSize(rc, 1<<20)}
	kept, err := ix.scan(tar.NewReader(cr), func() int64 { return cr.n }, visit, what)
	if err != nil {
		return nil, blobFault(rc, err)
	}
	// Read to the end, so that the layer's digests are checked before
	// anything read from it is used.
	if _, err := io.Copy(io.Discard, cr); err != nil {
		return nil, fmt.Errorf("reading %s: %w", what, err)
	}
	return kept, nil
}

// scan reads the entries of tr, calling visit and keeping what it asks
// for; offset tells where the current entry's content starts.
func (ix *indexer) scan(tr *tar.Reader, offset func() int64, visit visitFunc, what string) (map[int64][]byte, error) {
	kept := map[int64][]byte{}
	for {
		if err := ix.ctx.Err(); err != nil {
			return nil, err
		}
		h, err := tr.Next()
		if err == io.EOF {
			return kept, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", what, err)
		}
		off := offset()
		name, ok := entryName(h.Name)
		if !ok {
			name = ""
		}
		if !visit(name, h, off) || h.Typeflag != tar.TypeReg {
			continue
		}
		b := make([]byte, h.Size)
		if _, err := io.ReadFull(tr, b); err != nil {
			return nil, fmt.Errorf("reading %q in %s: %w", h.Name, what, err)
		}
		kept[off] = b
	}
}

// passSection reads an uncompressed layer kept in a local file in place:
// its tar's headers are read where they are (the content between them is
// skipped, not read), while the whole blob is hashed on another core. It
// returns once the headers are read; check waits for the hash, and fails
// unless the blob has the layer's size and digest (for an uncompressed
// layer, its diff_id). A pass that fails is checked before it returns:
// the blob's digest says whether its bytes are at fault.
func (ix *indexer) passSection(l *verifiedLayer, s layercache.Section, what string, visit visitFunc) (kept map[int64][]byte, check func() error, err error) {
	want, err := l.Digest()
	if err != nil {
		return nil, nil, err
	}
	size, err := l.Size()
	if err != nil {
		return nil, nil, err
	}
	if size != s.Size {
		return nil, nil, fmt.Errorf("%w: %s is %d bytes, its manifest says %d", ErrCorruptBlob, l.what, s.Size, size)
	}
	if l.maxUnpack > 0 && size > l.maxUnpack {
		return nil, nil, limitError(fmt.Sprintf("%s unpacks to more than the limit of %d bytes", l.what, l.maxUnpack))
	}
	f, err := os.Open(s.Path)
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", what, err)
	}
	scanned := make(chan struct{})
	sum := make(chan string, 1)
	go func() {
		got := hashSection(ix.ctx, f, s.Offset, s.Size)
		<-scanned // the file is the scan's too
		f.Close()
		sum <- got
	}()
	check = sync.OnceValue(func() error {
		got := <-sum
		switch {
		case got == want.Hex:
			return nil
		case ix.ctx.Err() != nil:
			return ix.ctx.Err()
		case got == "":
			return fmt.Errorf("%w: %s could not be read whole from %s (cut short while it was read?)", ErrCorruptBlob, l.what, s.Path)
		}
		return fmt.Errorf("%w: %s has digest sha256:%s, its manifest says %s", ErrCorruptBlob, l.what, got, want)
	})
	wr := newWindowReader(f, s.Offset, s.Size)
	kept, err = ix.scan(tar.NewReader(wr), func() int64 { return wr.off }, visit, what)
	close(scanned)
	if err != nil {
		if cerr := check(); cerr != nil {
			return nil, nil, cerr
		}
		return nil, nil, err
	}
	// Its copy to the outputs (WithCopyAhead) starts now, not with the
	// hash: the scan and then the copy take one core while the hash,
	// which the pack waits for, has the other. All three at once made a
	// first pack onto the 229 MB Debian base take 341 ms, this 280.
	copyAhead(ix.o.ahead, []v1.Layer{l}, true)
	return kept, check, nil
}

// hashSection is the hex sha256 of size bytes of f at off, "" if they
// cannot all be read or ctx is done first. It hashes the file's pages
// where they are, mapped a window at a time: that saves the copy of every
// byte that reading costs (a fifth of the time), and maps no more of the
// file at once than a window (mapped pages count in the process's RSS).
func hashSection(ctx context.Context, f *os.File, off, size int64) string {
	h := sha256.New()
	for end := off + size; off < end; {
		if ctx.Err() != nil {
			return ""
		}
		n, err := hashMapped(h, f, off, end)
		if err != nil && off == end-size { // nothing hashed yet: read instead
			return readHash(ctx, f, off, size)
		}
		if err != nil {
			return ""
		}
		off += int64(n)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// hashWindow is how much of a file hashSection maps at a time.
const hashWindow = 8 << 20

// hashMapped writes to h the bytes of f from off to end or to the end of
// the window holding off, mapped, and returns how many. A file cut short
// meanwhile faults, which fails it as a failed read would.
func hashMapped(h io.Writer, f *os.File, off, end int64) (n int, err error) {
	start := off - off%hashWindow // page-aligned, as mmap wants
	m, err := unix.Mmap(int(f.Fd()), start, int(min(hashWindow, end-start)), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return 0, err
	}
	defer unix.Munmap(m)
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("reading %s: %v", f.Name(), r)
		}
	}()
	return h.Write(m[off-start:])
}

// readHash is hashSection by reading.
func readHash(ctx context.Context, f *os.File, off, size int64) string {
	h := sha256.New()
	buf := make([]byte, 1<<20)
	for n := int64(0); n < size; {
		if ctx.Err() != nil {
			return ""
		}
		c, err := f.ReadAt(buf[:min(int64(len(buf)), size-n)], off+n)
		h.Write(buf[:c])
		n += int64(c)
		if err != nil && n < size {
			return ""
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// sectionOf is l's blob as a section of a local file, if a pass reads it
// in place (see plainSection), with the file's stamp now; nil otherwise.
func (ix *indexer) sectionOf(l any) (*layercache.Section, layercache.Stamp) {
	vl, ok := l.(*verifiedLayer)
	if !ok {
		return nil, layercache.Stamp{}
	}
	s, ok := vl.plainSection()
	if !ok {
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
