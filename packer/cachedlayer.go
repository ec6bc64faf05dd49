package packer

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/scratchpack/scratchpack/layercache"
)

// makeLayer takes the layer of s from c, or writes it (into c if c is not
// nil, else into o.Dir). rebuilt is why an existing entry could not be used.
func makeLayer(s *FileSet, o LayerOptions, c *layercache.Cache, now func() time.Time) (l *layercache.Layer, rebuilt error, err error) {
	if c == nil {
		l, err := writeLayerFile(s, o)
		return l, nil, err
	}
	level, err := o.Compression.Level(o.Level)
	if err != nil {
		return nil, nil, err
	}
	key, ok, err := layerKey(s, o.Compression, level, o.MTime, now())
	if err != nil {
		return nil, nil, fmt.Errorf("%w: computing the cache key: %w", layercache.ErrUnusable, err)
	}
	if !ok {
		l, err := writeLayerFile(s, o) // a source changed just now: do not cache
		return l, nil, err
	}
	l, err = c.Get(key)
	switch {
	case l != nil:
		return l, nil, nil
	case errors.Is(err, layercache.ErrCorrupt):
		rebuilt = err
	case err != nil:
		return nil, nil, fmt.Errorf("%w: reading %s: %w", layercache.ErrUnusable, c.Dir(), err)
	}
	o.Dir = c.TmpDir()
	if l, err = writeLayerFile(s, o); err != nil {
		return nil, nil, fmt.Errorf("%w: writing into %s: %w", layercache.ErrUnusable, c.Dir(), err)
	}
	// A source that changed while it was read may have given a layer that
	// matches neither its old nor its new content.
	after, _, err := layerKey(s, o.Compression, level, o.MTime, now())
	if err == nil && after != key {
		err = errors.New("a file changed while it was being packed: pack again")
	}
	if err == nil {
		err = c.Put(key, l)
	}
	if err != nil {
		os.Remove(l.Path())
		return nil, nil, err
	}
	return l, rebuilt, nil
}
