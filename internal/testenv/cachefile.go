package testenv

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// cacheFile makes sure the file at path exists, calling build to write it
// when it does not, at most once across the goroutines and processes that
// ask for the same path at the same time:
//
//   - a file at path is always complete: build writes to a temporary name in
//     the same directory (path + ".tmp-*"), which is renamed to path only
//     after build returned nil and the file was closed;
//   - builders take an exclusive flock on path + ".lock" and look again for
//     path once they hold it, so a second caller waits for the first and
//     then uses its file; the lock file stays (it is empty);
//   - temporary files left by a builder that was killed are removed by the
//     next one, which holds the lock and so knows no one is writing them.
//
// It reports whether this call built the file. On error nothing is left at
// path or at a temporary name.
func cacheFile(path string, build func(f *os.File) error) (built bool, err error) {
	if _, err := os.Stat(path); err == nil {
		return false, nil
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, fmt.Errorf("creating the cache directory: %w", err)
	}
	unlock, err := lockFile(path + ".lock")
	if err != nil {
		return false, err
	}
	defer unlock()
	if _, err := os.Stat(path); err == nil {
		return false, nil // built by another caller while this one waited
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	stale, err := filepath.Glob(globQuote(path) + ".tmp-*")
	if err != nil {
		return false, err
	}
	for _, p := range stale {
		if err := os.Remove(p); err != nil {
			return false, fmt.Errorf("removing a stale temporary file: %w", err)
		}
	}

	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp-*")
	if err != nil {
		return false, err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	err = build(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644) // CreateTemp makes it 0600
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		return false, err
	}
	return true, nil
}

// lockFile takes an exclusive flock on the file at path, creating it, and
// returns the function that releases it. flock locks belong to the open
// file, so two goroutines of one process exclude each other as two
// processes do.
func lockFile(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening the lock file: %w", err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return func() { f.Close() }, nil // closing releases the lock
}

// globQuote escapes the characters filepath.Match treats specially.
func globQuote(s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '*', '?', '[', '\\':
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return string(b)
}
