package packer

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/scratchpack/scratchpack/layercache"
)

// later is a clock an hour ahead, so that files a test has just written are
// not too recent to be cached.
func later() time.Time { return time.Now().Add(time.Hour) }

func openTestCache(t *testing.T) *layercache.Cache {
	t.Helper()
	c, err := layercache.OpenCache(filepath.Join(t.TempDir(), "cache"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// cached makes the layer of set with c and reports how it was made.
func cached(t *testing.T, set *FileSet, o LayerOptions, c *layercache.Cache) (*layercache.Layer, error) {
	t.Helper()
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	l, rebuilt, err := makeLayer(set, o, c, later)
	if err != nil {
		t.Fatal(err)
	}
	return l, rebuilt
}

// TestCacheHitAndMiss: the same files with the same settings come from the
// cache, with the same digests; a change of any file, mode, path,
// compression, level or time misses.
func TestCacheHitAndMiss(t *testing.T) {
	set, want := testFiles(t)
	c := openTestCache(t)
	first, _ := cached(t, set, LayerOptions{}, c)
	if first.Cached() {
		t.Fatal("first layer came from an empty cache")
	}
	if !strings.HasPrefix(first.Path(), c.Dir()) {
		t.Errorf("layer written to %s, not into the cache %s", first.Path(), c.Dir())
	}
	second, rebuilt := cached(t, set, LayerOptions{}, c)
	if !second.Cached() || rebuilt != nil {
		t.Fatalf("second layer: cached %v, rebuilt %v; want a hit", second.Cached(), rebuilt)
	}
	if layerDigest(t, second) != layerDigest(t, first) || layerDiffID(t, second) != layerDiffID(t, first) || layerSize(t, second) != layerSize(t, first) || second.UncompressedSize() != first.UncompressedSize() {
		t.Errorf("hit %+v differs from the layer written %+v", second, first)
	}
	checkLayer(t, second, layercache.Gzip, want)

	for _, tc := range []struct {
		name   string
		change func(t *testing.T, s *FileSet) *FileSet
		o      LayerOptions
	}{
		{"compression", nil, LayerOptions{Compression: layercache.Zstd}},
		{"level", nil, LayerOptions{Level: 1}},
		{"time", nil, LayerOptions{MTime: time.Unix(1700000000, 0)}},
		{"mode", func(t *testing.T, s *FileSet) *FileSet {
			s.Get("/app/small").Mode = 0o644
			return s
		}, LayerOptions{}},
		{"setuid bit (--keep-suid)", func(t *testing.T, s *FileSet) *FileSet {
			s.Get("/app/small").Mode |= fs.ModeSetuid
			return s
		}, LayerOptions{}},
		{"sticky bit", func(t *testing.T, s *FileSet) *FileSet {
			s.Get("/app/small").Mode |= fs.ModeSticky
			return s
		}, LayerOptions{}},
		{"path", func(t *testing.T, s *FileSet) *FileSet {
			e := *s.Get("/app/small")
			s.Remove(e.Path)
			e.Path = "/app/renamed"
			if err := s.Add(e); err != nil {
				t.Fatal(err)
			}
			return s
		}, LayerOptions{}},
		{"content, same size", func(t *testing.T, s *FileSet) *FileSet {
			// Also set the mtime back: the ctime still changes.
			src := s.Get("/app/small").Source
			fi, err := os.Stat(src)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(src, []byte("SMALL FILE\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(src, fi.ModTime(), fi.ModTime()); err != nil {
				t.Fatal(err)
			}
			return s
		}, LayerOptions{}},
		{"generated file", func(t *testing.T, s *FileSet) *FileSet {
			e := s.Get("/etc/generated")
			e.Data = []byte("made by the Packer\n")
			return s
		}, LayerOptions{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := testFiles(t)
			makeLayerOnce(t, s, LayerOptions{}, c)
			if tc.change != nil {
				s = tc.change(t, s)
			}
			l, _ := cached(t, s, tc.o, c)
			if l.Cached() {
				t.Errorf("after a change of %s the layer came from the cache", tc.name)
			}
		})
	}
}

// makeLayerOnce fills the cache for s and checks that it was filled.
func makeLayerOnce(t *testing.T, s *FileSet, o LayerOptions, c *layercache.Cache) {
	t.Helper()
	cached(t, s, o, c)
	if l, _ := cached(t, s, o, c); !l.Cached() {
		t.Fatal("the layer was not cached")
	}
}

// TestCacheRacyFile: a file changed less than racyWindow ago is not cached
// (its stat data could stay the same through another change).
func TestCacheRacyFile(t *testing.T) {
	set, _ := testFiles(t)
	c := openTestCache(t)
	// A clock one second after the last change of the newest file, however
	// long writing them took.
	var newest time.Time
	for _, e := range set.Entries() {
		if e.Source != "" {
			var st syscall.Stat_t
			if err := syscall.Stat(e.Source, &st); err != nil {
				t.Fatal(err)
			}
			if ct := time.Unix(st.Ctim.Unix()); ct.After(newest) {
				newest = ct
			}
		}
	}
	clock := func() time.Time { return newest.Add(time.Second) }
	for i := 0; i < 2; i++ {
		l, _, err := makeLayer(set, LayerOptions{Dir: t.TempDir()}, c, clock)
		if err != nil {
			t.Fatal(err)
		}
		if l.Cached() || strings.HasPrefix(l.Path(), c.Dir()) {
			t.Errorf("pack %d of just-written files: cached %v, written to %s; want written outside the cache", i+1, l.Cached(), l.Path())
		}
	}
}

// TestCacheCorruption damages a cache entry in each way it can be damaged:
// the next use detects it, writes the layer again (the same bytes) and
// repairs the entry.
func TestCacheCorruption(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, c *layercache.Cache, l *layercache.Layer, entry string)
	}{
		{"flipped byte in the blob", func(t *testing.T, c *layercache.Cache, l *layercache.Layer, _ string) {
			b, err := os.ReadFile(l.Path())
			if err != nil {
				t.Fatal(err)
			}
			b[len(b)/2] ^= 0x40
			writeInPlace(t, l.Path(), b)
		}},
		{"truncated blob", func(t *testing.T, c *layercache.Cache, l *layercache.Layer, _ string) {
			if err := os.Truncate(l.Path(), layerSize(t, l)/2); err != nil {
				t.Fatal(err)
			}
		}},
		{"blob removed", func(t *testing.T, c *layercache.Cache, l *layercache.Layer, _ string) {
			if err := os.Remove(l.Path()); err != nil {
				t.Fatal(err)
			}
		}},
		{"entry not JSON", func(t *testing.T, c *layercache.Cache, l *layercache.Layer, entry string) {
			writeInPlace(t, entry, []byte("{\"digest\": \"sha256:12"))
		}},
		{"entry names another blob", func(t *testing.T, c *layercache.Cache, l *layercache.Layer, entry string) {
			other := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("ab", 32)}
			if err := os.WriteFile(filepath.Join(c.Dir(), "blobs", other.Algorithm, other.Hex), []byte("other"), 0o644); err != nil {
				t.Fatal(err)
			}
			writeInPlace(t, entry, []byte(`{"digest":"`+other.String()+`","diff_id":"`+layerDiffID(t, l).String()+`","size":5,"tar_size":5,"compression":"gzip"}`))
		}},
		{"entry with a bad compression", func(t *testing.T, c *layercache.Cache, l *layercache.Layer, entry string) {
			writeInPlace(t, entry, []byte(`{"digest":"`+layerDigest(t, l).String()+`","size":1,"compression":"lz4"}`))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set, want := testFiles(t)
			c := openTestCache(t)
			first, _ := cached(t, set, LayerOptions{}, c)
			entries, err := filepath.Glob(filepath.Join(c.Dir(), "layers", "*.json"))
			if err != nil || len(entries) != 1 {
				t.Fatalf("cache entries %v (%v): want one", entries, err)
			}
			tc.damage(t, c, first, entries[0])

			again, rebuilt := cached(t, set, LayerOptions{}, c)
			if again.Cached() || !errors.Is(rebuilt, layercache.ErrCorrupt) {
				t.Fatalf("after damage: cached %v, rebuilt %v; want the layer written again because of ErrCacheCorrupt", again.Cached(), rebuilt)
			}
			if layerDigest(t, again) != layerDigest(t, first) {
				t.Errorf("rebuilt layer %s, first %s", layerDigest(t, again), layerDigest(t, first))
			}
			checkLayer(t, again, layercache.Gzip, want)
			third, rebuilt := cached(t, set, LayerOptions{}, c)
			if !third.Cached() || rebuilt != nil {
				t.Errorf("after the rebuild: cached %v, rebuilt %v; want a hit", third.Cached(), rebuilt)
			}
		})
	}
}

// writeInPlace overwrites a file's bytes without replacing the file, as a
// disk or a careless tool would.
func writeInPlace(t *testing.T, name string, b []byte) {
	t.Helper()
	if err := os.Chmod(name, 0o644); err != nil { // cache files are read-only
		t.Fatal(err)
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestCacheConcurrent: writers racing on one entry all get the right layer,
// and the cache is whole afterwards. (Two processes at once: see
// TestPackCacheTwoProcesses in cmd/scratchpack.)
func TestCacheConcurrent(t *testing.T) {
	set, want := testFiles(t)
	dir := filepath.Join(t.TempDir(), "cache")
	var wg sync.WaitGroup
	layers := make([]*layercache.Layer, 6)
	errs := make([]error, 6)
	for i := range layers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := layercache.OpenCache(dir) // each its own, as separate processes have
			if err == nil {
				layers[i], _, errs[i] = makeLayer(set, LayerOptions{Dir: t.TempDir()}, c, later)
			} else {
				errs[i] = err
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("writer %d: %v", i, err)
		}
		if layerDigest(t, layers[i]) != layerDigest(t, layers[0]) {
			t.Errorf("writer %d: %s, writer 0: %s", i, layerDigest(t, layers[i]), layerDigest(t, layers[0]))
		}
	}
	c, _ := layercache.OpenCache(dir)
	l, rebuilt := cached(t, set, LayerOptions{}, c)
	if !l.Cached() || rebuilt != nil {
		t.Errorf("after the race: cached %v, rebuilt %v; want a hit", l.Cached(), rebuilt)
	}
	checkLayer(t, l, layercache.Gzip, want)
	if tmp, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(tmp) != 0 {
		t.Errorf("files left in tmp/: %v", tmp)
	}
}

// TestGoBuildID: the cache key's program identity is the build ID the go
// command reads, and nothing for a file without one.
func TestGoBuildID(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("go", "tool", "buildid", exe).Output()
	if err != nil {
		t.Fatalf("go tool buildid %s: %v", exe, err)
	}
	if got, want := goBuildID(exe), strings.TrimSpace(string(out)); got == "" || got != want {
		t.Errorf("goBuildID(%s) = %q, go tool buildid says %q", exe, got, want)
	}
	notGo := filepath.Join(t.TempDir(), "script")
	if err := os.WriteFile(notGo, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got := goBuildID(notGo); got != "" {
		t.Errorf("goBuildID(a shell script) = %q, want none", got)
	}
}
