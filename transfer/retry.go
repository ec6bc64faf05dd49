package transfer

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// DefaultRetryBackoff is how registry requests are retried when a connection
// drops or the registry answers 408, 429, 500, 502, 503 or 504: after 1s, 2s,
// 4s and 8s (±10%), then the error is returned.
var DefaultRetryBackoff = remote.Backoff{Duration: time.Second, Factor: 2, Jitter: 0.1, Steps: 5}

// retryStatusCodes are the answers worth asking again.
var retryStatusCodes = []int{
	http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
	http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout,
}

// maxRetryAfter caps how long a registry's Retry-After can make a request wait.
const maxRetryAfter = 30 * time.Second

// WithRetryBackoff sets how registry requests are retried after transient
// failures (dropped connections, 408, 429 and 5xx answers); Steps is the
// number of tries in all, so Steps 1 never retries. The default is
// DefaultRetryBackoff. A Retry-After on a 429 or 503 is honoured first (up to
// 30s for one answer and 30s in all for one operation), for requests that
// can be sent again.
func WithRetryBackoff(b remote.Backoff) Option {
	return func(o *options) error {
		if b.Steps < 1 || b.Duration < 0 || b.Factor < 0 {
			return errors.New("WithRetryBackoff: want Steps >= 1 and no negative Duration or Factor")
		}
		o.retry = b
		return nil
	}
}

// retryAfter parses a Retry-After in seconds or as an HTTP date.
func retryAfter(v string) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	var d time.Duration
	if s, err := strconv.Atoi(v); err == nil {
		d = time.Duration(s) * time.Second
	} else if at, err := http.ParseTime(v); err == nil {
		d = time.Until(at)
	} else {
		return 0, false
	}
	if d < 0 {
		d = 0
	}
	return d, d <= maxRetryAfter
}
