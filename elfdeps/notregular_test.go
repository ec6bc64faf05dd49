//go:build unix

package elfdeps

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func TestInspectFileNotRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	dangling := filepath.Join(dir, "dangling")
	if err := os.Symlink("nowhere", dangling); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, file string
		want       error
	}{
		{"directory", dir, ErrNotRegular},
		{"fifo", fifo, ErrNotRegular},
		{"missing", filepath.Join(dir, "missing"), fs.ErrNotExist},
		{"dangling symlink", dangling, fs.ErrNotExist},
		{"below a file", filepath.Join(malformedDir, "not-elf.txt", "x"), syscall.ENOTDIR},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Opening a fifo for reading blocks until a writer comes: a
			// hang here is the bug this test is for.
			type result struct {
				rep *Report
				err error
			}
			done := make(chan result, 1)
			go func() {
				rep, err := InspectFile(tc.file)
				done <- result{rep, err}
			}()
			var res result
			select {
			case res = <-done:
			case <-time.After(10 * time.Second):
				if w, err := os.OpenFile(tc.file, os.O_WRONLY, 0); err == nil {
					w.Close() // unblock the reader
				}
				t.Fatalf("InspectFile(%s) hangs", tc.file)
			}
			if !errors.Is(res.err, tc.want) {
				t.Fatalf("InspectFile(%s) = %+v, %v; want an error wrapping %q", tc.file, res.rep, res.err, tc.want)
			}
			checkFileError(t, res.err, tc.file)
		})
	}
}

// TestDirRootFifo checks that a fifo in a host root is refused, not opened:
// opening a fifo for reading blocks until a writer comes.
func TestDirRootFifo(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "libfifo.so")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	root := DirRoot(dir)
	for name, call := range map[string]func() error{
		"Open":     func() error { _, _, err := root.Open("/libfifo.so"); return err },
		"ReadFile": func() error { _, err := root.ReadFile("/libfifo.so"); return err },
	} {
		t.Run(name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() { done <- call() }()
			select {
			case err := <-done:
				if !errors.Is(err, ErrNotRegular) {
					t.Errorf("error = %v, want ErrNotRegular", err)
				}
			case <-time.After(10 * time.Second):
				if w, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
					w.Close()
				}
				t.Fatal("hangs on a fifo")
			}
		})
	}
}
