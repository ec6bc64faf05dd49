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
// are and are not page-aligned, short and long, in its middle and at its
// end, by one thread and more: the copy has exactly the stretch's bytes.
func TestCopySection(t *testing.T) {
	dir := t.TempDir()
	const mib = 1 << 20
	data := make([]byte, 24*mib+12345)
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
		{2560, int64(len(data)) - 2560}, // a docker save archive's layer
		{8*mib - 1, 8*mib + 2},
		{4096, 100},
		{int64(len(data)) - 10, 10}, // the file's last bytes
		{24 * mib, 12345},
		{8*mib + 7, 16*mib + 1000},
		{5000, 0},
	}
	for _, c := range cases {
		for _, workers := range []int{1, 2, 3} {
			f, err := os.Open(src)
			if err != nil {
				t.Fatal(err)
			}
			dst, err := os.Create(filepath.Join(dir, "dst"))
			if err != nil {
				t.Fatal(err)
			}
			n, err := copySection(context.Background(), dst, f, c.off, c.size, false, workers)
			f.Close()
			dst.Close()
			if err != nil || n != c.size {
				t.Fatalf("off %d size %d, %d workers: %d bytes, %v", c.off, c.size, workers, n, err)
			}
			got, err := os.ReadFile(dst.Name())
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, data[c.off:c.off+c.size]) {
				t.Fatalf("off %d size %d, %d workers: the copy differs", c.off, c.size, workers)
			}
		}
	}
}

// TestCopySectionPastEnd: a stretch that runs past its file's end (a file
// cut short after it was checked) fails the copy, or copies fewer bytes;
// a done context stops it.
func TestCopySectionPastEnd(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.WriteFile(src, bytes.Repeat([]byte{7}, 8<<20+5000), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dst, err := os.Create(filepath.Join(dir, "dst"))
	if err != nil {
		t.Fatal(err)
	}
	size := int64(24 << 20)
	for _, workers := range []int{1, 2} {
		n, err := copySection(context.Background(), dst, f, 3000, size, false, workers)
		if err == nil && n == size {
			t.Fatalf("%d workers: a stretch past the file's end copied whole", workers)
		}
	}
	dst.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dst, err = os.Create(filepath.Join(dir, "dst2"))
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	for _, c := range []struct {
		size    int64
		workers int
	}{{100, 1}, {16 << 20, 2}} {
		if _, err := copySection(ctx, dst, f, 3000, c.size, false, c.workers); !errors.Is(err, context.Canceled) {
			t.Fatalf("a done context, %d workers: %v", c.workers, err)
		}
	}
}
