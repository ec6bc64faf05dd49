package packer

import (
	"context"
	"io/fs"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/scratchpack/scratchpack/transfer"
)

// pendingBase is a base image being read while the program is analysed:
// Build starts reading it (its manifest and config, then the index of its
// layers, from the cache or from one pass over them) as soon as the
// program's platform is known, instead of after the analysis, so that
// the registry's round trips and the index's decoding overlap the
// analysis. The files OpenBase keeps or reads ahead depend on the
// analysis: they are asked for with want, which it waits for.
type pendingBase struct {
	cancel context.CancelFunc
	names  chan []string // baseNames, sent once by want
	sent   sync.Once
	done   chan struct{} // closed when the fields below are set
	img    v1.Image
	fsys   fs.FS
	bfs    *transfer.BaseFS
	err    error
}

// startBase starts reading spec.Base for platform.
func startBase(ctx context.Context, spec Spec, platform v1.Platform, o *options) *pendingBase {
	ctx, cancel := context.WithCancel(ctx)
	p := &pendingBase{cancel: cancel, names: make(chan []string, 1), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		p.img, p.fsys, p.bfs, p.err = loadBaseFS(ctx, spec, platform, o, p.wanted())
	}()
	return p
}

// wanted is wantedInBase of the names want sends, which it waits for
// when first called.
func (p *pendingBase) wanted() func(string) bool {
	var w func(string) bool
	var once sync.Once
	return func(name string) bool {
		once.Do(func() { w = wantedInBase(<-p.names) })
		return w(name)
	}
}

// want says which files the program will look for in the base (see
// baseNames); the first call counts.
func (p *pendingBase) want(names []string) {
	p.sent.Do(func() { p.names <- names })
}

// wait returns the base, its file system and its BaseFS (nil for scratch).
func (p *pendingBase) wait() (v1.Image, fs.FS, *transfer.BaseFS, error) {
	<-p.done
	return p.img, p.fsys, p.bfs, p.err
}

// stop abandons a base Build will not use: its reading stops.
func (p *pendingBase) stop() {
	p.cancel()
	p.want(nil)
}
