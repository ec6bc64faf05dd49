package layercache

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// putBlob writes content as an uncompressed layer into c's temporary
// directory and puts it in c under key.
func putBlob(t *testing.T, c *Cache, key string, content []byte) *Layer {
	t.Helper()
	sum := sha256.Sum256(content)
	h := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
	f, err := CreateTemp(filepath.Join(c.TmpDir(), "layer"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(content); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	l := NewLayer(f.Name(), h, h, int64(len(content)), int64(len(content)), Uncompressed)
	if err := c.Put(key, l); err != nil {
		t.Fatal(err)
	}
	return l
}

func openCache(t *testing.T) *Cache {
	t.Helper()
	c, err := OpenCache(filepath.Join(t.TempDir(), "cache"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCacheBlobStat: an entry records its blob's stat; a blob whose stat
// differs (touched, or an entry without one) is read and checked, and if
// whole, used and recorded again; one whose stat matches is used as it is.
func TestCacheBlobStat(t *testing.T) {
	c := openCache(t)
	first := putBlob(t, c, "k", []byte("some layer bytes"))
	readEntry := func() cacheEntry {
		t.Helper()
		raw, err := os.ReadFile(c.entryPath("k"))
		if err != nil {
			t.Fatal(err)
		}
		var e cacheEntry
		if err := json.Unmarshal(raw, &e); err != nil {
			t.Fatal(err)
		}
		return e
	}
	st, err := statBlob(first.Path())
	if err != nil {
		t.Fatal(err)
	}
	if e := readEntry(); e.Blob == nil || *e.Blob != st || st.Mtime != blobMtime.UnixNano() {
		t.Fatalf("entry records blob %+v; the blob's stat is %+v, want its mtime %v", e.Blob, st, blobMtime)
	}
	for _, tc := range []struct {
		name   string
		change func()
	}{
		{"entry without a stat", func() {
			e := readEntry()
			e.Blob = nil
			if err := c.record("k", e); err != nil {
				t.Fatal(err)
			}
		}},
		{"blob touched", func() {
			now := time.Now()
			if err := os.Chtimes(first.Path(), now, now); err != nil {
				t.Fatal(err)
			}
		}},
		{"nothing", func() {}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.change()
			l, err := c.Get("k")
			if err != nil || l == nil || !l.Cached() {
				t.Fatalf("Get: %v, %v: want a hit", l, err)
			}
			st, err := statBlob(l.Path())
			if err != nil {
				t.Fatal(err)
			}
			if e := readEntry(); e.Blob == nil || *e.Blob != st {
				t.Errorf("entry records blob %+v after the hit, the blob's stat is %+v", e.Blob, st)
			}
		})
	}
}

// TestCacheDamagedBlob: a blob whose content no longer matches its entry
// is a miss that says why (ErrCorrupt), never a hit.
func TestCacheDamagedBlob(t *testing.T) {
	c := openCache(t)
	l := putBlob(t, c, "k", []byte("some layer bytes"))
	if err := os.Chmod(l.Path(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(l.Path(), []byte("some layer byteZ"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Get("k"); got != nil || !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Get of a damaged blob: %v, %v; want ErrCorrupt", got, err)
	}
	if got, err := c.Get("missing"); got != nil || err != nil {
		t.Fatalf("Get of a missing key: %v, %v; want nothing", got, err)
	}
}
