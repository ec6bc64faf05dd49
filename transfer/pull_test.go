package transfer

import (
	"errors"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// TestCopy copies an index from a registry to an archive and a layout, and
// a single image, and reads each platform back as a base.
func TestCopy(t *testing.T) {
	host := newRegistry(t)
	idx, imgs := testIndex(t)
	if _, err := WriteIndex(bg, idx, []Ref{mustParse(t, "docker://"+host+"/base:multi")}); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(bg, imgs["amd64"], []Ref{mustParse(t, "docker://"+host+"/base:single")}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	archive := mustParse(t, "oci-archive:"+filepath.Join(dir, "base.tar"))
	lay := mustParse(t, "oci:"+filepath.Join(dir, "layout")+":b")
	h, err := Copy(bg, mustParse(t, host+"/base:multi"), []Ref{archive, lay})
	if err != nil {
		t.Fatal(err)
	}
	if h != digest(t, idx) {
		t.Errorf("Copy returned %s, want the index %s", h, digest(t, idx))
	}
	for _, src := range []Ref{archive, lay} {
		a, err := Load(bg, src)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := a.(v1.ImageIndex)
		if !ok {
			t.Fatalf("Load(%s) is a %T, want the index", src, a)
		}
		if err := validate.Index(got); err != nil {
			t.Fatal(err)
		}
		if digest(t, got) != h {
			t.Errorf("Load(%s) = %s, want %s", src, digest(t, got), h)
		}
		for _, p := range []v1.Platform{amd64, arm64} {
			img, err := load(t, src, p)
			if err != nil {
				t.Fatal(err)
			}
			if digest(t, img) != digest(t, imgs[p.Architecture]) {
				t.Errorf("%s for %s is not the pushed image", src, p)
			}
		}
	}
	single := mustParse(t, "oci-archive:"+filepath.Join(dir, "single.tar"))
	if h, err = Copy(bg, mustParse(t, host+"/base:single"), []Ref{single}); err != nil || h != digest(t, imgs["amd64"]) {
		t.Fatalf("copying one image: %s %v", h, err)
	}
	if a, err := Load(bg, single); err != nil {
		t.Fatal(err)
	} else if _, ok := a.(v1.Image); !ok {
		t.Errorf("Load of a single image gave a %T", a)
	}
	if _, err := Load(bg, mustParse(t, host+"/base:nope")); !errors.Is(err, ErrNotFound) {
		t.Errorf("a missing tag: %v, want ErrNotFound", err)
	}
	if _, err := Load(bg, mustParse(t, "oci:"+filepath.Join(dir, "layout")+":nope")); !errors.Is(err, ErrNotFound) {
		t.Errorf("a missing layout tag: %v, want ErrNotFound", err)
	}
}
