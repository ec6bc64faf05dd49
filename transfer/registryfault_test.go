package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

// fault is what the proxy does to one request: pass it on, answer with a
// status, drop the connection halfway through the body, or stall first.
type fault struct {
	status     int
	retryAfter string
	drop       bool
	stall      time.Duration
}

// faultProxy is a reverse proxy on 127.0.0.1 in front of a registry that
// applies rule to each request; rule sees the request and how many earlier
// requests of the same kind (method and blob/manifest) it has seen.
func faultProxy(t *testing.T, registry string, rule func(r *http.Request, kind string, n int) fault) string {
	t.Helper()
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: registry})
	rp.ErrorLog = log.New(io.Discard, "", 0) // a client that gave up is not news
	var mu sync.Mutex
	seen := map[string]int{}
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kind := r.Method + " other"
		switch {
		case strings.Contains(r.URL.Path, "/blobs/uploads/"):
			kind = r.Method + " upload"
		case strings.Contains(r.URL.Path, "/blobs/"):
			kind = r.Method + " blob"
		case strings.Contains(r.URL.Path, "/manifests/"):
			kind = r.Method + " manifest"
		}
		mu.Lock()
		n := seen[kind]
		seen[kind]++
		mu.Unlock()
		f := rule(r, kind, n)
		time.Sleep(f.stall)
		switch {
		case f.drop:
			io.CopyN(io.Discard, r.Body, 64<<10) // part of the blob, then hang up
			conn, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Errorf("hijack: %v", err)
				return
			}
			conn.Close()
		case f.status != 0:
			io.Copy(io.Discard, r.Body)
			if f.retryAfter != "" {
				w.Header().Set("Retry-After", f.retryAfter)
			}
			w.WriteHeader(f.status)
		default:
			rp.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://")
}

// bigImage is an image with a 1 MiB random layer, so a drop is mid-blob.
func bigImage(t *testing.T, seed int64) v1.Image {
	t.Helper()
	l, err := random.Layer(1<<20, types.OCILayer, random.WithSource(rand.NewSource(seed)))
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(testImage(t, amd64, seed), l)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

var fastRetry = WithRetryBackoff(remote.Backoff{Duration: 50 * time.Millisecond, Factor: 2, Steps: 4})

// TestPushRegistryFaults pushes through the fault proxy to a real registry:
// transient faults are retried and the push succeeds (the image reads back
// whole from the registry itself); lasting ones fail with the status, and
// the tag never names a partial image.
func TestPushRegistryFaults(t *testing.T) {
	reg := testenv.Registry(t)
	tests := []struct {
		name     string
		rule     func(r *http.Request, kind string, n int) fault
		wantErr  string
		minTaken time.Duration
	}{
		{"500 on the first two uploads", func(_ *http.Request, kind string, n int) fault {
			if strings.HasSuffix(kind, "upload") && n < 2 {
				return fault{status: 500}
			}
			return fault{}
		}, "", 0},
		{"503 with Retry-After 1 on the manifest", func(_ *http.Request, kind string, n int) fault {
			if kind == "PUT manifest" && n == 0 {
				return fault{status: 503, retryAfter: "1"}
			}
			return fault{}
		}, "", time.Second},
		{"429 with Retry-After 1 on blob checks", func(_ *http.Request, kind string, n int) fault {
			if kind == "HEAD blob" && n < 2 {
				return fault{status: 429, retryAfter: "1"}
			}
			return fault{}
		}, "", time.Second},
		{"connection dropped mid-blob", func(r *http.Request, kind string, n int) fault {
			if (kind == "PATCH upload" || kind == "PUT upload") && r.ContentLength != 0 && n == 0 {
				return fault{drop: true}
			}
			return fault{}
		}, "", 0},
		{"stalls 2s", func(_ *http.Request, kind string, n int) fault {
			if strings.HasSuffix(kind, "upload") && n == 0 {
				return fault{stall: 2 * time.Second}
			}
			return fault{}
		}, "", 2 * time.Second},
		{"manifest always 500", func(_ *http.Request, kind string, _ int) fault {
			if kind == "PUT manifest" {
				return fault{status: 500}
			}
			return fault{}
		}, "kept failing (4 of ", 0}, // 4 PUTs of the manifest, of all requests
		{"uploads always dropped", func(r *http.Request, kind string, _ int) fault {
			if (kind == "PATCH upload" || kind == "PUT upload") && r.ContentLength != 0 {
				return fault{drop: true}
			}
			return fault{}
		}, "kept dropping (", 0},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			proxy := faultProxy(t, reg.Addr, tc.rule)
			repo := fmt.Sprintf("fault%d", i)
			img := bigImage(t, int64(100+i))
			dst, err := ParseRef("docker://" + proxy + "/" + repo + ":v1")
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, err = Write(context.Background(), img, []Ref{dst}, fastRetry)
			taken := time.Since(start)
			t.Logf("%s: %v after %s", tc.name, err, taken.Round(time.Millisecond))
			// Read back from the registry itself, not through the proxy.
			direct, _ := name.ParseReference(reg.Addr + "/" + repo + ":v1")
			got, gerr := remote.Image(direct)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), proxy) {
					t.Fatalf("err = %v, want one naming %s and %q", err, proxy, tc.wantErr)
				}
				if !errors.Is(gerr, ErrNotFound) && !strings.Contains(fmt.Sprint(gerr), "MANIFEST_UNKNOWN") {
					t.Fatalf("after the failed push, the tag %s: %v; want no such manifest", direct, gerr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if taken < tc.minTaken {
				t.Errorf("took %s, less than the Retry-After/stall %s", taken, tc.minTaken)
			}
			if gerr != nil {
				t.Fatal(gerr)
			}
			if err := validate.Image(got); err != nil {
				t.Fatalf("pushed image is not whole: %v", err)
			}
			if digest(t, got) != digest(t, img) {
				t.Fatal("the registry holds another image")
			}
		})
	}
}

// TestPushAuthErrorNamesSource: a refused login names the registry and the
// user tried, never the password.
func TestPushAuthErrorNamesSource(t *testing.T) {
	const secret = "s3cret-Pa55"
	reg := testenv.Registry(t, testenv.WithHtpasswd("alice", secret))
	dst, err := ParseRef("docker://" + reg.Addr + "/app:v1")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		kc   authn.Keychain
		want string
	}{
		{"wrong password", staticKeychain{&authn.Basic{Username: "alice", Password: secret + "x"}}, `(user "alice") were refused`},
		{"no credentials", staticKeychain{authn.Anonymous}, reg.Addr + " needs credentials to push"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Write(context.Background(), testImage(t, amd64, 1), []Ref{dst}, WithKeychain(tc.kc), fastRetry)
			if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), reg.Addr) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v; want ErrUnauthorized naming %s and %q", err, reg.Addr, tc.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("the error shows the password: %v", err)
			}
		})
	}
}

type staticKeychain struct{ a authn.Authenticator }

func (k staticKeychain) Resolve(authn.Resource) (authn.Authenticator, error) { return k.a, nil }
