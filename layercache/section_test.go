package layercache

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestPlaceSection: a section is copied (a stretch of its file) while its
// file has the stamp it was checked with; once the file changed, nothing
// is copied (errStale) and the blob is left to be read, and checked,
// through its layer.
func TestPlaceSection(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "archive")
	if err := os.WriteFile(src, []byte("headerLAYER BYTEStrailer"), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := StampPath(src)
	if err != nil {
		t.Fatal(err)
	}
	s := Section{Path: src, Offset: 6, Size: 11, Stamp: st}
	to := filepath.Join(dir, "blob")
	if err := placeSection(s, to); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(to); err != nil || string(b) != "LAYER BYTES" {
		t.Fatalf("placed %q, %v; want the section", b, err)
	}
	os.Remove(to)
	// A later clock tick than the file's writing: file times come from a
	// coarse clock (a jiffy, up to 10 ms), and a write in the same tick
	// leaves the stamp as it was (what Stamp.Settled is for).
	time.Sleep(20 * time.Millisecond)
	f, err := os.OpenFile(src, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("X"), 8); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := placeSection(s, to); !errors.Is(err, errStale) {
		t.Fatalf("placeSection of a changed file: %v, want errStale", err)
	}
	if _, err := os.Stat(to); !os.IsNotExist(err) {
		t.Errorf("a changed section was placed: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("left behind: %v", entries)
	}
}
