package transfer

import (
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/scratchpack/scratchpack/layercache"
)

// blobSectioner is an image whose layer blobs may be stretches of local
// files: those of OCI layouts and archives, and of docker save archives.
type blobSectioner interface {
	blobSection(h v1.Hash) (layercache.Section, bool)
}

// trustedSections are the layer blobs of an image that a pass read whole
// and found right, as sections of their files with the files' stamps then.
type trustedSections struct {
	mu sync.Mutex
	m  map[v1.Hash]layercache.Section
}

func (t *trustedSections) get(h v1.Hash) (layercache.Section, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.m[h]
	return s, ok
}

func (t *trustedSections) set(h v1.Hash, s layercache.Section) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[v1.Hash]layercache.Section{}
	}
	t.m[h] = s
}

// section is the layer's blob as a stretch of a local file (its stamp not
// set), if it is one.
func (l *verifiedLayer) section() (layercache.Section, bool) {
	if l.img == nil {
		return layercache.Section{}, false
	}
	bs, ok := l.img.Image.(blobSectioner)
	if !ok {
		return layercache.Section{}, false
	}
	h, err := l.Digest()
	if err != nil {
		return layercache.Section{}, false
	}
	return bs.blobSection(h)
}

// plainSection is the layer's blob as a stretch of a local file if it is
// an uncompressed tar (its digest is its diff_id), which a pass reads in
// place.
func (l *verifiedLayer) plainSection() (layercache.Section, bool) {
	s, ok := l.section()
	if !ok {
		return layercache.Section{}, false
	}
	d, err1 := l.Digest()
	diff, err2 := l.DiffID()
	if err1 != nil || err2 != nil || d != diff || d.Algorithm != "sha256" {
		return layercache.Section{}, false
	}
	return s, true
}

// trust records that the layer's blob is s, checked whole while its file
// had s.Stamp.
func (l *verifiedLayer) trust(s layercache.Section) {
	if h, err := l.Digest(); err == nil && l.img != nil {
		l.img.trusted.set(h, s)
	}
}

// BlobSection is the layer's blob as a section of a local file that was
// read whole and found right, as layercache.SectionLayer says: outputs
// copy it with the kernel, if the file is still as it was then.
func (l *verifiedLayer) BlobSection() (layercache.Section, bool) {
	h, err := l.Digest()
	if err != nil || l.img == nil {
		return layercache.Section{}, false
	}
	return l.img.trusted.get(h)
}

var _ layercache.SectionLayer = (*verifiedLayer)(nil)
