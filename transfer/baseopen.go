package transfer

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"os"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/scratchpack/scratchpack/layercache"
)

// IndexOption configures OpenBase.
type IndexOption func(*indexOptions)

type indexOptions struct {
	cache     *layercache.Cache
	wanted    func(name string) bool
	cacheOnly bool // OpenBase returns nil, not reading the layers, without the index in the cache
	ahead     *layercache.Ahead
	lateCheck bool // see WithLateCheck
}

// WithIndexCache keeps the index of each base, and the files read from it,
// in c under the base's manifest digest: a later OpenBase of the same base
// reads none of its layers (see BaseFS.Save).
func WithIndexCache(c *layercache.Cache) IndexOption {
	return func(o *indexOptions) { o.cache = c }
}

// WithWanted says which files are likely to be opened: the pass that
// indexes a layer keeps the content of each regular file whose name (as
// "usr/lib/libc.so.6") wanted accepts, so that opening it later needs no
// second pass over a compressed or remote layer.
func WithWanted(wanted func(name string) bool) IndexOption {
	return func(o *indexOptions) { o.wanted = wanted }
}

// WithLateCheck lets OpenBase return before the blobs of the layers it
// reads in place (uncompressed tars in local files) are known to be
// right: their headers are read first, and their hash, which takes
// longest, goes on while the caller uses the BaseFS. Nothing read from it
// may leave the process (an output, the cache) before Checked returns nil;
// Save waits for it. What a caller made of a base that fails Checked does
// not count, nor do the errors it met: Checked's is the one to report.
func WithLateCheck() IndexOption {
	return func(o *indexOptions) { o.lateCheck = true }
}

// maxKept bounds the content a pass keeps of one wanted file: a larger one
// is read when it is opened.
const maxKept = 64 << 20

// indexer is the state of a BaseFS: the index, and the contents read.
type indexer struct {
	ctx    context.Context
	name   string // the image, for messages
	img    v1.Image
	layers []v1.Layer
	x      *baseIndex
	o      indexOptions
	key    string // the cache key, "" without a cache

	mu        sync.Mutex
	contents  map[contentKey][]byte     // checked contents, read or kept
	cached    map[contentKey]cachedBlob // contents the cache holds
	sections  []*layercache.Section     // per layer: its blob in a local file, checked; nil if none
	unchecked []*layercache.Section     // per layer: the same, its check pending (WithLateCheck)
	recorded  []sectionRecord           // the sections the cache's record has
	early     map[contentKey]*early     // blobs of the cache read ahead (see readAhead)
	fresh     bool                      // the index was made, not taken from the cache
	passes    int                       // layers read

	late      []lateCheck // the checks Checked waits for
	checkOnce sync.Once
	checkErr  error
}

// lateCheck is the pending check of layer's blob, read in place: settle
// waits for it, and returns the section to read the layer's files from
// afterwards (nil if its file changed, or had not settled).
type lateCheck struct {
	layer  int
	settle func() (*layercache.Section, error)
}

// Checked waits for the checks WithLateCheck left pending and returns the
// first error; without WithLateCheck, or for a nil BaseFS, it returns nil
// at once (OpenBase checked every byte before it returned).
func (b *BaseFS) Checked() error {
	if b == nil {
		return nil
	}
	b.checkOnce.Do(func() {
		for _, c := range b.late {
			s, err := c.settle()
			if err != nil {
				b.checkErr = err
				return
			}
			b.mu.Lock()
			b.unchecked[c.layer] = nil
			b.keepSection(c.layer, s)
			b.mu.Unlock()
		}
	})
	return b.checkErr
}

// keepSection records that layer i's blob is s, checked (nothing if s is
// nil): its files are read at their offsets, and outputs copy it.
func (ix *indexer) keepSection(i int, s *layercache.Section) {
	if s == nil {
		return
	}
	ix.sections[i] = s
	if vl, ok := ix.layers[i].(*verifiedLayer); ok {
		vl.trust(*s)
	}
}

// OpenBase returns the file system of img, an image from LoadBase, without
// unpacking it: one pass over each layer, streamed, records every entry
// (path, type, mode, size, link target, the layer and offset of its
// content), merged across layers as UnpackContext merges them on disk
// (whiteouts, opaque directories, links followed inside the root, hard
// links), and keeps the content of the files WithWanted names. Nothing of
// the image is written to disk, and every byte is checked as the layers'
// blobs are (see LoadBase). A file opened later is read from what a pass
// kept, from the cache, at its offset in an uncompressed layer kept in a
// local file that has not changed since it was checked, or else by one
// more pass over its layer. The context bounds those passes too.
//
// With WithIndexCache, a base whose index is in the cache is not read at
// all. Save writes what was read to the cache.
func OpenBase(ctx context.Context, img v1.Image, opts ...IndexOption) (*BaseFS, error) {
	ix := &indexer{ctx: ctx, img: img, name: "the base", contents: map[contentKey][]byte{}, cached: map[contentKey]cachedBlob{}}
	for _, opt := range opts {
		opt(&ix.o)
	}
	if ix.o.wanted == nil {
		ix.o.wanted = func(string) bool { return false }
	}
	if vi, ok := img.(*verifiedImage); ok {
		ix.name = vi.name
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("reading the manifest of %s: %w", ix.name, err)
	}
	// A cached index is decoded, and its files read, while the layers are
	// (for a registry's image, that is its config: one more round trip).
	var rec *baseRecord
	var cached chan *cachedIndex
	if ix.o.cache != nil && len(m.Layers) > 0 {
		d, err := img.Digest()
		if err != nil {
			return nil, fmt.Errorf("reading the manifest of %s: %w", ix.name, err)
		}
		ix.key = indexCacheKey(d)
		if rec = ix.readRecord(); rec != nil {
			cached = make(chan *cachedIndex, 1)
			go func() { cached <- ix.readIndex(*rec, len(m.Layers)) }()
		}
	}
	if ix.layers, err = img.Layers(); err != nil {
		if cached != nil {
			(<-cached).discard()
		}
		return nil, fmt.Errorf("reading the layers of %s: %w", ix.name, err)
	}
	ix.sections = make([]*layercache.Section, len(ix.layers))
	ix.unchecked = make([]*layercache.Section, len(ix.layers))
	if rec != nil {
		if !ix.o.cacheOnly {
			// The index is (almost surely) here: no pass will read the
			// layers, so their copies to the outputs start now (else see
			// passSection).
			copyAhead(ix.o.ahead, ix.layers, false)
		}
		c := <-cached
		if ix.load(*rec, c) {
			return &BaseFS{ix}, nil
		}
		c.discard()
	}
	if ix.o.cacheOnly {
		return nil, nil
	}
	if err := ix.build(); err != nil {
		return nil, err
	}
	return &BaseFS{ix}, nil
}

// LayersRead is how many passes over layers this BaseFS made: none for a
// base whose index (and every file opened) came from the cache.
func (b *BaseFS) LayersRead() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.passes
}

// build makes the index with one pass over each layer, bottom first.
func (ix *indexer) build() error {
	t := newLayerTree()
	for i := range ix.layers {
		kept, err := ix.pass(i, func(name string, h *tar.Header, off int64) bool {
			if err := t.apply(h, i, off); err != nil {
				return false // skipped: UnpackContext skips it too
			}
			return h.Typeflag == tar.TypeReg && h.Size <= maxKept && ix.o.wanted(name)
		}, ix.o.lateCheck)
		if err != nil {
			return err
		}
		for off, b := range kept {
			ix.contents[contentKey{i, off}] = b
		}
	}
	ix.x = flattenTree(t)
	ix.fresh = true
	return nil
}

// content returns the content of the regular file e, checked.
func (ix *indexer) content(e *ientry) ([]byte, error) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	k := e.key()
	if b, ok := ix.contents[k]; ok {
		return b, nil
	}
	if h, ok := ix.cached[k]; ok {
		b, err := ix.readCached(k, h, e.size)
		if err == nil && int64(len(b)) == e.size {
			ix.contents[k] = b
			return b, nil
		}
		delete(ix.cached, k) // damaged or gone: read it from the layer again
	}
	s := ix.sections[e.layer]
	if s == nil {
		s = ix.unchecked[e.layer] // as much checked as the contents kept
	}
	if s != nil && e.plain {
		if b, err := readSection(*s, e.offset, e.size); err == nil {
			ix.contents[k] = b
			return b, nil
		}
	}
	// One more pass over the layer: for this file, and any other the
	// passes did not keep that is wanted.
	need := map[int64]bool{e.offset: true}
	kept, err := ix.pass(e.layer, func(name string, h *tar.Header, off int64) bool {
		if h.Typeflag != tar.TypeReg {
			return false
		}
		_, have := ix.contents[contentKey{e.layer, off}]
		return need[off] || (!have && h.Size <= maxKept && ix.o.wanted(name))
	}, false)
	if err != nil {
		return nil, err
	}
	for off, b := range kept {
		ix.contents[contentKey{e.layer, off}] = b
	}
	b, ok := ix.contents[k]
	if !ok || int64(len(b)) != e.size {
		return nil, fmt.Errorf("%w: layer %d of %s changed between two reads", ErrCorruptBlob, e.layer+1, ix.name)
	}
	return b, nil
}

// readSection reads size bytes at off in the uncompressed layer s, checked
// by its stamp: its file must be as it was when its bytes were checked,
// before and after the read.
func readSection(s layercache.Section, off, size int64) ([]byte, error) {
	f, err := os.Open(s.Path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := layercache.StampOf(f); err != nil || st != s.Stamp {
		return nil, errStaleSection
	}
	if off < 0 || size < 0 || off+size > s.Size {
		return nil, errStaleSection
	}
	b := make([]byte, size)
	if _, err := f.ReadAt(b, s.Offset+off); err != nil && !(err == io.EOF && size == 0) {
		return nil, err
	}
	if st, err := layercache.StampOf(f); err != nil || st != s.Stamp {
		return nil, errStaleSection
	}
	return b, nil
}
