// Command levels writes the files under a directory as scratchpack layers at
// every gzip level and some zstd levels, and prints, tab-separated, each
// setting, the blob's size and the time it took; the first line is the tar
// (--compression none). make bench runs it on node's rootfs to show how
// layercache.DefaultGzipLevel was chosen.
package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/scratchpack/scratchpack/layercache"
	"github.com/scratchpack/scratchpack/packer"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: levels DIR")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "levels:", err)
		os.Exit(1)
	}
}

func run(root string) error {
	set := packer.NewFileSet()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		e := packer.Entry{Path: "/" + filepath.ToSlash(rel), Mode: 0o755}
		switch {
		case d.IsDir():
			e.Type = packer.TypeDir
		case d.Type()&fs.ModeSymlink != 0:
			e.Type = packer.TypeSymlink
			if e.Target, err = os.Readlink(p); err != nil {
				return err
			}
		default:
			fi, err := d.Info()
			if err != nil {
				return err
			}
			e.Type, e.Source, e.Size = packer.TypeFile, p, fi.Size()
		}
		return set.Add(e)
	})
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "levels-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	type setting struct {
		c     layercache.Compression
		level int
	}
	settings := []setting{{layercache.Uncompressed, 0}}
	for l := 1; l <= 9; l++ {
		settings = append(settings, setting{layercache.Gzip, l})
	}
	for _, l := range []int{1, 3, 6, 19} { // klauspost/compress has four zstd levels
		settings = append(settings, setting{layercache.Zstd, l})
	}
	for _, s := range settings {
		dir, err := os.MkdirTemp(work, "")
		if err != nil {
			return err
		}
		start := time.Now()
		l, err := packer.WriteLayer(set, packer.LayerOptions{Dir: dir, Compression: s.c, Level: s.level})
		if err != nil {
			return err
		}
		took := time.Since(start)
		size, err := l.Size()
		if err != nil {
			return err
		}
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
		name := s.c.String()
		if s.level != 0 {
			name = fmt.Sprintf("%s %d", s.c, s.level)
		}
		fmt.Printf("%s\t%d\t%.2f\n", name, size, took.Seconds())
	}
	return nil
}
