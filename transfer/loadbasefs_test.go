package transfer

import (
	"errors"
	"io/fs"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/scratchpack/scratchpack/layercache"
)

// TestLoadBaseFS: a registry base is read as LoadBase and OpenBase read it,
// its index from the cache once it is there; a base for another platform
// fails before any layer is read, cached or not.
func TestLoadBaseFS(t *testing.T) {
	reg := newRegistry(t)
	ref := mustParse(t, "docker://"+reg+"/base:1")
	img := imageOf(t, []ent{dir("etc", 0o755), file("etc/hello", "hi\n", 0o644)})
	if _, err := Write(bg, img, []Ref{ref}); err != nil {
		t.Fatal(err)
	}
	cache, err := layercache.OpenCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	iopts := []IndexOption{WithIndexCache(cache), WithWanted(func(string) bool { return true })}
	for _, wantRead := range []int{1, 0, 0} {
		got, bfs, err := LoadBaseFS(bg, ref, v1.Platform{OS: "linux", Architecture: "amd64"}, iopts)
		if err != nil {
			t.Fatal(err)
		}
		if digest(t, got) != digest(t, img) {
			t.Errorf("LoadBaseFS read %s, want %s", digest(t, got), digest(t, img))
		}
		if _, ok := got.(*verifiedImage); !ok {
			t.Errorf("LoadBaseFS returned a %T, not a verifiedImage", got)
		}
		if b, err := fs.ReadFile(bfs, "etc/hello"); err != nil || string(b) != "hi\n" {
			t.Errorf("etc/hello: %q, %v", b, err)
		}
		if n := bfs.LayersRead(); n != wantRead {
			t.Errorf("%d layers read, want %d", n, wantRead)
		}
		if err := bfs.Save(); err != nil {
			t.Fatal(err)
		}
	}
	// The image has no platform in its config; one that names arm64 is
	// not one for amd64.
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "arm64"
	armRef := mustParse(t, "docker://"+reg+"/base:arm")
	arm, err := mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Write(bg, arm, []Ref{armRef}); err != nil {
		t.Fatal(err)
	}
	for _, cached := range []bool{false, true} {
		if cached { // as a pack for arm64 leaves it
			got, bfs, err := LoadBaseFS(bg, armRef, v1.Platform{OS: "linux", Architecture: "arm64"}, iopts)
			if err != nil || digest(t, got) != digest(t, arm) {
				t.Fatalf("arm64 base for arm64: %v", err)
			}
			if err := bfs.Save(); err != nil {
				t.Fatal(err)
			}
		}
		_, bfs, err := LoadBaseFS(bg, armRef, v1.Platform{OS: "linux", Architecture: "amd64"}, iopts)
		var pe *PlatformError
		if !errors.As(err, &pe) || bfs != nil {
			t.Errorf("arm64 base for amd64, index cached %v: %v, %v; want a PlatformError", cached, bfs, err)
		}
	}
}
