package main

import (
	"errors"
	"fmt"
	"os"
)

// tempDir is the directory temporary files go in (TMPDIR, else /tmp),
// checked to be one: an error names TMPDIR and the fix, where a failing
// mkdir would only name a path.
func tempDir() (string, error) {
	dir := os.TempDir()
	fi, err := os.Stat(dir)
	if err == nil && !fi.IsDir() {
		err = errors.New("not a directory")
	}
	if err == nil {
		return dir, nil
	}
	if os.Getenv("TMPDIR") != "" {
		return "", fmt.Errorf("TMPDIR=%s cannot hold temporary files (%w): set TMPDIR to an existing directory, or unset it to use /tmp", dir, err)
	}
	return "", fmt.Errorf("the temporary directory %s cannot hold temporary files (%w): set TMPDIR to an existing directory", dir, err)
}

// workDir makes a new temporary directory named prefix* in tempDir; the
// caller removes it.
func workDir(prefix string) (string, error) {
	dir, err := tempDir()
	if err != nil {
		return "", err
	}
	work, err := os.MkdirTemp(dir, prefix)
	if err != nil {
		return "", fmt.Errorf("making a temporary directory in %s (TMPDIR): %w", dir, err)
	}
	return work, nil
}
