package layercache

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"
)

// Ahead copies blobs that are sections of local files (a base's layers)
// to beside the paths an image will be written to, before it is written:
// the kernel copies while the base is read and checked and the program's
// layer is made, instead of after. PlaceBlobs takes a copy made ahead for
// its output in place of its own, but only a copy of a section that was
// checked whole, made while the section's file kept the stamp it had when
// it was checked; any other copy is thrown away. Close removes the copies
// no output took. A nil *Ahead copies nothing.
type Ahead struct {
	paths  []string
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	copies map[aheadKey]*aheadCopy
}

// aheadKey is one blob going to one output path.
type aheadKey struct {
	digest v1.Hash
	path   string
}

// aheadCopy is a copy of one section, under way until done is closed.
type aheadCopy struct {
	s             Section // as given: its stamp not known yet
	workers       int
	done          chan struct{}
	tmp           string // the copy; "" once taken or removed
	before, after Stamp  // of the section's file, around the copy
	ok            bool   // the copy has all of s's bytes
}

// NewAhead returns an Ahead for outputs written at paths (the files or
// layout directories the outputs will be renamed to); nil for none.
func NewAhead(paths ...string) *Ahead {
	seen := map[string]bool{}
	var clean []string
	for _, p := range paths {
		p = filepath.Clean(p)
		if !seen[p] {
			seen[p] = true
			clean = append(clean, p)
		}
	}
	if len(clean) == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Ahead{paths: clean, ctx: ctx, cancel: cancel, copies: map[aheadKey]*aheadCopy{}}
}

// Copy starts copying s, the blob with digest h, to a temporary file beside
// each output path, once per blob and path, on every core (see
// copySection). With yield, it is copied by one thread, by the kernel, at
// a lower priority (nice 10): for a copy made while the section is hashed,
// so that the hash, which the pack waits for, has its core (a first pack
// onto the 229 MB Debian base: 260 -> 251 ms, interleaved medians of 21;
// the copy runs in the kernel, beside the process's other threads).
func (a *Ahead) Copy(h v1.Hash, s Section, yield bool) {
	if a == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, p := range a.paths {
		k := aheadKey{h, p}
		if _, ok := a.copies[k]; ok || a.ctx.Err() != nil {
			continue
		}
		c := &aheadCopy{s: s, workers: runtime.GOMAXPROCS(0), done: make(chan struct{})}
		if yield {
			c.workers = 1
		}
		a.copies[k] = c
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			defer close(c.done)
			if yield {
				runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
				_ = unix.Setpriority(unix.PRIO_PROCESS, 0, 10)
			}
			c.copy(a.ctx, p)
		}()
	}
}

// copy copies c.s to a new file beside path, recording the stamps of the
// section's file before and after.
func (c *aheadCopy) copy(ctx context.Context, path string) {
	src, err := os.Open(c.s.Path)
	if err != nil {
		return
	}
	defer src.Close()
	if c.before, err = StampOf(src); err != nil {
		return
	}
	dst, err := CreateTemp(path)
	if err != nil {
		return
	}
	c.tmp = dst.Name()
	n, err := copySection(ctx, dst, src, c.s.Offset, c.s.Size, c.s.Offset == 0 && c.s.Size == c.before.Size, c.workers)
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if c.after, err = StampOf(src); err == nil && n == c.s.Size {
		c.ok = true
	}
}

// Taker gives PlaceBlobs the copy made ahead of a blob, if there is a good
// one: see Ahead.For.
type Taker func(h v1.Hash, checked Section) (tmp string, ok bool)

// For is what PlaceBlobs takes the copies made ahead for the output at path
// from (nil if a is).
func (a *Ahead) For(path string) Taker {
	if a == nil {
		return nil
	}
	path = filepath.Clean(path)
	return func(h v1.Hash, checked Section) (string, bool) { return a.take(h, path, checked) }
}

// take waits for the copy of blob h for path, and hands its file over if
// it is a whole copy of the section checked, made while the section's file
// had the stamp it had when it was checked. A copy not handed over is
// removed.
func (a *Ahead) take(h v1.Hash, path string, checked Section) (string, bool) {
	a.mu.Lock()
	c := a.copies[aheadKey{h, path}]
	a.mu.Unlock()
	if c == nil {
		return "", false
	}
	<-c.done
	a.mu.Lock()
	defer a.mu.Unlock()
	tmp := c.tmp
	if tmp == "" {
		return "", false
	}
	c.tmp = ""
	same := c.s.Path == checked.Path && c.s.Offset == checked.Offset && c.s.Size == checked.Size
	if c.ok && same && c.before == checked.Stamp && c.after == checked.Stamp {
		return tmp, true
	}
	_ = os.Remove(tmp)
	return "", false
}

// Close stops the copies under way and removes every copy not taken.
func (a *Ahead) Close() {
	if a == nil {
		return
	}
	a.cancel()
	a.wg.Wait()
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, c := range a.copies {
		if c.tmp != "" {
			_ = os.Remove(c.tmp)
			c.tmp = ""
		}
	}
}
