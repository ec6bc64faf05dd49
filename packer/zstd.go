package packer

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
// so the output is the same on any machine: 4 MiB frames cost 1.7% of size
// on node's 104 MB against one stream, and keep memory at a few frames.
const zstdFrame = 4 << 20

// maxZstdJobs bounds the frames compressed at once, and so the memory:
// about (jobs+1) input frames and jobs output frames.
const maxZstdJobs = 8

// zstdWriter compresses what is written to it into independent zstd frames
// of zstdFrame bytes of input, several at once, and writes them to w in order.
type zstdWriter struct {
	w      io.Writer
	buf    []byte // the frame being filled
	encs   chan *zstd.Encoder
	jobs   chan *zstdJob // frames being compressed, in order
	bufs   sync.Pool     // input frames
	done   chan struct{} // closed when the writing goroutine has finished
	closed bool

	mu  sync.Mutex
	err error // the first error writing to w
}

type zstdJob struct {
	in, out []byte
	ready   chan struct{}
}

func newZstdWriter(w io.Writer, level int) (*zstdWriter, error) {
	n := min(runtime.GOMAXPROCS(0), maxZstdJobs)
	z := &zstdWriter{w: w, encs: make(chan *zstd.Encoder, n), jobs: make(chan *zstdJob, n), done: make(chan struct{})}
	z.bufs.New = func() any { return make([]byte, 0, zstdFrame) }
	for range n {
		enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.EncoderLevelFromZstd(level)),
			zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(zstdFrame))
		if err != nil {
			return nil, err
		}
		z.encs <- enc
	}
	z.buf = z.bufs.Get().([]byte)
	go z.writeFrames(z.jobs)
	return z, nil
}

func (z *zstdWriter) Write(p []byte) (int, error) {
	if err := z.failed(); err != nil {
		return 0, err
	}
	n := len(p)
	for len(p) > 0 {
		k := min(len(p), zstdFrame-len(z.buf))
		z.buf = append(z.buf, p[:k]...)
		p = p[k:]
		if len(z.buf) == zstdFrame {
			z.submit()
		}
	}
	return n, nil
}

// submit hands the full frame to an encoder, waiting for a free one.
func (z *zstdWriter) submit() {
	job := &zstdJob{in: z.buf, ready: make(chan struct{})}
	z.buf = z.bufs.Get().([]byte)[:0]
	enc := <-z.encs
	z.jobs <- job
	go func() {
		job.out = enc.EncodeAll(job.in, make([]byte, 0, len(job.in)/2))
		z.encs <- enc
		close(job.ready)
	}()
}

// writeFrames writes the compressed frames to w in order.
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
		z.bufs.Put(job.in[:0])
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
	if len(z.buf) > 0 {
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
