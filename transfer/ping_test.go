package transfer

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

// TestPingsShared: a push and a pull of one registry that share Pings ask
// it GET /v2/ once; without, once each.
func TestPingsShared(t *testing.T) {
	for _, tc := range []struct {
		name  string
		share bool
		want  int32
	}{
		{"shared", true, 1},
		{"not shared", false, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var pings atomic.Int32
			reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
			s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/v2/" {
					pings.Add(1)
				}
				reg.ServeHTTP(w, r)
			}))
			t.Cleanup(s.Close)
			ref := mustParse(t, "docker://"+strings.TrimPrefix(s.URL, "http://")+"/app:v1")
			var opts []Option
			if tc.share {
				opts = append(opts, WithPings(NewPings()))
			}
			want, err := Write(bg, testImage(t, amd64, 1), []Ref{ref}, opts...)
			if err != nil {
				t.Fatal(err)
			}
			img, err := load(t, ref, amd64, opts...)
			if err != nil {
				t.Fatal(err)
			}
			if got := digest(t, img); got != want {
				t.Errorf("read back %s, pushed %s", got, want)
			}
			if n := pings.Load(); n != tc.want {
				t.Errorf("%d pings, want %d", n, tc.want)
			}
		})
	}
}

// TestPingsChallenge: the 401 and challenge of a registry that wants
// credentials, kept by the push, take the pull through the same login.
func TestPingsChallenge(t *testing.T) {
	reg := testenv.Registry(t, testenv.WithHtpasswd("alice", "s3cret"))
	ref := mustParse(t, "docker://"+reg.Addr+"/app:v1")
	pings := WithPings(NewPings())
	for _, tc := range []struct {
		name string
		keys authn.Keychain
		ok   bool
	}{
		{"right credentials", staticKeychain{&authn.Basic{Username: "alice", Password: "s3cret"}}, true},
		{"wrong credentials", staticKeychain{&authn.Basic{Username: "alice", Password: "wrong"}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, err := Write(bg, testImage(t, amd64, 1), []Ref{ref}, WithKeychain(tc.keys), pings, fastRetry)
			if (err == nil) != tc.ok {
				t.Fatalf("push: err = %v, want success %v", err, tc.ok)
			}
			img, err := load(t, ref, amd64, WithKeychain(tc.keys), pings, fastRetry)
			if (err == nil) != tc.ok {
				t.Fatalf("pull: err = %v, want success %v", err, tc.ok)
			}
			if tc.ok && digest(t, img) != want {
				t.Errorf("read back %s, pushed %s", digest(t, img), want)
			}
		})
	}
}
