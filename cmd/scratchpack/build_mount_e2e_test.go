package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

// blobCounter is a reverse proxy in front of a registry that counts, per
// blob digest, the uploads completed (PUT .../blobs/uploads/...?digest=)
// and the cross-repository mounts the registry made (POST
// .../blobs/uploads/?mount=DIGEST&from=REPO answered 201 Created).
type blobCounter struct {
	mu      sync.Mutex
	uploads map[string]int
	mounts  map[string]int
}

func newBlobCounter(t *testing.T, registry string) (*blobCounter, string) {
	t.Helper()
	c := &blobCounter{uploads: map[string]int{}, mounts: map[string]int{}}
	target, err := url.Parse("http://" + registry)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(resp *http.Response) error {
		req := resp.Request
		if !strings.Contains(req.URL.Path, "/blobs/uploads") {
			return nil
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		switch q := req.URL.Query(); {
		case req.Method == http.MethodPut && resp.StatusCode == http.StatusCreated:
			c.uploads[q.Get("digest")]++
		case req.Method == http.MethodPost && q.Get("mount") != "" && resp.StatusCode == http.StatusCreated:
			c.mounts[q.Get("mount")]++
		}
		return nil
	}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	return c, strings.TrimPrefix(srv.URL, "http://")
}

// TestBuildMountsSharedLayers: build of three C programs with the glibc
// layer of their own (layers: libs), into three repositories of one
// registry, three at once: the shared layer is uploaded once and mounted
// into the other two repositories (the distribution spec's
// cross-repository mount), counted by a proxy in front of the registry.
func TestBuildMountsSharedLayers(t *testing.T) {
	reg := testenv.Registry(t)
	counter, addr := newBlobCounter(t, reg.Addr)
	dir := t.TempDir()
	var yaml strings.Builder
	yaml.WriteString("version: 1\nimages:\n")
	progs := []string{"hello-c", "exit3", "cancel"}
	for _, p := range progs {
		abs, err := filepath.Abs(testenv.Fixture(t, p))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&yaml, "  %s:\n    program: %s\n    layers: libs\n    output: [\"docker://%s/release/%s:1\"]\n", p, abs, addr, p)
	}
	config := filepath.Join(dir, "scratchpack.yaml")
	if err := os.WriteFile(config, []byte(yaml.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	mustRun(t, nil, "build", "--config", config, "--jobs", "3")

	// The layers every image has: the loader and the C library.
	inAll := map[string]int{}
	for _, p := range progs {
		ref, err := name.ParseReference(reg.Addr + "/release/" + p + ":1")
		if err != nil {
			t.Fatal(err)
		}
		img, err := remote.Image(ref)
		if err != nil {
			t.Fatalf("reading %s: %v", ref, err)
		}
		m, err := img.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range m.Layers {
			inAll[l.Digest.String()]++
		}
	}
	shared := 0
	for digest, n := range inAll {
		if n != len(progs) {
			continue
		}
		shared++
		if got := counter.uploads[digest]; got != 1 {
			t.Errorf("the shared layer %s was uploaded %d times, want once", digest, got)
		}
		if got := counter.mounts[digest]; got != len(progs)-1 {
			t.Errorf("the shared layer %s was mounted %d times, want %d", digest, got, len(progs)-1)
		}
	}
	if shared == 0 {
		t.Fatalf("the images share no layer: %v", inAll)
	}
	t.Logf("uploads %v, mounts %v", counter.uploads, counter.mounts)
}
