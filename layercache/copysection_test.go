package layercache

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// TestCopySection copies stretches of a file that start at offsets that
// are and are not page-aligned, shorter than a window and spanning
// several, with one worker and more: the copy has exactly the stretch's
// bytes, whichever way it was made.
func TestCopySection(t *testing.T) {
	dir := t.TempDir()
	data := make([]byte, 3*copyWindow+12345)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	src := filepath.Join(dir, "src")
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ off, size int64 }{
		{0, int64(len(data))},
		{2560, int64(len(data)) - 2560},       // a docker save archive's layer
		{copyWindow - 1, copyWindow + 2},      // across one window's end
		{4096, 100},                           // inside one window
		{int64(len(data)) - 10, 10},           // the file's last bytes
		{3 * copyWindow, 12345},               // the last window alone
		{copyWindow + 7, 2*copyWindow + 1000}, // starts past the first window
		{5000, 0},
	}
	for _, c := range cases {
		for _, workers := range []int{1, 3} {
			for _, mapped := range []bool{true, false} {
				f, err := os.Open(src)
				if err != nil {
					t.Fatal(err)
				}
				dst, err := os.Create(filepath.Join(dir, "dst"))
				if err != nil {
					t.Fatal(err)
				}
				var n int64
				if mapped {
					n, err = copyMapped(context.Background(), dst, f, c.off, c.size, workers)
				} else {
					n, err = copySection(context.Background(), dst, f, c.off, c.size, false, workers)
				}
				f.Close()
				dst.Close()
				if err != nil || n != c.size {
					t.Fatalf("off %d size %d workers %d mapped %v: %d bytes, %v", c.off, c.size, workers, mapped, n, err)
				}
				got, err := os.ReadFile(dst.Name())
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, data[c.off:c.off+c.size]) {
					t.Fatalf("off %d size %d workers %d mapped %v: the copy differs", c.off, c.size, workers, mapped)
				}
			}
		}
	}
}

// TestCopySectionPastEnd: a stretch that runs past its file's end (a file
// cut short after it was checked) fails the copy, or copies fewer bytes,
// and never faults the process; a done context stops it.
func TestCopySectionPastEnd(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.WriteFile(src, bytes.Repeat([]byte{7}, copyWindow+5000), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, workers := range []int{1, 2} {
		dst, err := os.Create(filepath.Join(dir, "dst"))
		if err != nil {
			t.Fatal(err)
		}
		size := int64(3 * copyWindow)
		n, err := copySection(context.Background(), dst, f, 3000, size, false, workers)
		dst.Close()
		if err == nil && n == size {
			t.Fatalf("workers %d: a stretch past the file's end copied whole", workers)
		}
		t.Logf("workers %d: %d bytes, %v", workers, n, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dst, err := os.Create(filepath.Join(dir, "dst"))
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	if _, err := copySection(ctx, dst, f, 3000, 100, false, 2); !errors.Is(err, context.Canceled) {
		t.Fatalf("a done context: %v", err)
	}
}
