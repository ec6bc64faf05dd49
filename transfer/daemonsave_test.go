package transfer

import (
	"context"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// TestSaveDaemonImage: an image saved from a daemon (GET /images/NAME/get,
// which answers with `docker save`'s tarball) loads as the same image.
func TestSaveDaemonImage(t *testing.T) {
	img, err := random.Image(256, 2)
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := name.NewTag("example.com/app:1")
	sock := filepath.Join(t.TempDir(), "d.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var asked []string
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked = append(asked, r.Method+" "+r.URL.Path)
		if r.Method != http.MethodGet || r.URL.Path != "/images/example.com/app:1/get" {
			http.Error(w, `{"message":"No such image"}`, http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/x-tar")
		_ = tarball.Write(stored, img, w)
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	host := WithDockerHost("unix://" + sock)
	ctx := context.Background()

	ref, err := ParseRef("docker-daemon:example.com/app:1")
	if err != nil {
		t.Fatal(err)
	}
	saved, err := SaveDaemonImage(ctx, ref, t.TempDir(), host)
	if err != nil {
		t.Fatal(err)
	}
	a, err := Load(ctx, saved)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := a.(v1.Image)
	if !ok {
		t.Fatalf("loaded a %T, want an image", a)
	}
	want, _ := img.Digest()
	if d, _ := got.Digest(); d != want {
		t.Errorf("saved image %s, want %s", d, want)
	}

	missing, _ := ParseRef("docker-daemon:nothere:latest")
	if _, err := SaveDaemonImage(ctx, missing, t.TempDir(), host); !errors.Is(err, ErrDaemon) {
		t.Errorf("an image the daemon lacks: %v, want ErrDaemon", err)
	}
	if _, err := SaveDaemonImage(ctx, ref, t.TempDir(), WithDockerHost("unix://"+filepath.Join(t.TempDir(), "none.sock"))); !errors.Is(err, ErrDaemon) {
		t.Errorf("no daemon: %v, want ErrDaemon", err)
	}
	if len(asked) != 2 {
		t.Errorf("asked the daemon %q, want two GETs", asked)
	}
}
