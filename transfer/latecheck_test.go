package transfer

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/scratchpack/scratchpack/internal/testenv"
	"github.com/scratchpack/scratchpack/layercache"
)

// TestLateCheck: with WithLateCheck, OpenBase of a docker save base whose
// layer scans as a tar but fails its digest returns the BaseFS, and
// Checked, Save and the layer's section say it is wrong: Save writes no
// record, and no output may take the blob. Without it, OpenBase fails.
// A right base passes Checked, and is then recorded and trusted.
func TestLateCheck(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	good, bad := goodAndDamagedSaves(t, "LATE CONTENT\n")

	open := func(path string, cache *layercache.Cache, opts ...IndexOption) (v1.Image, *BaseFS, error) {
		t.Helper()
		img, err := LoadBase(ctx, mustParse(t, "docker-archive:"+path), v1.Platform{OS: "linux", Architecture: "amd64"})
		if err != nil {
			t.Fatal(err)
		}
		bfs, err := OpenBase(ctx, img, append(opts, WithIndexCache(cache))...)
		return img, bfs, err
	}
	section := func(img v1.Image) bool {
		t.Helper()
		ls, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		_, ok := ls[0].(layercache.SectionLayer).BlobSection()
		return ok
	}
	newCache := func() *layercache.Cache {
		c, err := layercache.OpenCache(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	t.Run("wrong", func(t *testing.T) {
		cache := newCache()
		img, bfs, err := open(bad, cache, WithLateCheck())
		if err != nil {
			t.Fatalf("OpenBase with WithLateCheck: %v; want the BaseFS, its check pending", err)
		}
		if _, err := fs.ReadFile(bfs, "etc/hello"); err != nil {
			t.Fatalf("reading the unchecked base: %v", err)
		}
		if err := bfs.Checked(); !errors.Is(err, ErrCorruptBlob) {
			t.Fatalf("Checked: %v, want ErrCorruptBlob", err)
		}
		if err := bfs.Checked(); !errors.Is(err, ErrCorruptBlob) {
			t.Fatalf("Checked again: %v, want ErrCorruptBlob", err)
		}
		if err := bfs.Save(); !errors.Is(err, ErrCorruptBlob) {
			t.Fatalf("Save: %v, want ErrCorruptBlob", err)
		}
		if entries, _ := os.ReadDir(filepath.Join(cache.Dir(), baseRecords)); len(entries) != 0 {
			t.Errorf("a base that failed its check left records: %v", entries)
		}
		if section(img) {
			t.Error("the layer of a base that failed its check is trusted for outputs")
		}
		if _, _, err := open(bad, newCache()); !errors.Is(err, ErrCorruptBlob) {
			t.Errorf("OpenBase without WithLateCheck: %v, want ErrCorruptBlob", err)
		}
	})
	t.Run("right", func(t *testing.T) {
		cache := newCache()
		img, bfs, err := open(good, cache, WithLateCheck())
		if err != nil {
			t.Fatal(err)
		}
		if err := bfs.Checked(); err != nil {
			t.Fatalf("Checked: %v", err)
		}
		if err := bfs.Save(); err != nil {
			t.Fatalf("Save: %v", err)
		}
		if !section(img) {
			t.Error("a checked layer is not trusted for outputs")
		}
		var r baseRecord
		d, _ := img.Digest()
		if ok, err := cache.ReadRecord(baseRecords, indexCacheKey(d), &r); err != nil || !ok || len(r.Sections) != 1 {
			t.Errorf("record: %v %v %+v, want one with the layer's section", ok, err, r)
		}
		if got, err := fs.ReadFile(bfs, "etc/hello"); err != nil || string(got) != "LATE CONTENT\n" {
			t.Errorf("etc/hello: %q, %v", got, err)
		}
	})
}

// TestPassSectionTarError: a docker save base whose layer is not a tar,
// and has its digest, fails with the tar's error, not as a damaged blob
// (its hash is the verdict on its bytes).
func TestPassSectionTarError(t *testing.T) {
	img, err := mutate.AppendLayers(empty.Image, static.NewLayer(bytes.Repeat([]byte("not a tar "), 1000), types.DockerLayer))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "base.tar")
	testenv.WriteDockerSave(t, img, path, "local/base:1")
	base, err := LoadBase(context.Background(), mustParse(t, "docker-archive:"+path), v1.Platform{OS: "linux", Architecture: "amd64"})
	if err != nil {
		t.Fatal(err)
	}
	for _, opts := range [][]IndexOption{nil, {WithLateCheck()}} {
		_, err := OpenBase(context.Background(), base, opts...)
		if err == nil || errors.Is(err, ErrCorruptBlob) || !strings.Contains(err.Error(), "layer 1 of") {
			t.Errorf("OpenBase(%d options): %v; want the tar's error, naming the layer", len(opts), err)
		}
	}
}
