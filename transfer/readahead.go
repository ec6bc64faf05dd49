package transfer

import (
	"errors"
	"fmt"
	"io"
)

// errPipeClosed is what a stage of a closed pipeline reads.
var errPipeClosed = errors.New("read from a closed layer reader")

// Sizes of the stages of a layer's pipeline (see verifiedLayer.Uncompressed):
// the blob is read, and its digest computed, up to blobAhead chunks of
// blobChunk bytes ahead of the decompressor, which runs up to tarAhead
// chunks of tarChunk bytes ahead of the reader of the tar. A gzip bomb
// costs no more than those chunks before the unpack cap stops it.
const (
	blobChunk = 256 << 10
	blobAhead = 4
	tarChunk  = 1 << 20
	tarAhead  = 3
)

// readAhead reads src on a goroutine of its own, in chunks of up to size
// bytes, at most depth chunks ahead of its reader: a stage of a pipeline
// whose stages run on different cores. Each chunk is delivered whole
// before the error that ended it. Only one goroutine may call Read. The
// source is read by the stage's goroutine alone, never at the same time as
// it is closed: once stop is closed, the goroutine returns after the read
// in progress (Read returns errPipeClosed at once), and wait returns when
// it has.
type readAhead struct {
	src    io.Reader
	size   int
	chunks chan aheadChunk
	free   chan []byte
	stop   <-chan struct{}
	exited chan struct{}
	cur    aheadChunk
}

// aheadChunk is a chunk read: b[off:] are the bytes left to deliver, then
// err, if any.
type aheadChunk struct {
	b   []byte
	off int
	err error
}

// newReadAhead starts reading src ahead; closing stop ends it.
func newReadAhead(src io.Reader, size, depth int, stop <-chan struct{}) *readAhead {
	r := &readAhead{
		src:    src,
		size:   size,
		chunks: make(chan aheadChunk, depth),
		free:   make(chan []byte, depth+2),
		stop:   stop,
		exited: make(chan struct{}),
	}
	go r.fill(depth + 2)
	return r
}

// fill reads src into chunks until it fails or ends, or stop is closed. It
// makes buffers as it needs them, up to max (the chunks queued, the one
// being filled and the one being read), and then reuses those Read is
// done with.
func (r *readAhead) fill(max int) {
	defer close(r.exited)
	made := 0
	for {
		var buf []byte
		select {
		case buf = <-r.free:
		case <-r.stop:
			return
		default:
			if made < max {
				buf, made = make([]byte, r.size), made+1
				break
			}
			select {
			case buf = <-r.free:
			case <-r.stop:
				return
			}
		}
		n := 0
		var err error
		for n < len(buf) && err == nil {
			select {
			case <-r.stop:
				return
			default:
			}
			var m int
			m, err = r.src.Read(buf[n:])
			n += m
		}
		select {
		case r.chunks <- aheadChunk{b: buf[:n], err: err}:
		case <-r.stop:
			return
		}
		if err != nil {
			return
		}
	}
}

func (r *readAhead) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for r.cur.off == len(r.cur.b) {
		if r.cur.err != nil {
			return 0, r.cur.err
		}
		if r.cur.b != nil {
			r.free <- r.cur.b[:cap(r.cur.b)] // never blocks: free holds every buffer
		}
		select {
		case r.cur = <-r.chunks:
		case <-r.stop:
			r.cur = aheadChunk{err: errPipeClosed}
		}
	}
	n := copy(p, r.cur.b[r.cur.off:])
	r.cur.off += n
	return n, nil
}

// wait returns once the stage's goroutine has: after stop is closed, or
// after the end of src was delivered.
func (r *readAhead) wait() { <-r.exited }

// layerPipe is the pipeline of verifiedLayer.Uncompressed: the blob read
// ahead through its digestReader, the decompressor, and the tar read ahead
// out of it (nil for an uncompressed blob).
type layerPipe struct {
	stop   chan struct{}
	closed bool
	d      *digestReader
	blob   *aheadBlob
	dec    io.ReadCloser
	tar    *readAhead
}

// newLayerPipe starts reading d ahead.
func newLayerPipe(d *digestReader) *layerPipe {
	p := &layerPipe{stop: make(chan struct{}), d: d}
	p.blob = &aheadBlob{readAhead: newReadAhead(d, blobChunk, blobAhead, p.stop), d: d}
	return p
}

// Close stops the stages and closes what they read, each once no
// goroutine reads it any more.
func (p *layerPipe) Close() error {
	if p.closed {
		return nil
	}
	p.closed = true
	close(p.stop)
	if p.tar != nil {
		p.tar.wait()
	}
	if p.dec != nil {
		p.dec.Close() // a decompressor has nothing to flush: its Close only frees
	}
	p.blob.wait()
	return p.d.Close()
}

// aheadBlob is a layer's blob read ahead through its digestReader.
type aheadBlob struct {
	*readAhead
	d *digestReader
}

// explain turns err, met while decompressing, into the blob's own failure
// if its bytes do not match their digest: the rest is read to tell, through
// the stage, whose goroutine is the only one that reads d.
func (b *aheadBlob) explain(err error) error {
	if _, derr := io.Copy(io.Discard, b); derr != nil && errors.Is(derr, ErrCorruptBlob) {
		return derr
	}
	b.wait() // the stage delivered its end, or was stopped: d is ours
	if b.d.err != nil {
		return b.d.err
	}
	return fmt.Errorf("decompressing %s: %w", b.d.what, err)
}
