package testenv

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestCacheFileConcurrent: callers that ask for the same file at once build
// it once, and every one of them sees it whole.
func TestCacheFileConcurrent(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "out", "root.tar")
	content := strings.Repeat("root tar bytes\n", 1<<14)
	var builds, builtReports atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			built, err := cacheFile(path, func(f *os.File) error {
				builds.Add(1)
				// Written in pieces, slowly: a reader that does not wait
				// for the lock would see a partial file.
				for i := 0; i < 4; i++ {
					if _, err := f.WriteString(content[i*len(content)/4 : (i+1)*len(content)/4]); err != nil {
						return err
					}
					time.Sleep(25 * time.Millisecond)
				}
				return nil
			})
			if built {
				builtReports.Add(1)
			}
			if err == nil {
				var b []byte
				if b, err = os.ReadFile(path); err == nil && string(b) != content {
					err = errors.New("read a partial or wrong file")
				}
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := builds.Load(); n != 1 {
		t.Errorf("built %d times, want once", n)
	}
	if n := builtReports.Load(); n != 1 {
		t.Errorf("%d callers reported building, want 1", n)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", fi.Mode().Perm())
	}
	assertNoTemps(t, path)
}

// TestCacheFileFailure: a failed build leaves nothing behind, and a later
// call builds again and removes what a killed builder left.
func TestCacheFileFailure(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "root.tar")
	boom := errors.New("mmdebstrap failed")
	built, err := cacheFile(path, func(f *os.File) error {
		f.WriteString("half")
		return boom
	})
	if !errors.Is(err, boom) || built {
		t.Fatalf("cacheFile = %v, %v; want false, %v", built, err, boom)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after a failed build, %s: %v; want it absent", path, err)
	}
	assertNoTemps(t, path)

	// A builder killed mid-write leaves its temporary file.
	stale := path + ".tmp-123"
	if err := os.WriteFile(stale, []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	built, err = cacheFile(path, func(f *os.File) error {
		_, err := f.WriteString("whole")
		return err
	})
	if err != nil || !built {
		t.Fatalf("cacheFile = %v, %v; want true, nil", built, err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "whole" {
		t.Errorf("%s = %q, %v; want \"whole\"", path, b, err)
	}
	assertNoTemps(t, path)

	// Present: not built again.
	built, err = cacheFile(path, func(f *os.File) error {
		t.Error("built a file that exists")
		return nil
	})
	if err != nil || built {
		t.Errorf("cacheFile of a present file = %v, %v; want false, nil", built, err)
	}
}

func assertNoTemps(t *testing.T, path string) {
	t.Helper()
	temps, err := filepath.Glob(globQuote(path) + ".tmp-*")
	if err != nil {
		t.Fatal(err)
	}
	if len(temps) > 0 {
		t.Errorf("temporary files left: %v", temps)
	}
}
