package packer

import (
	"errors"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/scratchpack/scratchpack/layercache"
	"github.com/scratchpack/scratchpack/transfer"
)

// Option configures Build, BuildIndex and Check.
type Option func(*options) error

type options struct {
	cache   *layercache.Cache // nil: no cache
	now     func() time.Time  // the clock, for the cache's racy-file check
	version string            // of scratchpack, for the image history
	images  []transfer.Option // how base images are read
	config  []func(*v1.ConfigFile) error
	ahead   *layercache.Ahead // where the base's blobs are copied while it is read
}

func makeOptions(opts ...Option) (*options, error) {
	o := &options{now: time.Now, version: "devel"}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// WithCache makes Build take layers from c, and put the layers it writes
// there (see layercache.Cache). Without it every layer is written into
// Spec.WorkDir.
func WithCache(c *layercache.Cache) Option {
	return func(o *options) error {
		if c == nil {
			return errors.New("WithCache: nil cache")
		}
		o.cache = c
		return nil
	}
}

// WithVersion is the version of scratchpack the image history names
// ("scratchpack VERSION pack NAME"); the default is "devel". It is part of
// the image, so it changes its digest.
func WithVersion(v string) Option {
	return func(o *options) error {
		if v == "" {
			return errors.New("WithVersion: empty version")
		}
		o.version = v
		return nil
	}
}

// WithImageOptions are how base images are read (registry credentials,
// timeouts, limits): see the transfer package.
func WithImageOptions(opts ...transfer.Option) Option {
	return func(o *options) error {
		o.images = append(o.images, opts...)
		return nil
	}
}

// WithImageConfig has fn finish each image's configuration file, last:
// what a caller that derives an image from another (slim) sets beyond
// Spec.Config, such as the volumes, the stop signal, a named user and the
// history. fn sees the platform in the file; the layers' diff IDs must
// stay as they are.
func WithImageConfig(fn func(*v1.ConfigFile) error) Option {
	return func(o *options) error {
		if fn == nil {
			return errors.New("WithImageConfig: nil function")
		}
		o.config = append(o.config, fn)
		return nil
	}
}

// withClock sets the clock the cache compares file times with (a test hook:
// files a test has just written are otherwise too recent to be cached).
func withClock(now func() time.Time) Option {
	return func(o *options) error {
		o.now = now
		return nil
	}
}

// WithAhead has Build start copying the blobs of its base that are
// stretches of local files to the outputs of a as soon as the base is
// loaded (transfer.WithCopyAhead), for the image's write to take (with
// transfer.WithAhead). The caller closes a once the image is written.
func WithAhead(a *layercache.Ahead) Option {
	return func(o *options) error {
		o.ahead = a
		return nil
	}
}
