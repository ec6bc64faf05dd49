package packer

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
// 30s), for requests that can be sent again.
func WithRetryBackoff(b remote.Backoff) Option {
	return func(o *options) error {
		if b.Steps < 1 || b.Duration < 0 || b.Factor < 0 {
			return errors.New("WithRetryBackoff: want Steps >= 1 and no negative Duration or Factor")
		}
		o.retry = b
		return nil
	}
}

// retryAfterTransport sends a request again when the registry answers 429 or
// 503 with a Retry-After of at most maxRetryAfter, waiting as asked, up to
// three times. Requests whose body cannot be replayed are not resent here (go-
// containerregistry's own retries, with the backoff, redo the whole upload).
type retryAfterTransport struct{ next http.RoundTripper }

func (t retryAfterTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	for try := 0; ; try++ {
		resp, err := t.next.RoundTrip(req)
		if err != nil || try == 3 || (resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable) {
			return resp, err
		}
		wait, ok := retryAfter(resp.Header.Get("Retry-After"))
		if !ok || (req.Body != nil && req.Body != http.NoBody && req.GetBody == nil) {
			return resp, nil
		}
		if req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return resp, nil
			}
			req = req.Clone(req.Context())
			req.Body = body
		}
		resp.Body.Close()
		timer := time.NewTimer(wait)
		select {
		case <-req.Context().Done():
			timer.Stop()
			return nil, req.Context().Err()
		case <-timer.C:
		}
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
