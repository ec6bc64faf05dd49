package transfer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
)

// hashSection maps the file: a section the file no longer holds (cut short
// while it is hashed) faults, which must end the hash as a failed read, not
// the process.
func TestHashSectionFileCutShort(t *testing.T) {
	p := filepath.Join(t.TempDir(), "blob")
	data := make([]byte, 3*os.Getpagesize()+100)
	for i := range data {
		data[i] = byte(i)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx := context.Background()
	want := sha256.Sum256(data[10:])
	if got := hashSection(ctx, f, 10, int64(len(data)-10)); got != hex.EncodeToString(want[:]) {
		t.Errorf("hash of the section at 10 = %q, want %x", got, want)
	}
	// A section over several of the windows hashSection maps.
	big := make([]byte, 2*hashWindow+12345)
	for i := range big {
		big[i] = byte(i * 7)
	}
	bp := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(bp, big, 0o644); err != nil {
		t.Fatal(err)
	}
	bf, err := os.Open(bp)
	if err != nil {
		t.Fatal(err)
	}
	defer bf.Close()
	want = sha256.Sum256(big[4097:])
	if got := hashSection(ctx, bf, 4097, int64(len(big)-4097)); got != hex.EncodeToString(want[:]) {
		t.Errorf("hash of a section over three windows = %q, want %x", got, want)
	}
	// A section running 4 pages past the end: the pages past it fault.
	if got := hashSection(ctx, f, 0, int64(len(data)+4*os.Getpagesize())); got != "" {
		t.Errorf("hash of a section past the end of the file = %q, want \"\"", got)
	}
	if got := readHash(ctx, f, 0, int64(len(data)+1)); got != "" {
		t.Errorf("readHash past the end = %q, want \"\"", got)
	}
}
