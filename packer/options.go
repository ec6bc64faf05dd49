package packer

import (
	"fmt"
	"time"
)

// WithCache makes Build take layers from c, and put the layers it writes
// there (see Cache). Without it every layer is written into Spec.WorkDir.
func WithCache(c *Cache) Option {
	return func(o *options) error {
		if c == nil {
			return fmt.Errorf("WithCache: nil cache")
		}
		o.cache = c
		return nil
	}
}

// WithJobs sets how many blobs are uploaded at once when pushing; the
// default is go-containerregistry's (4). Before uploading a blob, Write asks
// the registry whether it has it (HEAD) and skips it if so.
func WithJobs(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("WithJobs(%d): want at least 1", n)
		}
		o.jobs = n
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
