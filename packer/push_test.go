package packer

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/scratchpack/scratchpack/internal/testenv"
	"github.com/scratchpack/scratchpack/transfer"
)

// countingTransport records the registry requests of a push: which blobs
// were asked about (HEAD), which were uploaded (the PUT that ends an upload
// names the digest), and how many uploads were in flight at once (from the
// POST that starts one to the PUT that ends it).
type countingTransport struct {
	base http.RoundTripper

	mu       sync.Mutex
	requests []string // "METHOD PATH"
	heads    []string
	uploads  []string
	inFlight int
	most     int
	// waitFor, if more than 1, holds the start of each upload until that
	// many are in flight, or barrierTimeout passes: a push that uploads one
	// blob at a time never gets there.
	waitFor int
}

const barrierTimeout = 20 * time.Second

var (
	blobPath   = regexp.MustCompile(`/v2/.+/blobs/(sha256:[0-9a-f]{64})$`)
	uploadPath = regexp.MustCompile(`/v2/.+/blobs/uploads/`)
)

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	starts := r.Method == http.MethodPost && uploadPath.MatchString(r.URL.Path)
	ends := r.Method == http.MethodPut && uploadPath.MatchString(r.URL.Path) && r.URL.Query().Get("digest") != ""
	c.mu.Lock()
	c.requests = append(c.requests, r.Method+" "+r.URL.Path)
	if m := blobPath.FindStringSubmatch(r.URL.Path); m != nil && r.Method == http.MethodHead {
		c.heads = append(c.heads, m[1])
	}
	if ends {
		c.uploads = append(c.uploads, r.URL.Query().Get("digest"))
	}
	if starts {
		c.inFlight++
		c.most = max(c.most, c.inFlight)
	}
	waitFor := c.waitFor
	c.mu.Unlock()
	if starts && waitFor > 1 {
		for deadline := time.Now().Add(barrierTimeout); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			c.mu.Lock()
			n := c.inFlight
			c.mu.Unlock()
			if n >= waitFor {
				break
			}
		}
	}
	resp, err := c.base.RoundTrip(r)
	if ends {
		c.mu.Lock()
		c.inFlight--
		c.mu.Unlock()
	}
	return resp, err
}

func (c *countingTransport) reset(waitFor int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.requests, c.heads, c.uploads, c.inFlight, c.most, c.waitFor = nil, nil, nil, 0, 0, waitFor
}

// pushImage is an image of the shared layer and one more written by
// WriteLayer, as Build makes with --layers=libs.
func pushImage(t *testing.T, shared v1.Layer, seed string) (v1.Image, []string) {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "prog")
	if err := os.WriteFile(src, []byte(strings.Repeat(seed, 300000)), 0o755); err != nil {
		t.Fatal(err)
	}
	set := NewFileSet()
	if err := set.Add(Entry{Path: "/app/prog", Type: TypeFile, Mode: 0o755, Source: src, Size: int64(300000 * len(seed))}); err != nil {
		t.Fatal(err)
	}
	prog, err := WriteLayer(set, LayerOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	base, err := transfer.LoadBase(bg, transfer.Ref{Transport: transfer.Scratch}, amd64)
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(base, shared, prog)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	return img, []string{digest(t, shared).String(), digest(t, prog).String(), cfg.String()}
}

// TestPushSkipsExistingBlobs pushes to a real distribution registry and
// counts requests: every blob is asked about (HEAD) before it is uploaded,
// blobs the registry has are not uploaded again, --jobs uploads run in
// parallel, and --jobs 1 runs them one at a time.
func TestPushSkipsExistingBlobs(t *testing.T) {
	reg := testenv.Registry(t)
	set, _ := testFiles(t)
	shared, err := WriteLayer(set, LayerOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	imgA, blobsA := pushImage(t, shared, "a")
	imgB, blobsB := pushImage(t, shared, "b")
	ct := &countingTransport{base: remote.DefaultTransport}
	push := func(img v1.Image, ref string, jobs int) {
		t.Helper()
		opts := []transfer.Option{transfer.WithTransport(ct), transfer.WithKeychain(authn.NewMultiKeychain()), transfer.WithJobs(jobs)}
		if _, err := transfer.Write(bg, img, []transfer.Ref{mustParse(t, "docker://"+reg.Addr+"/"+ref)}, opts...); err != nil {
			t.Fatalf("pushing %s: %v", ref, err)
		}
	}

	for _, tc := range []struct {
		name        string
		img         v1.Image
		ref         string
		jobs        int
		waitFor     int // uploads that must be in flight at once
		wantUploads []string
		wantHeads   []string
	}{
		{"first push, 3 at once", imgA, "app/a:v1", 4, 3, blobsA, blobsA},
		// The tag already names this manifest (a HEAD of it tells): nothing else is asked.
		{"same image again", imgA, "app/a:v1", 4, 0, nil, nil},
		{"same image, new tag", imgA, "app/a:v2", 4, 0, nil, blobsA},
		{"shares the C library layer", imgB, "app/a:b", 4, 0, blobsB[1:], blobsB},
		{"new repository, one at a time", imgB, "app/other:b", 1, 0, blobsB, blobsB},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ct.reset(tc.waitFor)
			push(tc.img, tc.ref, tc.jobs)
			if diff := cmp.Diff(sorted(tc.wantUploads), sorted(ct.uploads)); diff != "" {
				t.Errorf("blobs uploaded (-want +got):\n%s", diff)
			}
			if tc.wantHeads == nil && !slices.Contains(ct.requests, "HEAD /v2/app/a/manifests/v1") {
				t.Errorf("no HEAD of the manifest; requests: %v", ct.requests)
			}
			for _, d := range tc.wantHeads {
				if !strings.Contains(strings.Join(ct.heads, " "), d) {
					t.Errorf("no HEAD for %s before deciding to upload it (HEADs: %v)", d, ct.heads)
				}
			}
			switch {
			case tc.waitFor > 1 && ct.most < tc.waitFor:
				t.Errorf("at most %d uploads ran at once with --jobs %d; want %d", ct.most, tc.jobs, tc.waitFor)
			case tc.jobs == 1 && ct.most > 1:
				t.Errorf("%d uploads ran at once with --jobs 1", ct.most)
			}
		})
	}
}
