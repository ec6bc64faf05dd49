package release

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/scratchpack/scratchpack/internal/testenv"
	"github.com/scratchpack/scratchpack/packer"
	"github.com/scratchpack/scratchpack/transfer"
)

var amd64 = v1.Platform{OS: "linux", Architecture: "amd64"}

func dest(t *testing.T, s string) transfer.Ref {
	t.Helper()
	r, err := transfer.ParseDest(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestRun builds three images in process: two into one OCI archive, which
// is written once with both tags, one pushed to an in-memory registry with
// its SBOM attached; one failing job does not stop the others.
func TestRun(t *testing.T) {
	s := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0)), registry.WithReferrersSupport(true)))
	defer s.Close()
	reg := strings.TrimPrefix(s.URL, "http://")
	dir := t.TempDir()
	archive := filepath.Join(dir, "shared.tar")
	spec := func(fixture string) packer.Spec {
		return packer.Spec{Program: testenv.Fixture(t, fixture), WorkDir: t.TempDir(), Created: time.Unix(0, 0)}
	}
	jobs := []Job{
		{Name: "c", Specs: []packer.Spec{spec("hello-c")}, Outputs: []transfer.Ref{dest(t, "oci-archive:"+archive+":c")}},
		{Name: "go", Specs: []packer.Spec{spec("hello-go")}, Outputs: []transfer.Ref{dest(t, "oci-archive:"+archive+":go")}},
		{Name: "pushed", Specs: []packer.Spec{spec("exit3")}, Outputs: []transfer.Ref{dest(t, "docker://"+reg+"/exit3:1")},
			SBOM: filepath.Join(dir, "exit3.spdx.json")},
		{Name: "broken", Specs: []packer.Spec{{Program: filepath.Join(dir, "missing"), WorkDir: t.TempDir()}},
			Outputs: []transfer.Ref{dest(t, "oci:"+filepath.Join(dir, "never"))}},
	}
	var done []string
	results := Run(context.Background(), jobs, Options{Jobs: 2, Version: "test", Done: func(r *Result) { done = append(done, r.Name) }})
	for i, r := range results {
		if r.Name != jobs[i].Name {
			t.Fatalf("result %d is %s, want %s", i, r.Name, jobs[i].Name)
		}
		if (r.Err != nil) != (r.Name == "broken") {
			t.Errorf("%s: error %v", r.Name, r.Err)
		}
	}
	if len(done) != 4 {
		t.Errorf("Done called for %v, want all four", done)
	}
	// Both tags are in the archive: unpack it as a layout and look.
	for _, tag := range []string{"c", "go"} {
		if _, err := transfer.LoadBase(context.Background(), dest(t, "oci-archive:"+archive+":"+tag), amd64); err != nil {
			t.Errorf("tag %s of the shared archive: %v", tag, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "exit3.spdx.json")); err != nil {
		t.Errorf("SBOM: %v", err)
	}
	refs, err := transfer.Referrers(context.Background(), dest(t, "docker://"+reg+"/exit3:1"), results[2].Digest)
	if err != nil || len(refs) != 1 { // (ggcr's in-memory registry reports the config's media type as artifactType)
		t.Errorf("referrers of the pushed image: %v, %v; want the SBOM", refs, err)
	}
	if _, err := layout.FromPath(filepath.Join(dir, "never")); err == nil {
		t.Error("the failed job wrote its layout")
	}
}
