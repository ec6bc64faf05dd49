package transfer

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"sync"
)

// Pings keeps registries' answers to go-containerregistry's ping (GET
// /v2/, asked before every pull and every push to learn the scheme and the
// authentication a registry wants) so that operations sharing it ask each
// registry once: pack on a registry base, pushed to that registry, asked
// it twice (four requests, with the HTTPS attempt of an HTTP registry). A
// ping answer says nothing of any repository and carries no credentials;
// only a 200 or a 401 (and its challenge) is kept, and the refusal of a
// TLS handshake by a server that speaks plain HTTP.
type Pings struct {
	mu      sync.Mutex
	answers map[string]*pingAnswer // by scheme://host
}

type pingAnswer struct {
	status int
	header http.Header
	body   []byte
	err    error // the handshake's, when the server speaks plain HTTP
}

// maxPingBody bounds the body of a ping answer kept.
const maxPingBody = 64 << 10

// NewPings returns an empty record of ping answers.
func NewPings() *Pings { return &Pings{answers: map[string]*pingAnswer{}} }

// WithPings shares p between operations (see Pings). Without it each
// operation pings the registries it reaches, as go-containerregistry does.
func WithPings(p *Pings) Option {
	return func(o *options) error {
		if p == nil {
			return errors.New("WithPings: nil record")
		}
		o.pings = p
		return nil
	}
}

// isPing reports whether req is a ping: a GET of /v2/ without credentials.
func isPing(req *http.Request) bool {
	return req.Method == http.MethodGet && req.URL.Path == "/v2/" && req.URL.RawQuery == "" &&
		req.Header.Get("Authorization") == "" && (req.Body == nil || req.Body == http.NoBody)
}

// answer replays the answer kept for req, if there is one.
func (p *Pings) answer(req *http.Request) (*http.Response, bool, error) {
	p.mu.Lock()
	a, ok := p.answers[req.URL.Scheme+"://"+req.URL.Host]
	p.mu.Unlock()
	if !ok {
		return nil, false, nil
	}
	if a.err != nil {
		return nil, true, a.err
	}
	return &http.Response{
		Status: http.StatusText(a.status), StatusCode: a.status, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: a.header.Clone(), Body: io.NopCloser(bytes.NewReader(a.body)), ContentLength: int64(len(a.body)), Request: req,
	}, true, nil
}

// keep keeps the answer to the ping req, if it is one to keep; the
// response returned replaces resp, whose body it read.
func (p *Pings) keep(req *http.Request, resp *http.Response, err error) (*http.Response, error) {
	key := req.URL.Scheme + "://" + req.URL.Host
	var rh tls.RecordHeaderError
	if err != nil {
		if req.URL.Scheme == "https" && errors.As(err, &rh) {
			p.mu.Lock()
			p.answers[key] = &pingAnswer{err: err}
			p.mu.Unlock()
		}
		return resp, err
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusUnauthorized {
		return resp, nil
	}
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, maxPingBody+1))
	resp.Body.Close()
	if rerr != nil {
		return nil, rerr
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if len(body) <= maxPingBody {
		p.mu.Lock()
		p.answers[key] = &pingAnswer{status: resp.StatusCode, header: resp.Header.Clone(), body: body}
		p.mu.Unlock()
	}
	return resp, nil
}
