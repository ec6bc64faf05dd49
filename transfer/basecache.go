package transfer

import (
	"archive/tar"
	"runtime"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/scratchpack/scratchpack/layercache"
)

// The layer cache keeps, for each base image indexed, a record
// bases/KEY.json (KEY: the index format and the manifest's digest) naming
// blobs: the encoded index, and the contents of the files read from the
// base. A blob is read in place if it has the stamp the record keeps of
// it (the one layercache.PutBlob gave it: no write since), else read whole
// and checked against its digest, so a damaged cache costs a pass over the
// layers, never a wrong answer. The record also keeps, for a layer read from a local file, the file's stamp
// when its bytes were checked: if the file still has it, files are read at
// their offsets and the blob is copied into outputs without reading it
// through again (see layercache.Section).

// baseRecord is bases/KEY.json.
type baseRecord struct {
	Index      v1.Hash           `json:"index"`
	IndexStamp *layercache.Stamp `json:"index_stamp,omitempty"`
	Files      []fileRecord      `json:"files,omitempty"`
	Sections   []sectionRecord   `json:"sections,omitempty"`
}

// fileRecord is the content of one regular file of the index.
type fileRecord struct {
	Layer  int               `json:"layer"`
	Offset int64             `json:"offset"`
	Digest v1.Hash           `json:"digest"`
	Stamp  *layercache.Stamp `json:"stamp,omitempty"` // of its blob
}

// stampOf is *s, or no stamp (the blob is checked when read).
func stampOf(s *layercache.Stamp) layercache.Stamp {
	if s == nil {
		return layercache.Stamp{}
	}
	return *s
}

// sectionRecord is a layer whose blob was checked in a local file.
type sectionRecord struct {
	Layer  int              `json:"layer"`
	Offset int64            `json:"offset"`
	Size   int64            `json:"size"`
	Stamp  layercache.Stamp `json:"stamp"`
}

const baseRecords = "bases"

// indexCacheKey is the record's name for the image whose manifest has
// digest d.
func indexCacheKey(d v1.Hash) string { return "index1-" + d.Algorithm + "-" + d.Hex }

// readRecord returns the cache's record of the base, nil if there is none
// (or it cannot be read: then the layers are read, and Save replaces it).
func (ix *indexer) readRecord() *baseRecord {
	var r baseRecord
	if found, err := ix.o.cache.ReadRecord(baseRecords, ix.key, &r); err != nil || !found {
		return nil
	}
	return &r
}

// cachedIndex is the index a record names, decoded, with the reads of its
// wanted files under way (see readWanted); nil if it cannot be used.
type cachedIndex struct {
	layers int // the number of layers it was decoded for
	x      *baseIndex
	cached map[contentKey]cachedBlob
	early  map[contentKey]*early
}

// cachedBlob is the blob of the cache that holds a file's content, and its
// stamp (none if the record has none).
type cachedBlob struct {
	h     v1.Hash
	stamp layercache.Stamp
}

// readIndex reads and decodes the index r names, for an image of layers
// layers, and starts reading the files it wants. It touches nothing of ix
// but its options, and may run while the layers are read.
func (ix *indexer) readIndex(r baseRecord, layers int) *cachedIndex {
	raw, err := ix.o.cache.ReadBlob(r.Index, maxIndexSize, stampOf(r.IndexStamp))
	if err != nil {
		return nil
	}
	x, err := decodeIndex(raw, layers)
	if err != nil {
		return nil
	}
	c := &cachedIndex{layers: layers, x: x, cached: map[contentKey]cachedBlob{}}
	for _, f := range r.Files {
		c.cached[contentKey{f.Layer, f.Offset}] = cachedBlob{f.Digest, stampOf(f.Stamp)}
	}
	c.early = readWanted(ix.o, x, c.cached)
	return c
}

// discard closes the blobs c's reads opened, once they are done; c is
// not used.
func (c *cachedIndex) discard() {
	if c == nil {
		return
	}
	for _, r := range c.early {
		go func() {
			<-r.done
			if r.f != nil {
				r.f.Close()
			}
		}()
	}
}

// load takes the index c (from the record r) for the layers now known;
// false when it cannot be used: there is none, it is for another number of
// layers, or a layer in a local file has settled since the record was
// made without its check recorded (see uncheckedSettled).
func (ix *indexer) load(r baseRecord, c *cachedIndex) bool {
	if c == nil || c.layers != len(ix.layers) || ix.uncheckedSettled(r.Sections) {
		return false
	}
	ix.x, ix.cached, ix.early = c.x, c.cached, c.early
	for _, s := range r.Sections {
		if s.Layer < 0 || s.Layer >= len(ix.layers) {
			continue
		}
		sec, now := ix.sectionOf(ix.layers[s.Layer])
		if sec == nil || sec.Offset != s.Offset || sec.Size != s.Size || now != s.Stamp {
			continue // moved or changed: read it again if needed
		}
		sec.Stamp = now
		ix.sections[s.Layer] = sec
		ix.recorded = append(ix.recorded, s)
		if vl, ok := ix.layers[s.Layer].(*verifiedLayer); ok {
			vl.trust(*sec)
		}
	}
	return true
}

// readWanted starts opening, or reading and checking, the blobs of cached
// that hold the files of x that o wants, a few at a time, for content to
// take: a blob that still has its stamp is opened to be read in place
// (the few parts of a library that its analysis reads), any other is read
// and checked (some 5 MB for a C++ program on glibc) on every core while
// the program is resolved in the base, instead of one file after the other
// as the resolution opens them.
func readWanted(o indexOptions, x *baseIndex, cached map[contentKey]cachedBlob) map[contentKey]*early {
	var want []*early
	reads := map[contentKey]*early{}
	for i := range x.entries {
		e := &x.entries[i]
		if e.typ != tar.TypeReg || !o.wanted(e.name) {
			continue
		}
		k := e.key()
		c, ok := cached[k]
		if _, started := reads[k]; !ok || started {
			continue
		}
		r := &early{blob: c, size: e.size, done: make(chan struct{})}
		reads[k] = r
		want = append(want, r)
	}
	if len(want) == 0 {
		return reads
	}
	next := make(chan *early, len(want))
	for _, r := range want {
		next <- r
	}
	close(next)
	for range min(len(want), runtime.GOMAXPROCS(0)) {
		go func() {
			for r := range next {
				if f, err := o.cache.OpenBlob(r.blob.h, r.size, r.blob.stamp); err == nil {
					r.f = f
				} else {
					r.b, r.err = o.cache.ReadBlob(r.blob.h, r.size, r.blob.stamp)
				}
				close(r.done)
			}
		}()
	}
	return reads
}

// early is a blob of the cache that readWanted opens or reads.
type early struct {
	blob cachedBlob
	size int64
	done chan struct{} // closed when f, or b and err, are set
	f    *layercache.BlobFile
	b    []byte
	err  error
}

// takeEarly returns what readWanted made of the blob c for the file at k,
// once it is done; ok is false if it did not start on it.
func (ix *indexer) takeEarly(k contentKey, c cachedBlob, size int64) (r *early, ok bool) {
	r, ok = ix.early[k]
	if !ok || r.blob != c || r.size != size {
		return nil, false
	}
	delete(ix.early, k)
	<-r.done
	return r, true
}

// readCached returns the blob c of the cache, the content of the file at
// k of size bytes, from what readWanted read if it started on it.
func (ix *indexer) readCached(k contentKey, c cachedBlob, size int64) ([]byte, error) {
	if r, ok := ix.takeEarly(k, c, size); ok {
		if r.f == nil {
			return r.b, r.err
		}
		r.f.Close()
	}
	return ix.o.cache.ReadBlob(c.h, size, c.stamp)
}

// openInPlace opens the content of the regular file e where the cache
// keeps it, if its blob still has its stamp and no read kept it in memory.
func (ix *indexer) openInPlace(e *ientry) (*layercache.BlobFile, bool) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	k := e.key()
	if _, ok := ix.contents[k]; ok {
		return nil, false
	}
	c, ok := ix.cached[k]
	if !ok || c.stamp == (layercache.Stamp{}) {
		return nil, false
	}
	return ix.openCached(k, c, e.size)
}

// openCached opens the blob c of the cache, the content of the file at k
// of size bytes, to be read in place; ok is false unless it still has its
// stamp.
func (ix *indexer) openCached(k contentKey, c cachedBlob, size int64) (*layercache.BlobFile, bool) {
	if r, ok := ix.takeEarly(k, c, size); ok {
		if r.f != nil {
			return r.f, true
		}
		if r.err == nil {
			ix.contents[k] = r.b // read and checked: kept, not read again
		}
		return nil, false
	}
	f, err := ix.o.cache.OpenBlob(c.h, size, c.stamp)
	return f, err == nil
}

// uncheckedSettled reports whether a layer kept in a local file has no
// recorded check that still holds (none was recorded, or the file was
// written again since) although its file has now settled: the pass that
// made the record came too soon after the file was written (docker save,
// then pack at once) to trust what it read. Reading the layers once more
// records the check, after which outputs copy the blob with the kernel
// instead of reading it through again on every pack.
func (ix *indexer) uncheckedSettled(recorded []sectionRecord) bool {
	for i, l := range ix.layers {
		sec, now := ix.sectionOf(l)
		if sec == nil || !now.Settled(time.Now()) {
			continue
		}
		holds := false
		for _, s := range recorded {
			holds = holds || (s.Layer == i && s.Offset == sec.Offset && s.Size == sec.Size && s.Stamp == now)
		}
		if !holds {
			return true
		}
	}
	return false
}

// Save writes to the cache (WithIndexCache) what this BaseFS read that the
// cache lacks: the index, the contents of the files opened or kept by the
// passes, and the stamps of layers checked in local files. Without a cache,
// or with nothing new, it does nothing. The blobs are written first, the
// record that names them only once the layers are found right (Checked):
// a blob is named by its own digest, and nothing uses it but a record.
func (b *BaseFS) Save() error {
	ix := b.indexer
	if ix.o.cache == nil || ix.key == "" {
		return nil
	}
	ix.mu.Lock()
	changed, err := ix.putContents()
	var index v1.Hash
	var indexStamp layercache.Stamp
	if err == nil && (changed || ix.fresh) {
		index, indexStamp, err = ix.o.cache.PutBlob(encodeIndex(ix.x))
	}
	ix.mu.Unlock()
	if err != nil {
		return err
	}
	if err := b.Checked(); err != nil {
		return err
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	var sections []sectionRecord
	for i, s := range ix.sections {
		if s != nil {
			sections = append(sections, sectionRecord{Layer: i, Offset: s.Offset, Size: s.Size, Stamp: s.Stamp})
		}
	}
	if !changed && !ix.fresh && len(sections) == len(ix.recorded) {
		return nil
	}
	if index.Hex == "" {
		if index, indexStamp, err = ix.o.cache.PutBlob(encodeIndex(ix.x)); err != nil {
			return err
		}
	}
	r := baseRecord{Index: index, IndexStamp: &indexStamp, Sections: sections}
	for k, c := range ix.cached {
		f := fileRecord{Layer: k.layer, Offset: k.offset, Digest: c.h}
		if c.stamp != (layercache.Stamp{}) {
			f.Stamp = &c.stamp
		}
		r.Files = append(r.Files, f)
	}
	if err := ix.o.cache.WriteRecord(baseRecords, ix.key, r); err != nil {
		return err
	}
	ix.fresh, ix.recorded = false, sections
	return nil
}

// putContents writes to the cache the contents read of the index's
// regular files that it lacks, or holds without a stamp, and reports
// whether there were any.
func (ix *indexer) putContents() (changed bool, err error) {
	var used map[contentKey]bool // made only when there is something to save
	for k, data := range ix.contents {
		if c, ok := ix.cached[k]; ok && c.stamp != (layercache.Stamp{}) {
			continue
		}
		// Not in the cache, or in it without a stamp (a record of an
		// earlier scratchpack): put, and so stamped, to be read in place
		// from now on.
		if used == nil {
			used = map[contentKey]bool{}
			for i := range ix.x.entries {
				if e := &ix.x.entries[i]; e.typ == tar.TypeReg {
					used[e.key()] = true
				}
			}
		}
		if !used[k] {
			continue
		}
		h, st, err := ix.o.cache.PutBlob(data)
		if err != nil {
			return changed, err
		}
		ix.cached[k], changed = cachedBlob{h, st}, true
	}
	return changed, nil
}
