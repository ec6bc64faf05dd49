package transfer

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/scratchpack/scratchpack/internal/testenv"
	"github.com/scratchpack/scratchpack/layercache"
)

// TestBaseSectionCheckedOnceSettled: a docker save base packed right after
// it was written (as release scripts do: docker save, then pack) is too
// fresh for its check to be recorded; once its file has settled, the next
// open reads it once more, records the check, and from then on outputs
// copy its blob with the kernel without reading any layer.
func TestBaseSectionCheckedOnceSettled(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "saved.tar")
	testenv.WriteDockerSave(t, imageOf(t, []ent{dir("etc", 0o755), file("etc/hello", "hi\n", 0o644)}), path, "local/base:1")
	cache, err := layercache.OpenCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ref, err := ParseRef("docker-archive:" + path)
	if err != nil {
		t.Fatal(err)
	}
	// open opens the base as pack does and returns how many layers it
	// read and whether its blob may be copied by the kernel.
	open := func() (int, bool) {
		t.Helper()
		img, err := LoadBase(ctx, ref, v1.Platform{OS: "linux", Architecture: "amd64"})
		if err != nil {
			t.Fatal(err)
		}
		bfs, err := OpenBase(ctx, img, WithIndexCache(cache))
		if err != nil {
			t.Fatal(err)
		}
		if err := bfs.Save(); err != nil {
			t.Fatal(err)
		}
		ls, err := img.Layers()
		if err != nil || len(ls) != 1 {
			t.Fatalf("layers: %v, %d", err, len(ls))
		}
		sl, ok := ls[0].(layercache.SectionLayer)
		if !ok {
			t.Fatalf("a docker save layer is a %T, not a SectionLayer", ls[0])
		}
		_, checked := sl.BlobSection()
		return bfs.LayersRead(), checked
	}
	if read, checked := open(); read != 1 || checked {
		t.Errorf("first open of a fresh file: %d layers read, checked %v; want 1, false", read, checked)
	}
	if read, checked := open(); read != 0 || checked {
		t.Errorf("second open, the file still fresh: %d layers read, checked %v; want 0, false", read, checked)
	}
	time.Sleep(2100 * time.Millisecond) // layercache's settle time, 2 s
	if read, checked := open(); read != 1 || !checked {
		t.Errorf("once settled: %d layers read, checked %v; want 1 (read once to check it), true", read, checked)
	}
	if read, checked := open(); read != 0 || !checked {
		t.Errorf("then: %d layers read, checked %v; want 0, true", read, checked)
	}
	// The same image saved again: its check no longer holds, and is made
	// and recorded again once the new file has settled.
	testenv.WriteDockerSave(t, imageOf(t, []ent{dir("etc", 0o755), file("etc/hello", "hi\n", 0o644)}), path, "local/base:1")
	if read, checked := open(); read != 0 || checked {
		t.Errorf("saved again, fresh: %d layers read, checked %v; want 0, false", read, checked)
	}
	time.Sleep(2100 * time.Millisecond)
	if read, checked := open(); read != 1 || !checked {
		t.Errorf("saved again, settled: %d layers read, checked %v; want 1, true", read, checked)
	}
}
