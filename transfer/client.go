package transfer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// DefaultTimeout is how long a registry may keep scratchpack waiting, unless
// WithTimeout says otherwise: to connect, to finish a TLS handshake, to
// begin its answer, and between two pieces of a body it sends or receives.
const DefaultTimeout = 30 * time.Second

// maxRedirects is how many redirects a request follows, as Go's own client
// does (go-containerregistry's redirect check replaces that limit).
const maxRedirects = 10

// maxRetryAfterTotal bounds the time spent waiting as registries ask with
// Retry-After during one operation (a pull, a push): after that, answers
// 429 and 503 are retried with the backoff only.
const maxRetryAfterTotal = 30 * time.Second

// ErrRegistryTimeout is wrapped when a registry kept scratchpack waiting
// longer than the timeout: it did not connect, answer, or go on sending.
var ErrRegistryTimeout = errors.New("registry timed out")

// ErrCleartextCredentials is wrapped when a registry asks for its
// credentials to be sent to a token server on another host over plain
// HTTP, which is refused unless the registry was declared insecure.
var ErrCleartextCredentials = errors.New("credentials would be sent in clear text")

// WithTimeout sets how long a registry may keep scratchpack waiting: to
// connect, to finish a TLS handshake, to begin an answer, and between two
// pieces of a body, up or down (DefaultTimeout by default). A registry that
// times out fails at once, without retries.
func WithTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("WithTimeout(%v): want a positive duration", d)
		}
		o.timeout = d
		return nil
	}
}

// withRetryAfterCap sets maxRetryAfterTotal (a test hook).
func withRetryAfterCap(d time.Duration) Option {
	return func(o *options) error {
		o.retryAfterCap = d
		return nil
	}
}

// httpTransport is the transport to registries: go-containerregistry's
// default, with the timeouts of WithTimeout and, unless nil, the TLS
// configuration tc.
func httpTransport(timeout time.Duration, tc *tls.Config) http.RoundTripper {
	t := remote.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = timeout
	t.ResponseHeaderTimeout = timeout
	if tc != nil {
		t.TLSClientConfig = tc
	}
	return t
}

// failingTransport fails every request with err: the transport of a
// registry whose certificates could not be read.
type failingTransport struct{ err error }

func (f failingTransport) RoundTrip(*http.Request) (*http.Response, error) { return nil, f.err }

// registryStats counts, over one operation, what the registries answered
// (or dropped), so that an error can say it truthfully.
type registryStats struct {
	mu       sync.Mutex
	start    time.Time
	requests int           // answered or dropped
	failed   int           // answered 429 or 5xx, or dropped
	waited   time.Duration // sleeping as Retry-After asked
}

func (s *registryStats) count(failed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.requests == 0 {
		s.start = time.Now()
	}
	s.requests++
	if failed {
		s.failed++
	}
}

// wait takes d of the Retry-After budget, if there is that much left.
func (s *registryStats) wait(d, limit time.Duration) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.waited+d > limit {
		return false
	}
	s.waited += d
	return true
}

// String says how the operation went: "7 of 9 requests failed over 12s,
// waited 10s as the registry asked with Retry-After (at most 30s in all)".
func (s *registryStats) describe(limit time.Duration) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	msg := fmt.Sprintf("%d of %d requests failed over %s", s.failed, s.requests, time.Since(s.start).Round(100*time.Millisecond))
	if s.waited > 0 {
		msg += fmt.Sprintf(", waited %s of it as the registry asked with Retry-After (at most %s in all)", s.waited.Round(100*time.Millisecond), limit)
	}
	return msg
}

// registryTransport is what every request to a registry goes through,
// beneath go-containerregistry's authentication and retries: it counts
// answers, waits as Retry-After asks (within a budget), stops redirect
// loops, refuses to send a registry's credentials in clear text to another
// host, bounds manifests, and fails a registry that keeps it waiting.
type registryTransport struct {
	next     http.RoundTripper
	registry string // host[:port] of the registry the operation is for
	insecure bool   // declared insecure (WithInsecure)
	timeout  time.Duration
	waitCap  time.Duration
	stats    *registryStats
	pings    *Pings // nil: pings are sent every time
}

func (o *options) registryTransport(reg name.Registry) http.RoundTripper {
	next := o.transport
	if next == nil {
		tc, err := o.tlsConfig(reg)
		if err != nil {
			next = failingTransport{err}
		} else {
			next = httpTransport(o.timeout, tc)
		}
	}
	return &registryTransport{next: next, registry: reg.RegistryStr(), insecure: o.insecure, timeout: o.timeout, waitCap: o.waitCap(), stats: o.stats, pings: o.pings}
}

// waitCap is the budget of Retry-After waits of one operation.
func (o *options) waitCap() time.Duration {
	if o.retryAfterCap > 0 {
		return o.retryAfterCap
	}
	return maxRetryAfterTotal
}

func (t *registryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	hops := 0
	for r := req.Response; r != nil && r.Request != nil; r = r.Request.Response {
		hops++
	}
	if hops > maxRedirects {
		return nil, fmt.Errorf("%s redirected more than %d times (last to %s): a redirect loop", t.registry, maxRedirects, req.URL.Redacted())
	}
	if err := t.checkCredentials(req); err != nil {
		return nil, err
	}
	if t.pings != nil && isPing(req) {
		if resp, ok, err := t.pings.answer(req); ok {
			return resp, err
		}
		resp, err := t.roundTrip(req)
		return t.pings.keep(req, resp, err)
	}
	return t.roundTrip(req)
}

// roundTrip sends req, again as Retry-After asks.
func (t *registryTransport) roundTrip(req *http.Request) (*http.Response, error) {
	for try := 0; ; try++ {
		resp, err := t.send(req)
		switch {
		case err == nil:
			t.stats.count(resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500)
		case dropped(err):
			t.stats.count(true)
		}
		if err != nil || try == 3 || (resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable) {
			return resp, err
		}
		wait, ok := retryAfter(resp.Header.Get("Retry-After"))
		if !ok || (req.Body != nil && req.Body != http.NoBody && req.GetBody == nil) || !t.stats.wait(wait, t.waitCap) {
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

// dropped reports whether err is a connection the registry dropped.
func dropped(err error) bool {
	// A connection the server closed mid-upload shows as any of these,
	// depending on which side noticed first (net.ErrClosed: Go's own end
	// was closed under a write that was still going).
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed)
}

// checkCredentials refuses a request that would carry a secret (Basic
// credentials, or a token request's form) over plain HTTP to a host other
// than the registry's, unless the registry was declared insecure: Docker's
// token flow sends the registry's credentials to the token server it
// names, which must not put them on the network in clear text.
func (t *registryTransport) checkCredentials(req *http.Request) error {
	if t.insecure || req.URL.Scheme != "http" || sameHost(req.URL.Host, t.registry) {
		return nil
	}
	basic := strings.HasPrefix(strings.ToLower(req.Header.Get("Authorization")), "basic ")
	form := req.Method == http.MethodPost && strings.HasPrefix(req.Header.Get("Content-Type"), "application/x-www-form-urlencoded")
	if !basic && !form {
		return nil
	}
	return fmt.Errorf("%w: %s names %s as its token server, another host over plain HTTP, so its credentials were not sent: "+
		"have the registry use an HTTPS token server, or declare the registry insecure if the network is trusted",
		ErrCleartextCredentials, t.registry, req.URL.Redacted())
}

// sameHost reports whether the host[:port] a and b name one host.
func sameHost(a, b string) bool {
	host := func(s string) string {
		if h, _, err := net.SplitHostPort(s); err == nil {
			return strings.ToLower(h)
		}
		return strings.ToLower(strings.Trim(s, "[]"))
	}
	return host(a) == host(b)
}

// send sends req with the watchdog of the timeout: it fails when the
// registry takes longer than t.timeout to connect and answer, to take the
// next piece of an upload, or to send the next piece of a body. Such a
// failure is not retried: a registry that is silent for that long will
// likely stay so.
func (t *registryTransport) send(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(req.Context())
	w := &watchdog{timeout: t.timeout, host: req.URL.Host, cancel: cancel}
	req = req.WithContext(ctx)
	if req.Body != nil && req.Body != http.NoBody {
		req.Body = &watchedBody{ReadCloser: req.Body, w: w, phase: "took nothing of an upload"}
	}
	w.arm("gave no answer")
	resp, err := t.next.RoundTrip(req)
	w.stop()
	if err != nil {
		cancel(nil)
		return nil, w.explain(err)
	}
	if strings.Contains(req.URL.Path, "/manifests/") && req.Method == http.MethodGet {
		if resp.ContentLength > MaxManifestSize {
			resp.Body.Close()
			cancel(nil)
			return nil, fmt.Errorf("%w: %s sends a manifest of %d bytes, more than the %d scratchpack reads", ErrTooLarge, req.URL.Host, resp.ContentLength, MaxManifestSize)
		}
		resp.Body = &cappedBody{ReadCloser: resp.Body, left: MaxManifestSize, host: req.URL.Host}
	}
	resp.Body = &watchedBody{ReadCloser: resp.Body, w: w, phase: "sent nothing more", down: true, done: func() { cancel(nil) }}
	return resp, nil
}

// watchdog cancels a request that waits on the registry longer than timeout.
type watchdog struct {
	timeout time.Duration
	host    string
	cancel  context.CancelCauseFunc
	mu      sync.Mutex
	timer   *time.Timer
	verdict error // set when the timer fired
}

// timeoutError is a watchdog's verdict. It has no Temporary method, so go-
// containerregistry does not retry it.
type timeoutError struct{ msg string }

func (e *timeoutError) Error() string        { return e.msg }
func (e *timeoutError) Is(target error) bool { return target == ErrRegistryTimeout }

// arm starts waiting, for phase ("gave no answer").
func (w *watchdog) arm(phase string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.timer != nil {
		w.timer.Stop()
	}
	err := &timeoutError{fmt.Sprintf("%s %s within %v (the timeout)", w.host, phase, w.timeout)}
	w.timer = time.AfterFunc(w.timeout, func() {
		w.mu.Lock()
		w.verdict = err
		w.mu.Unlock()
		w.cancel(err)
	})
}

func (w *watchdog) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.timer != nil {
		w.timer.Stop()
	}
}

// explain returns the watchdog's verdict if it ended the request, and
// turns the transport's own timeouts (dial, TLS, headers), which ggcr
// would retry, into one that it does not.
func (w *watchdog) explain(err error) error {
	w.mu.Lock()
	verdict := w.verdict
	w.mu.Unlock()
	if verdict != nil {
		return verdict
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return &timeoutError{fmt.Sprintf("%s gave no answer within %v (the timeout): %v", w.host, w.timeout, err)}
	}
	return err
}

// watchedBody is a request or response body under a watchdog. An upload's
// watchdog runs between reads (while the connection takes what was read),
// a download's during them (while the registry is to send the next piece).
type watchedBody struct {
	io.ReadCloser
	w     *watchdog
	phase string
	down  bool
	done  func()
}

func (b *watchedBody) Read(p []byte) (int, error) {
	if b.down {
		b.w.arm(b.phase)
	} else {
		b.w.stop()
	}
	n, err := b.ReadCloser.Read(p)
	switch {
	case b.down:
		b.w.stop()
	case err == nil:
		b.w.arm(b.phase)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		err = b.w.explain(err)
	}
	return n, err
}

func (b *watchedBody) Close() error {
	b.w.stop()
	err := b.ReadCloser.Close()
	if b.done != nil {
		b.done()
	}
	return err
}

// cappedBody fails a manifest larger than scratchpack reads.
type cappedBody struct {
	io.ReadCloser
	left int64
	host string
}

func (b *cappedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return n, fmt.Errorf("%w: %s sends a manifest of more than the %d bytes scratchpack reads", ErrTooLarge, b.host, MaxManifestSize)
	}
	return n, err
}
