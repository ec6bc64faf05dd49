package layercache

import (
	"golang.org/x/sys/unix"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// TestAhead: a copy made ahead is handed over only for the section as it
// was checked (same stretch, same stamp of its file); a copy of a file
// changed since, or of another stretch, is thrown away; Close removes what
// no output took, and a nil Ahead copies nothing.
func TestAhead(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "archive")
	if err := os.WriteFile(src, []byte("headerLAYER BYTEStrailer"), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := StampPath(src)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out", "image")
	if err := os.Mkdir(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	h := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("a", 64)}
	other := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("b", 64)}
	s := Section{Path: src, Offset: 6, Size: 11}
	checked := s
	checked.Stamp = st
	leftovers := func() []string {
		entries, _ := os.ReadDir(filepath.Dir(out))
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		return names
	}

	t.Run("taken", func(t *testing.T) {
		// A yielding copy lowers its own thread's priority, not the
		// process's: this goroutine's thread keeps its own.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		prio, err := unix.Getpriority(unix.PRIO_PROCESS, 0)
		if err != nil {
			t.Fatal(err)
		}
		a := NewAhead(out, out) // one copy per path
		a.Copy(h, s, true)
		a.Copy(h, s, false)
		if got := len(a.copies); got != 1 {
			t.Errorf("%d copies, want 1", got)
		}
		tmp, ok := a.For(out)(h, checked) // waits for the copy
		if !ok {
			t.Fatal("the copy of the checked section was not handed over")
		}
		if now, err := unix.Getpriority(unix.PRIO_PROCESS, 0); err != nil || now != prio {
			t.Errorf("priority of another thread after a yielding copy: %d, %v; was %d", now, err, prio)
		}
		if b, err := os.ReadFile(tmp); err != nil || string(b) != "LAYER BYTES" {
			t.Errorf("copy holds %q, %v; want the section", b, err)
		}
		if _, ok := a.For(out)(h, checked); ok {
			t.Error("one copy handed over twice")
		}
		if _, ok := a.For(out)(other, checked); ok {
			t.Error("a blob never copied was handed over")
		}
		os.Remove(tmp)
		a.Close()
	})
	t.Run("other stretch", func(t *testing.T) {
		a := NewAhead(out)
		a.Copy(h, s, false)
		wrong := checked
		wrong.Offset = 5
		if _, ok := a.For(out)(h, wrong); ok {
			t.Error("a copy of another stretch was handed over")
		}
		a.Close()
		if l := leftovers(); len(l) != 0 {
			t.Errorf("left behind: %v", l)
		}
	})
	t.Run("not taken", func(t *testing.T) {
		a := NewAhead(out)
		a.Copy(h, s, false)
		a.Close()
		if l := leftovers(); len(l) != 0 {
			t.Errorf("Close left behind: %v", l)
		}
	})
	t.Run("changed", func(t *testing.T) {
		// The file changes after it was checked, before it is copied: the
		// copy holds other bytes than were checked. (A change while it is
		// copied shows the same way, in its stamp after the copy; a copy
		// finished before a change is a good one.) The write comes a clock
		// tick after the file's writing: file times come from a coarse
		// clock (a jiffy, up to 10 ms), and a write in the same tick leaves
		// the stamp as it was (what Stamp.Settled is for).
		time.Sleep(20 * time.Millisecond)
		f, err := os.OpenFile(src, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteAt([]byte("X"), 8); err != nil {
			t.Fatal(err)
		}
		f.Close()
		a := NewAhead(out)
		a.Copy(h, s, false)
		if _, ok := a.For(out)(h, checked); ok {
			t.Error("a copy of a file changed since it was checked was handed over")
		}
		a.Close()
		if l := leftovers(); len(l) != 0 {
			t.Errorf("left behind: %v", l)
		}
	})
	var none *Ahead
	none.Copy(h, s, false)
	if none.For(out) != nil {
		t.Error("a nil Ahead gives a Taker")
	}
	none.Close()
	if NewAhead() != nil {
		t.Error("NewAhead of no path is not nil")
	}
}

// sectionLayer is a layer whose blob is a checked section.
type sectionLayer struct {
	v1.Layer
	s Section
}

func (l sectionLayer) BlobSection() (Section, bool) { return l.s, true }

// TestPlaceBlobsTakesAhead: PlaceBlobs moves the copy made ahead into the
// layout; it does not copy the section again (here it could not: its file
// is gone by then).
func TestPlaceBlobsTakesAhead(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "archive")
	if err := os.WriteFile(src, []byte("headerLAYER BYTEStrailer"), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := StampPath(src)
	if err != nil {
		t.Fatal(err)
	}
	s := Section{Path: src, Offset: 6, Size: 11}
	checked := s
	checked.Stamp = st
	l := sectionLayer{static.NewLayer([]byte("LAYER BYTES"), types.OCIUncompressedLayer), checked}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		t.Fatal(err)
	}
	h, err := l.Digest()
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "image")
	a := NewAhead(out)
	defer a.Close()
	a.Copy(h, s, false)
	<-a.copies[aheadKey{h, out}].done
	if err := os.Remove(src); err != nil {
		t.Fatal(err)
	}
	staged, err := MkdirTemp(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := PlaceBlobs(staged, img, a.For(out)); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(staged, "blobs", h.Algorithm, h.Hex)); err != nil || string(b) != "LAYER BYTES" {
		t.Errorf("blob %q, %v; want the copy made ahead", b, err)
	}
}
