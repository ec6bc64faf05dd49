package transfer

import (
	"context"
	"errors"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Mounts remembers which repository of each registry the pushes of one run
// put each layer in, so that a later push of the same layer to another
// repository of that registry mounts it from there (the distribution
// spec's cross-repository mount, POST /v2/NAME/blobs/uploads/?mount=DIGEST&from=REPO)
// instead of uploading it again. A push that needs a layer another push is
// still uploading to the same registry waits for it, then mounts. One
// Mounts is shared by the writes of a run through WithMounts; it is safe
// for concurrent use. The zero value is not usable: use NewMounts.
type Mounts struct {
	mu    sync.Mutex
	blobs map[blobKey]*pushedBlob
}

// blobKey is a layer in a registry.
type blobKey struct {
	registry string
	digest   v1.Hash
}

// pushedBlob is a layer that a push put, or is putting, in a registry.
type pushedBlob struct {
	repo  name.Repository // where it is, once done is closed and ok
	ok    bool
	done  chan struct{} // closed when the push that uploads it ends
	owner *mountClaim
}

// mountClaim is one push's hold on the layers it uploads.
type mountClaim struct {
	m     *Mounts
	repo  name.Repository
	owned []blobKey
}

// NewMounts returns an empty record of pushed layers.
func NewMounts() *Mounts {
	return &Mounts{blobs: map[blobKey]*pushedBlob{}}
}

// WithMounts shares m between writes: a layer one of them pushed to a
// registry is mounted, not uploaded, by the others' pushes to other
// repositories of that registry. Without it each Write, WriteIndex or
// WriteAll has a record of its own (its destinations in several
// repositories of one registry share their layers).
func WithMounts(m *Mounts) Option {
	return func(o *options) error {
		if m == nil {
			return errors.New("WithMounts: nil record")
		}
		o.mounts = m
		return nil
	}
}

// claim takes the layers (digests) that a push to repo is to upload: each
// that an earlier push of the run put in another repository of the
// registry is returned, with that repository, to be mounted; each that
// another push is uploading there is waited for first; the others are
// this push's, until release.
func (m *Mounts) claim(ctx context.Context, repo name.Repository, digests []v1.Hash) (*mountClaim, map[v1.Hash]name.Repository, error) {
	c := &mountClaim{m: m, repo: repo}
	from := map[v1.Hash]name.Repository{}
	var waits []*pushedBlob
	m.mu.Lock()
	for _, h := range digests {
		k := blobKey{repo.RegistryStr(), h}
		b := m.blobs[k]
		switch {
		case b == nil:
			b = &pushedBlob{done: make(chan struct{}), owner: c}
			m.blobs[k] = b
			c.owned = append(c.owned, k)
		case b.owner == c:
		case b.ok:
			from[h] = b.repo
		default:
			waits = append(waits, b)
		}
	}
	m.mu.Unlock()
	// Pushes wait only for pushes that claimed before them: no cycle.
	for _, b := range waits {
		select {
		case <-b.done:
		case <-ctx.Done():
			c.release(false)
			return nil, nil, ctx.Err()
		}
	}
	m.mu.Lock()
	for _, h := range digests {
		if b := m.blobs[blobKey{repo.RegistryStr(), h}]; b != nil && b.ok && b.owner != c {
			from[h] = b.repo
		}
	}
	m.mu.Unlock()
	for h, r := range from {
		if r.String() == repo.String() {
			delete(from, h) // already there: remote skips it
		}
	}
	return c, from, nil
}

// release ends the push of c: its layers are in its repository if ok, and
// the next push uploads them otherwise.
func (c *mountClaim) release(ok bool) {
	c.m.mu.Lock()
	defer c.m.mu.Unlock()
	for _, k := range c.owned {
		b := c.m.blobs[k]
		if ok {
			b.repo, b.ok = c.repo, true
		} else {
			delete(c.m.blobs, k)
		}
		close(b.done)
	}
	c.owned = nil
}

// layerDigests are the digests of the layers of a, an image or an index
// (every image under it); layers whose digest is not known yet are left out.
func layerDigests(a any) ([]v1.Hash, error) {
	var out []v1.Hash
	seen := map[v1.Hash]bool{}
	var walk func(a any) error
	walk = func(a any) error {
		switch a := a.(type) {
		case v1.Image:
			ls, err := a.Layers()
			if err != nil {
				return err
			}
			for _, l := range ls {
				if h, err := l.Digest(); err == nil && !seen[h] {
					seen[h] = true
					out = append(out, h)
				}
			}
		case v1.ImageIndex:
			children, err := partial.Manifests(a)
			if err != nil {
				return err
			}
			for _, c := range children {
				if err := walk(c); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return out, walk(a)
}

// mountFrom returns a, an image or an index, with the layers of from
// mountable from the repository from gives them.
func mountFrom(a any, from map[v1.Hash]name.Repository) any {
	if len(from) == 0 {
		return a
	}
	switch a := a.(type) {
	case v1.Image:
		return &mountingImage{Image: a, from: from}
	case v1.ImageIndex:
		return &mountingIndex{idx: a, from: from}
	}
	return a
}

// mountingImage is an image whose layers are mountable from other
// repositories of the registry it is pushed to.
type mountingImage struct {
	v1.Image
	from map[v1.Hash]name.Repository
}

var _ v1.Image = (*mountingImage)(nil)

// Layers implements v1.Image.
func (i *mountingImage) Layers() ([]v1.Layer, error) {
	ls, err := i.Image.Layers()
	if err != nil {
		return nil, err
	}
	out := make([]v1.Layer, len(ls))
	for n, l := range ls {
		out[n] = i.mountable(l)
	}
	return out, nil
}

// LayerByDigest implements v1.Image.
func (i *mountingImage) LayerByDigest(h v1.Hash) (v1.Layer, error) {
	l, err := i.Image.LayerByDigest(h)
	if err != nil {
		return nil, err
	}
	return i.mountable(l), nil
}

// Descriptor keeps the descriptor of the image pushed, if it has one.
func (i *mountingImage) Descriptor() (*v1.Descriptor, error) {
	return partial.Descriptor(i.Image)
}

func (i *mountingImage) mountable(l v1.Layer) v1.Layer {
	if _, ok := l.(*remote.MountableLayer); ok {
		return l
	}
	h, err := l.Digest()
	if err != nil {
		return l
	}
	repo, ok := i.from[h]
	if !ok {
		return l
	}
	return &remote.MountableLayer{Layer: l, Reference: repo.Digest(h.String())}
}

// mountingIndex is an index whose images' layers are mountable.
type mountingIndex struct {
	idx  v1.ImageIndex
	from map[v1.Hash]name.Repository
}

var _ v1.ImageIndex = (*mountingIndex)(nil)

func (x *mountingIndex) MediaType() (types.MediaType, error)       { return x.idx.MediaType() }
func (x *mountingIndex) Digest() (v1.Hash, error)                  { return x.idx.Digest() }
func (x *mountingIndex) Size() (int64, error)                      { return x.idx.Size() }
func (x *mountingIndex) IndexManifest() (*v1.IndexManifest, error) { return x.idx.IndexManifest() }
func (x *mountingIndex) RawManifest() ([]byte, error)              { return x.idx.RawManifest() }

// Image implements v1.ImageIndex.
func (x *mountingIndex) Image(h v1.Hash) (v1.Image, error) {
	img, err := x.idx.Image(h)
	if err != nil {
		return nil, err
	}
	return &mountingImage{Image: img, from: x.from}, nil
}

// ImageIndex implements v1.ImageIndex.
func (x *mountingIndex) ImageIndex(h v1.Hash) (v1.ImageIndex, error) {
	idx, err := x.idx.ImageIndex(h)
	if err != nil {
		return nil, err
	}
	return &mountingIndex{idx: idx, from: x.from}, nil
}

// Manifests is what go-containerregistry pushes of an index: its
// children, with their layers mountable.
func (x *mountingIndex) Manifests() ([]partial.Describable, error) {
	children, err := partial.Manifests(x.idx)
	if err != nil {
		return nil, err
	}
	out := make([]partial.Describable, len(children))
	for n, c := range children {
		switch c := c.(type) {
		case v1.Image:
			out[n] = &mountingImage{Image: c, from: x.from}
		case v1.ImageIndex:
			out[n] = &mountingIndex{idx: c, from: x.from}
		default:
			out[n] = c
		}
	}
	return out, nil
}

// Descriptor keeps the descriptor of the index pushed, if it has one.
func (x *mountingIndex) Descriptor() (*v1.Descriptor, error) {
	return partial.Descriptor(x.idx)
}
