package transfer

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// silentServer accepts connections on 127.0.0.1 and reads requests, but
// never answers.
func silentServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go bufio.NewReader(c).ReadString(0) // read, never write
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

// TestRegistryHangs: a registry that never answers, that stops in the
// middle of a manifest, or that redirects to itself forever, fails within
// the timeout (not retried), saying why.
func TestRegistryHangs(t *testing.T) {
	var loops atomic.Int64
	loop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			w.WriteHeader(http.StatusOK)
			return
		}
		loops.Add(1)
		http.Redirect(w, r, r.URL.String(), http.StatusFound)
	}))
	t.Cleanup(loop.Close)
	stalling := func(length int64) string {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/v2/" {
				w.WriteHeader(http.StatusOK)
				return
			}
			w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
			w.Header().Set("Content-Length", fmt.Sprint(length))
			w.WriteHeader(http.StatusOK)
			w.Write([]byte(`{"schemaVersion":2,`))
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}))
		t.Cleanup(s.Close)
		return strings.TrimPrefix(s.URL, "http://")
	}
	const timeout = 2 * time.Second
	for _, tc := range []struct {
		name, host, want string
		max              time.Duration
	}{
		{"silent", silentServer(t), "no answer", 2 * timeout},
		{"stalls mid-manifest", stalling(1000), "sent nothing more within 2s", 2 * timeout},
		{"a 10 GiB manifest", stalling(10 << 30), "more than the 4194304", timeout},
		{"redirect loop", strings.TrimPrefix(loop.URL, "http://"), "redirected more than 10 times", timeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			_, err := LoadBase(bg, mustParse(t, tc.host+"/app:v1"), amd64, WithTimeout(timeout), fastRetry)
			took := time.Since(start)
			t.Logf("%s: %v after %s", tc.name, err, took.Round(time.Millisecond))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.host) {
				t.Errorf("err = %v; want one naming %s and saying %q", err, tc.host, tc.want)
			}
			if took > tc.max {
				t.Errorf("took %s, more than %s", took, tc.max)
			}
		})
	}
	if n := loops.Load(); n > 4*11 {
		t.Errorf("the redirect loop served %d requests", n)
	}
}

// TestRetryAfterCap: a registry that always answers 429 with a Retry-After
// is waited for no longer than the cap in all, and the error says how many
// requests failed and how long was waited, truthfully.
func TestRetryAfterCap(t *testing.T) {
	var requests atomic.Int64
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	t.Cleanup(s.Close)
	host := strings.TrimPrefix(s.URL, "http://")
	start := time.Now()
	_, err := LoadBase(bg, mustParse(t, host+"/app:v1"), amd64, withRetryAfterCap(2*time.Second),
		WithRetryBackoff(remote.Backoff{Duration: 50 * time.Millisecond, Factor: 1, Steps: 3}))
	took := time.Since(start)
	t.Logf("%v after %s, %d requests", err, took.Round(time.Millisecond), requests.Load())
	if took > 4*time.Second {
		t.Errorf("took %s: the Retry-After cap of 2s was not kept", took)
	}
	n := requests.Load()
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%d requests", n)) || !strings.Contains(err.Error(), "waited 2s") {
		t.Errorf("err = %v; want it to say %d requests and waited 2s", err, n)
	}
}

// TestCredentialsNotInClearText: a registry reached over plain HTTP (as
// 127.0.0.1 is by default) that names a token realm on another host over
// plain HTTP does not get its password sent there, unless the registry was
// declared insecure; the error says why.
func TestCredentialsNotInClearText(t *testing.T) {
	const secret = "s3cret-Pa55"
	var mu sync.Mutex
	var got []string
	tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Get("Authorization"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"token":"t0ken"}`))
	}))
	t.Cleanup(tokens.Close)
	// The realm names the token server by another host name: localhost.
	realm := strings.Replace(tokens.URL, "127.0.0.1", "localhost", 1) + "/token"
	reg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer t0ken" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+realm+`",service="test"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusNotFound)
	}))
	t.Cleanup(reg.Close)
	host := strings.TrimPrefix(reg.URL, "http://")
	kc := staticKeychain{&authn.Basic{Username: "alice", Password: secret}}
	_, err := LoadBase(bg, mustParse(t, host+"/app:v1"), amd64, WithKeychain(kc), fastRetry)
	if err == nil || !strings.Contains(err.Error(), "clear text") || !strings.Contains(err.Error(), "localhost") {
		t.Errorf("err = %v; want a refusal to send the credentials to %s in clear text", err, realm)
	}
	mu.Lock()
	for _, a := range got {
		if strings.HasPrefix(a, "Basic ") {
			t.Errorf("the token server got the credentials: %q", a)
		}
	}
	got = nil
	mu.Unlock()
	// Declared insecure: as Docker does, the token server gets them.
	_, err = LoadBase(bg, mustParse(t, host+"/app:v1"), amd64, WithKeychain(kc), WithInsecure(), fastRetry)
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("with WithInsecure: %v; want ErrNotFound from the registry", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) == 0 || !strings.HasPrefix(got[0], "Basic ") {
		t.Errorf("with WithInsecure the token server got %q", got)
	}
}

// TestRegistryStopsReading: a registry that takes an upload and then stops
// reading it fails the push within the timeout.
func TestRegistryStopsReading(t *testing.T) {
	stop := make(chan struct{})
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/v2/":
			w.WriteHeader(http.StatusOK)
		case r.Method == http.MethodHead:
			w.WriteHeader(http.StatusNotFound)
		case r.Method == http.MethodPost:
			w.Header().Set("Location", "/v2/app/blobs/uploads/1")
			w.WriteHeader(http.StatusAccepted)
		case r.ContentLength >= 0 && r.ContentLength < 1<<20: // the config: take it
			io.Copy(io.Discard, r.Body)
			if r.Method == http.MethodPut {
				w.WriteHeader(http.StatusCreated)
				return
			}
			w.Header().Set("Location", "/v2/app/blobs/uploads/1")
			w.WriteHeader(http.StatusAccepted)
		default: // the 16 MiB layer: never read it
			<-stop
		}
	}))
	// A small receive buffer, so that the client's writes block soon.
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 64<<10) })
		return errors.Join(err, serr)
	}}
	ln, err := lc.Listen(bg, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Listener = ln
	s.Start()
	t.Cleanup(s.Close)
	t.Cleanup(func() { close(stop) })
	host := strings.TrimPrefix(s.URL, "http://")
	l, err := random.Layer(16<<20, types.OCIUncompressedLayer)
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = Write(bg, img, []Ref{mustParse(t, "docker://"+host+"/app:v1")}, WithTimeout(2*time.Second), fastRetry)
	took := time.Since(start)
	t.Logf("%v after %s", err, took.Round(time.Millisecond))
	if !errors.Is(err, ErrRegistryTimeout) || !strings.Contains(err.Error(), "took nothing of an upload within 2s") {
		t.Errorf("err = %v; want ErrRegistryTimeout saying it took nothing of an upload", err)
	}
	if took > 6*time.Second {
		t.Errorf("took %s", took)
	}
}
