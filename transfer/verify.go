package transfer

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/scratchpack/scratchpack/layercache"
)

// ErrCorruptBlob is wrapped when a blob read from an image (a layer, a
// config) does not match its digest, or a layer's tar its diff_id.
var ErrCorruptBlob = errors.New("blob does not match its digest")

// ErrTooLarge is wrapped when a manifest, a config or a layer is larger than
// scratchpack reads, or unpacks to more than there is room for.
var ErrTooLarge = errors.New("too large")

// ErrUnpackLimit is wrapped (it is also ErrTooLarge) when a layer unpacks
// to more than WithMaxUnpack allows.
var ErrUnpackLimit = errors.New("layer unpacks past the limit")

// limitError is the error of a layer past the unpack limit.
type limitError string

func (e limitError) Error() string        { return string(e) }
func (e limitError) Is(target error) bool { return target == ErrTooLarge || target == ErrUnpackLimit }

// Caps on what is read from an image.
const (
	// MaxConfigSize bounds an image configuration: real ones are a few kB;
	// registries refuse larger manifests than 4 MiB.
	MaxConfigSize = 8 << 20
	// MaxManifestSize bounds a manifest or an index, as registries do.
	MaxManifestSize = 4 << 20
	// DefaultMaxUnpack bounds the uncompressed size of one layer, unless
	// WithMaxUnpack says otherwise.
	DefaultMaxUnpack = 32 << 30
)

// WithMaxUnpack sets how many bytes one layer of an image read by LoadBase,
// Load or List may unpack to (DefaultMaxUnpack by default): a gzip bomb
// fails with ErrTooLarge when it passes n, not when the disk is full.
func WithMaxUnpack(n int64) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("WithMaxUnpack(%d): want at least 1 byte", n)
		}
		o.maxUnpack = n
		return nil
	}
}

// verifiedImage is an image whose blobs are checked as they are read: the
// config against its digest (and MaxConfigSize, before it is read), each
// layer's bytes against its digest and size, and its tar against its
// diff_id and the unpack cap. Errors name the image and the layer.
type verifiedImage struct {
	v1.Image
	name      string
	maxUnpack int64
	trusted   trustedSections
	config    struct {
		once sync.Once
		raw  []byte
		err  error
	}
}

// verifyImage wraps img (read from name) so that every blob of it is
// checked, and refuses at once a config larger than MaxConfigSize.
func verifyImage(img v1.Image, name string, o *options) (v1.Image, error) {
	m, err := img.Manifest()
	if err != nil {
		return nil, err
	}
	if m.Config.Size > MaxConfigSize {
		return nil, fmt.Errorf("%w: the image's config is %d bytes, more than the %d scratchpack reads", ErrTooLarge, m.Config.Size, MaxConfigSize)
	}
	return &verifiedImage{Image: img, name: name, maxUnpack: o.maxUnpack}, nil
}

// RawConfigFile is the config, checked against its digest once.
func (i *verifiedImage) RawConfigFile() ([]byte, error) {
	i.config.once.Do(func() { i.config.raw, i.config.err = i.readConfig() })
	return i.config.raw, i.config.err
}

func (i *verifiedImage) readConfig() ([]byte, error) {
	m, err := i.Manifest()
	if err != nil {
		return nil, err
	}
	raw, err := i.Image.RawConfigFile()
	if err != nil {
		return nil, err
	}
	if int64(len(raw)) > MaxConfigSize {
		return nil, fmt.Errorf("%w: the config of %s is %d bytes, more than the %d scratchpack reads", ErrTooLarge, i.name, len(raw), MaxConfigSize)
	}
	if got := sha256.Sum256(raw); m.Config.Digest.Algorithm == "sha256" && hex.EncodeToString(got[:]) != m.Config.Digest.Hex {
		return nil, fmt.Errorf("%w: the config of %s has digest sha256:%x, its manifest says %s", ErrCorruptBlob, i.name, got, m.Config.Digest)
	}
	return raw, nil
}

func (i *verifiedImage) ConfigFile() (*v1.ConfigFile, error) {
	raw, err := i.RawConfigFile()
	if err != nil {
		return nil, err
	}
	return v1.ParseConfigFile(bytes.NewReader(raw))
}

func (i *verifiedImage) Layers() ([]v1.Layer, error) {
	ls, err := i.Image.Layers()
	if err != nil {
		return nil, err
	}
	out := make([]v1.Layer, len(ls))
	for n, l := range ls {
		out[n] = i.wrap(l, n)
	}
	return out, nil
}

func (i *verifiedImage) LayerByDigest(h v1.Hash) (v1.Layer, error) {
	l, err := i.Image.LayerByDigest(h)
	if err != nil {
		return nil, err
	}
	return i.wrap(l, i.indexOf(l)), nil
}

func (i *verifiedImage) LayerByDiffID(h v1.Hash) (v1.Layer, error) {
	l, err := i.Image.LayerByDiffID(h)
	if err != nil {
		return nil, err
	}
	return i.wrap(l, i.indexOf(l)), nil
}

// indexOf is the position of l among the image's layers, -1 if unknown.
func (i *verifiedImage) indexOf(l v1.Layer) int {
	h, err := l.Digest()
	if err != nil {
		return -1
	}
	m, err := i.Manifest()
	if err != nil {
		return -1
	}
	for n, d := range m.Layers {
		if d.Digest == h {
			return n
		}
	}
	return -1
}

// wrap checks l, the layer at index n. A layer that can be mounted from
// its registry stays one.
func (i *verifiedImage) wrap(l v1.Layer, n int) v1.Layer {
	if ml, ok := l.(*remote.MountableLayer); ok {
		return &remote.MountableLayer{Layer: i.wrap(ml.Layer, n), Reference: ml.Reference}
	}
	what := fmt.Sprintf("layer %d", n+1)
	if n < 0 {
		what = "a layer"
	}
	vl := &verifiedLayer{Layer: l, what: what + " of " + i.name, maxUnpack: i.maxUnpack, img: i}
	// The diff_id the config says, not one computed from the blob (ggcr
	// does that for some sources, reading bytes not yet checked).
	if cf, err := i.ConfigFile(); err == nil && n >= 0 && n < len(cf.RootFS.DiffIDs) {
		vl.diffID = &cf.RootFS.DiffIDs[n]
	}
	return vl
}

// verifiedLayer is a layer of a verifiedImage.
type verifiedLayer struct {
	v1.Layer
	what      string // "layer 2 of oci:base:v1"
	maxUnpack int64
	diffID    *v1.Hash // from the image's config
	img       *verifiedImage
}

// DiffID is the diff_id the image's config gives the layer.
func (l *verifiedLayer) DiffID() (v1.Hash, error) {
	if l.diffID != nil {
		return *l.diffID, nil
	}
	return l.Layer.DiffID()
}

// Compressed returns the blob, which fails at its end unless it has the
// layer's digest and size.
//
// Its source is read on a goroutine of its own, a few chunks ahead of the
// caller's, which computes the digest: a registry's blob is hashed twice,
// by ggcr as it is read and by the digestReader, and so the two hashes run
// on two cores. A cached pack onto the 87 MB gzip layer of a local
// registry's base, written to a docker-archive: 321 -> 282 ms (hyperfine,
// 12 runs; crane append -o: 209 ms). Reading the digestReader ahead, both
// hashes on one goroutine, gained nothing.
func (l *verifiedLayer) Compressed() (io.ReadCloser, error) {
	d, err := l.blob()
	if err != nil {
		return nil, err // not a nil *digestReader in an interface
	}
	d.rc = newAheadSource(d.rc)
	return d, nil
}

// aheadSource is a blob's source read ahead (see Compressed).
type aheadSource struct {
	*readAhead
	src    io.ReadCloser
	stop   chan struct{}
	closed bool
}

func newAheadSource(src io.ReadCloser) *aheadSource {
	stop := make(chan struct{})
	return &aheadSource{readAhead: newReadAhead(src, blobChunk, blobAhead, stop), src: src, stop: stop}
}

// Close stops the reading, and closes the source once no goroutine reads it.
func (a *aheadSource) Close() error {
	if a.closed {
		return nil
	}
	a.closed = true
	close(a.stop)
	a.wait()
	return a.src.Close()
}

// blob returns the blob, checked by a digestReader, read where it is read.
func (l *verifiedLayer) blob() (*digestReader, error) {
	h, err := l.Digest()
	if err != nil {
		return nil, err
	}
	size, err := l.Size()
	if err != nil {
		return nil, err
	}
	rc, err := l.Layer.Compressed()
	if err != nil {
		return nil, err
	}
	return &digestReader{rc: rc, h: sha256.New(), want: h, size: size, what: l.what}, nil
}

// Uncompressed decompresses the checked blob, and fails at the end of the
// tar unless it has the layer's diff_id (and its blob its digest), or as
// soon as it passes the unpack cap. A blob that cannot be decompressed is
// reported as not matching its digest, when it does not.
//
// The work is spread over the cores as a pipeline: one goroutine reads the
// blob and computes its digest, another decompresses it, and the reader's
// own computes the diff_id of what it reads (readAhead). The verdicts are
// the same as if it were all done in one: nothing is trusted before the
// end of the tar, where both digests are compared.
func (l *verifiedLayer) Uncompressed() (io.ReadCloser, error) {
	diffID, err := l.DiffID()
	if err != nil {
		return nil, err
	}
	d, err := l.blob()
	if err != nil {
		return nil, err
	}
	p := newLayerPipe(d)
	br := bufio.NewReaderSize(p.blob, 64<<10)
	magic, _ := br.Peek(4)
	c := layercache.Uncompressed
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		c = layercache.Gzip
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		c = layercache.Zstd
	}
	// The pipe closes the blob, once its stages are done with it.
	dec, err := c.Decompressor(readCloser{br, func() error { return nil }})
	if err != nil {
		err = p.blob.explain(err)
		p.Close()
		return nil, err
	}
	p.dec = dec
	var tr io.Reader = dec
	if c != layercache.Uncompressed {
		p.tar = newReadAhead(dec, tarChunk, tarAhead, p.stop)
		tr = p.tar
	}
	r := &diffIDReader{r: readCloser{tr, p.Close}, blob: p.blob, h: sha256.New(), want: diffID, max: l.maxUnpack, what: l.what}
	if c == layercache.Uncompressed && diffID == d.want {
		r.h = nil // the tar is the blob: checking its digest checks its diff_id
	}
	return r, nil
}

// digestReader checks, at its end, the size and digest of what it read.
type digestReader struct {
	rc   io.ReadCloser
	h    hash.Hash
	want v1.Hash
	size int64
	n    int64
	what string
	err  error // the verdict, once the end was reached
	done bool
}

func (r *digestReader) Read(p []byte) (int, error) {
	if r.done {
		return 0, r.final()
	}
	n, err := r.rc.Read(p)
	r.h.Write(p[:n])
	r.n += int64(n)
	if r.n > r.size {
		r.done, r.err = true, fmt.Errorf("%w: %s has more than its %d bytes", ErrCorruptBlob, r.what, r.size)
		return n, r.err
	}
	switch {
	case errors.Is(err, io.EOF):
		r.done = true
		if r.err = r.verdict(); r.err != nil {
			return n, r.err
		}
	case err != nil && r.n == r.size:
		// A reader that checks digests itself (ggcr's, for registries)
		// fails at the end; say it as for any other source.
		if v := r.verdict(); v != nil {
			r.done, r.err = true, v
			return n, v
		}
	}
	return n, err
}

func (r *digestReader) final() error {
	if r.err != nil {
		return r.err
	}
	return io.EOF
}

// verdict compares what was read with the size and digest wanted.
func (r *digestReader) verdict() error {
	if r.want.Algorithm != "sha256" {
		return nil // not a digest this reader computes; ggcr checked it, if it could
	}
	if got := hex.EncodeToString(r.h.Sum(nil)); r.n != r.size || got != r.want.Hex {
		return fmt.Errorf("%w: %s is %d bytes with digest sha256:%s, its manifest says %d bytes, %s", ErrCorruptBlob, r.what, r.n, got, r.size, r.want)
	}
	return nil
}

func (r *digestReader) Close() error { return r.rc.Close() }

// diffIDReader checks, at the end of a layer's tar, its diff_id, and that
// the blob it came from was whole; it fails as soon as the tar passes max.
type diffIDReader struct {
	r    io.ReadCloser
	blob *aheadBlob
	h    hash.Hash
	want v1.Hash
	n    int64
	max  int64
	what string
	err  error
}

func (r *diffIDReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	n, err := r.r.Read(p)
	if r.h != nil {
		r.h.Write(p[:n])
	}
	r.n += int64(n)
	if r.max > 0 && r.n > r.max {
		r.err = limitError(fmt.Sprintf("%s unpacks to more than the limit of %d bytes", r.what, r.max))
		return n, r.err
	}
	switch {
	case err == nil:
		return n, nil
	case errors.Is(err, io.EOF):
		// The blob's end: what the decompressor left unread, then its digest.
		if _, derr := io.Copy(io.Discard, r.blob); derr != nil {
			r.err = r.blob.explain(derr)
			return n, r.err
		}
		if r.want.Algorithm == "sha256" && r.h != nil {
			if got := hex.EncodeToString(r.h.Sum(nil)); got != r.want.Hex {
				r.err = fmt.Errorf("%w: %s unpacks to a tar with diff_id sha256:%s, its config says %s", ErrCorruptBlob, r.what, got, r.want)
				return n, r.err
			}
		}
		return n, io.EOF
	default:
		r.err = r.blob.explain(err)
		return n, r.err
	}
}

func (r *diffIDReader) Close() error { return r.r.Close() }

// verifiedIndex is an index whose images are verifiedImages.
type verifiedIndex struct {
	idx  v1.ImageIndex
	name string
	o    *options
}

var _ v1.ImageIndex = (*verifiedIndex)(nil)

// newVerifiedIndex wraps idx, read from name.
func newVerifiedIndex(idx v1.ImageIndex, name string, o *options) v1.ImageIndex {
	return &verifiedIndex{idx: idx, name: name, o: o}
}

func (x *verifiedIndex) MediaType() (types.MediaType, error)       { return x.idx.MediaType() }
func (x *verifiedIndex) Digest() (v1.Hash, error)                  { return x.idx.Digest() }
func (x *verifiedIndex) Size() (int64, error)                      { return x.idx.Size() }
func (x *verifiedIndex) IndexManifest() (*v1.IndexManifest, error) { return x.idx.IndexManifest() }
func (x *verifiedIndex) RawManifest() ([]byte, error)              { return x.idx.RawManifest() }

func (x *verifiedIndex) Image(h v1.Hash) (v1.Image, error) {
	img, err := x.idx.Image(h)
	if err != nil {
		return nil, err
	}
	return verifyImage(img, x.name+"@"+h.String(), x.o)
}

func (x *verifiedIndex) ImageIndex(h v1.Hash) (v1.ImageIndex, error) {
	idx, err := x.idx.ImageIndex(h)
	if err != nil {
		return nil, err
	}
	return newVerifiedIndex(idx, x.name+"@"+h.String(), x.o), nil
}

// blobFault is err, met while reading the tar of layer rc, unless the
// layer's bytes do not match their digest or diff_id: then that is the
// fault (a flipped byte shows first as a bad tar header or a bad checksum
// of the compression). The rest of rc is read to tell.
func blobFault(rc io.Reader, err error) error {
	r, ok := rc.(*diffIDReader)
	if !ok || err == nil || errors.Is(err, ErrCorruptBlob) || errors.Is(err, ErrTooLarge) {
		return err
	}
	if _, derr := io.Copy(io.Discard, r); errors.Is(derr, ErrCorruptBlob) {
		return derr
	}
	return err
}

// readCloser reads from a Reader and closes with a function of its own.
type readCloser struct {
	io.Reader
	close func() error
}

func (r readCloser) Close() error { return r.close() }
