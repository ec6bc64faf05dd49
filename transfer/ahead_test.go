package transfer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/scratchpack/scratchpack/internal/testenv"
	"github.com/scratchpack/scratchpack/layercache"
)

// TestCopyAhead: a docker save base's blob copied ahead to an oci: output
// while the base is read ends up in the layout, right; a base whose layer
// fails its check leaves no copy behind, and none reaches an output.
func TestCopyAhead(t *testing.T) {
	ctx := context.Background()
	good, bad := goodAndDamagedSaves(t, "AHEAD CONTENT\n")

	outs := t.TempDir()
	leftovers := func() []string {
		entries, _ := os.ReadDir(outs)
		var names []string
		for _, e := range entries {
			if strings.Contains(e.Name(), ".tmp-") {
				names = append(names, e.Name())
			}
		}
		return names
	}
	cache, err := layercache.OpenCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// open loads the base, starts copying it to dst and reads it, as
	// packer.Build does, and says how many of its layers it read.
	open := func(path string, dst Ref) (v1.Image, *layercache.Ahead, int, error) {
		t.Helper()
		img, err := LoadBase(ctx, mustParse(t, "docker-archive:"+path), v1.Platform{OS: "linux", Architecture: "amd64"})
		if err != nil {
			t.Fatal(err)
		}
		a := NewAhead([]Ref{dst})
		bfs, err := OpenBase(ctx, img, WithCopyAhead(a), WithIndexCache(cache))
		if err != nil {
			return img, a, 0, err
		}
		if err := bfs.Save(); err != nil {
			t.Fatal(err)
		}
		return img, a, bfs.LayersRead(), nil
	}

	// First with the layer read (copied once scanned), then with its index
	// from the cache (copied at once).
	for i, wantRead := range []int{1, 0} {
		dst := mustParse(t, "oci:"+filepath.Join(outs, fmt.Sprintf("good%d", i)))
		img, a, read, err := open(good, dst)
		if err != nil {
			t.Fatal(err)
		}
		if read != wantRead {
			t.Errorf("open %d read %d layers, want %d", i+1, read, wantRead)
		}
		if _, err := Write(ctx, img, []Ref{dst}, WithAhead(a)); err != nil {
			t.Fatal(err)
		}
		a.Close()
		// The layout's blob of the base's layer has its digest (an
		// uncompressed layer: ggcr's validate would take it for gzip).
		lp, err := layout.FromPath(dst.Path)
		if err != nil {
			t.Fatal(err)
		}
		ls, err := img.Layers()
		if err != nil || len(ls) != 1 {
			t.Fatalf("layers: %d, %v", len(ls), err)
		}
		h := digest(t, ls[0])
		blob, err := os.ReadFile(filepath.Join(string(lp), "blobs", h.Algorithm, h.Hex))
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(blob); hex.EncodeToString(sum[:]) != h.Hex {
			t.Errorf("the blob of %s in the layout has digest %x", h, sum)
		}
		if l := leftovers(); len(l) != 0 {
			t.Errorf("left behind: %v", l)
		}
	}

	_, a, _, err := open(bad, mustParse(t, "oci:"+filepath.Join(outs, "bad")))
	if !errors.Is(err, ErrCorruptBlob) {
		t.Errorf("opening a base whose layer was changed: %v, want ErrCorruptBlob", err)
	}
	a.Close()
	if l := leftovers(); len(l) != 0 {
		t.Errorf("left behind by a base that failed its check: %v", l)
	}
}

// goodAndDamagedSaves writes two docker save archives of one base whose
// etc/hello holds content, the second with a byte of that content changed
// (same size, other bytes: its tar still scans, its digest fails), and
// waits for layercache's settle time, so that checks of them are recorded.
func goodAndDamagedSaves(t *testing.T, content string) (good, bad string) {
	t.Helper()
	tmp := t.TempDir()
	base := imageOf(t, []ent{dir("etc", 0o755), file("etc/hello", content, 0o644)})
	good, bad = filepath.Join(tmp, "good.tar"), filepath.Join(tmp, "bad.tar")
	testenv.WriteDockerSave(t, base, good, "local/base:1")
	testenv.WriteDockerSave(t, base, bad, "local/base:1")
	b, err := os.ReadFile(bad)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(b, []byte(content))
	if i < 0 || bytes.Count(b, []byte(content)) != 1 {
		t.Fatal("the layer's content is not once in the archive")
	}
	b[i] ^= 0x20 // A <-> a
	if err := os.WriteFile(bad, b, 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2100 * time.Millisecond)
	return good, bad
}
