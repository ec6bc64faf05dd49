package layercache

import (
	"errors"
	"io"
	"runtime"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// zstdFrame is how much of the tar each zstd frame holds. The blob is a
// sequence of independent frames (as RFC 8878 allows, and every zstd decoder
// reads), so that frames are compressed on all cores at once, as `zstd -T0`
// does; klauspost/compress's stream encoder uses about one. The size is fixed,
// so the output is the same on any machine. It trades size for memory: on
// node's 104 MB tar, 2 MiB frames give 37.69 MB, 4 MiB frames 37.25 MB, one
// stream 36.77 MB (+2.5% and +1.3%), and each frame in flight costs about
// three times its size (input, history, output), so that 4 MiB frames put a
// 1 GB program over 64 MiB of peak RSS and 2 MiB frames keep it near 50.
const zstdFrame = 2 << 20

// zstdWindow is the encoders' window: the zstd command's at level 3 (2 MiB,
// windowLog 21), and all of a frame.
const zstdWindow = 2 << 20

// maxZstdJobs bounds the frames compressed at once.
const maxZstdJobs = 8

// zstdWriter compresses what is written to it into independent zstd frames
// of zstdFrame bytes of input, several at once, and writes them to w in order.
//
// Its memory is fixed when it is made, and nothing is allocated per frame
// (a 1 GB program must not cost more than a 1 MB one): jobs+1 frame slots,
// each an input buffer and an output buffer, and jobs encoders, each with
// its history (a copy of the frame) and tables. With 2 cores that is about
// 30 MiB.
type zstdWriter struct {
	w      io.Writer
	cur    *zstdJob           // the slot being filled
	free   chan *zstdJob      // slots neither filled, compressed nor written
	encs   chan *zstd.Encoder // encoders not in use
	jobs   chan *zstdJob      // frames being compressed, in order
	done   chan struct{}      // closed when the writing goroutine has finished
	closed bool

	mu  sync.Mutex
	err error // the first error writing to w
}

// zstdJob is a frame slot: the input frame and, once ready is closed, the
// compressed frame.
type zstdJob struct {
	in, out []byte
	ready   chan struct{}
}

func newZstdWriter(w io.Writer, level int) (*zstdWriter, error) {
	n := min(runtime.GOMAXPROCS(0), maxZstdJobs)
	z := &zstdWriter{w: w, free: make(chan *zstdJob, n+1), encs: make(chan *zstd.Encoder, n),
		jobs: make(chan *zstdJob, n+1), done: make(chan struct{})}
	for range n {
		// WithLowerEncoderMem keeps the history to the window (the frame)
		// rather than twice it; the output is the same.
		enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.EncoderLevelFromZstd(level)),
			zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(zstdWindow), zstd.WithLowerEncoderMem(true))
		if err != nil {
			return nil, err
		}
		z.encs <- enc
	}
	for range n + 1 {
		// Frames of a program compress to well under half; a larger one
		// grows its output buffer once, which the slot then keeps.
		z.free <- &zstdJob{in: make([]byte, 0, zstdFrame), out: make([]byte, 0, zstdFrame/2)}
	}
	z.cur = <-z.free
	go z.writeFrames(z.jobs)
	return z, nil
}

func (z *zstdWriter) Write(p []byte) (int, error) {
	if err := z.failed(); err != nil {
		return 0, err
	}
	n := len(p)
	for len(p) > 0 {
		k := min(len(p), zstdFrame-len(z.cur.in))
		z.cur.in = append(z.cur.in, p[:k]...)
		p = p[k:]
		if len(z.cur.in) == zstdFrame {
			z.submit()
			z.cur = <-z.free
		}
	}
	return n, nil
}

// submit hands the filled slot to an encoder, waiting for a free one.
func (z *zstdWriter) submit() {
	job := z.cur
	job.ready = make(chan struct{})
	enc := <-z.encs
	z.jobs <- job
	go func() {
		job.out = enc.EncodeAll(job.in, job.out[:0])
		z.encs <- enc
		close(job.ready)
	}()
}

// writeFrames writes the compressed frames to w in order, and frees their
// slots.
func (z *zstdWriter) writeFrames(jobs <-chan *zstdJob) {
	defer close(z.done)
	for job := range jobs {
		<-job.ready
		if z.failed() == nil {
			if _, err := z.w.Write(job.out); err != nil {
				z.mu.Lock()
				z.err = err
				z.mu.Unlock()
			}
		}
		job.in = job.in[:0]
		z.free <- job
	}
}

func (z *zstdWriter) failed() error {
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.err
}

// Close compresses what is left and waits until every frame is written.
func (z *zstdWriter) Close() error {
	if z.closed {
		return errors.New("zstd writer closed twice")
	}
	z.closed = true
	if len(z.cur.in) > 0 {
		z.submit()
	}
	close(z.jobs)
	<-z.done
	close(z.encs)
	for enc := range z.encs {
		enc.Close()
	}
	return z.failed()
}
