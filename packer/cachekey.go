package packer

import (
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/scratchpack/scratchpack/layercache"
	"golang.org/x/sys/unix"
)

// racyWindow is how recent a source file's mtime or ctime may be for the
// layer to be cached. A file changed again within the timestamp granularity
// of its file system would keep its stat data (git calls such entries "racily
// clean"); 2s covers the coarsest granularity in use (FAT's). Such a layer is
// written, not cached; the next pack, later, caches it.
const racyWindow = 2 * time.Second

// keyFormat names the key's layout; change it when the layout changes.
const keyFormat = "scratchpack layer cache key v2"

// layerKey is the cache key of the layer s gives when written with c at level
// and mtime: a sha256 over everything that decides the layer's bytes.
//
//   - The code that writes them: the running executable's Go build ID (else
//     its sha256), which changes with any change of its content, and so of
//     archive/tar, the compressors and scratchpack's own layer writer. A new
//     build, even of the same version, starts with fresh keys.
//   - The compression, its level and the entries' time (SOURCE_DATE_EPOCH).
//   - Each entry, in order: its path in the image, type, mode as the tar
//     header has it (with the sticky, setuid and setgid bits), link target
//     and size, and for generated files the digest of their bytes.
//   - For each host file copied, instead of its content, what stat(2) says:
//     device, inode, size, mtime and ctime, each to the nanosecond. This is
//     how git's index and make tell a changed file: writing a file changes its
//     mtime and ctime, and setting mtime back (touch -d, cp -p, tar x) still
//     changes ctime, which only the kernel sets. Hashing the content instead
//     would read every byte again: on the 104 MB node image that costs about
//     as much as half the build it would save (see `make bench`).
//
// ok is false when the layer must not be cached: a source was changed within
// racyWindow of now.
func layerKey(s *FileSet, c layercache.Compression, level int, mtime, now time.Time) (key string, ok bool, err error) {
	code, err := executableDigest()
	if err != nil {
		return "", false, err
	}
	h := sha256.New()
	enc := json.NewEncoder(h)
	put := func(v any) {
		if err == nil {
			err = enc.Encode(v)
		}
	}
	put([]any{keyFormat, code, c.String(), level, mtime.UnixNano()})
	ok = true
	for _, e := range s.Entries() {
		rec := []any{e.Path, int(e.Type), UnixMode(e.Mode), e.Target, e.Size}
		if e.UID != 0 || e.GID != 0 {
			rec = append(rec, "owner", e.UID, e.GID)
		}
		switch {
		case e.Type == TypeFile && e.Source != "":
			var st unix.Stat_t
			if err := unix.Stat(e.Source, &st); err != nil {
				return "", false, fmt.Errorf("%s: %w", e.Source, err)
			}
			mt, ct := time.Unix(st.Mtim.Unix()), time.Unix(st.Ctim.Unix())
			if now.Sub(mt) < racyWindow || now.Sub(ct) < racyWindow {
				ok = false
			}
			rec = append(rec, "stat", st.Dev, st.Ino, st.Size, mt.UnixNano(), ct.UnixNano())
		case e.Type == TypeFile:
			d := sha256.Sum256(e.Data)
			rec = append(rec, "data", hex.EncodeToString(d[:]))
		}
		put(rec)
	}
	if err != nil {
		return "", false, err
	}
	return hex.EncodeToString(h.Sum(nil)), ok, nil
}

var executable struct {
	once   sync.Once
	digest string
	err    error
}

// executableDigest identifies the running program, computed once: its Go
// build ID, which the go command derives from the program's content (and
// reads in a millisecond, where hashing a 17 MB program takes ten), or the
// sha256 of the program if it has none.
func executableDigest() (string, error) {
	executable.once.Do(func() {
		name, err := os.Executable()
		if err != nil {
			executable.err = fmt.Errorf("finding the running program, whose digest keys the cache: %w", err)
			return
		}
		if id := goBuildID(name); id != "" {
			executable.digest = "go build ID " + id
			return
		}
		f, err := os.Open(name)
		if err != nil {
			executable.err = fmt.Errorf("reading the running program, whose digest keys the cache: %w", err)
			return
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			executable.err = fmt.Errorf("reading %s, whose digest keys the cache: %w", name, err)
			return
		}
		executable.digest = hex.EncodeToString(h.Sum(nil))
	})
	return executable.digest, executable.err
}

// goBuildID returns the Go build ID of an ELF program (the note the linker
// writes, as `go tool buildid` prints it), or "" if it has none.
func goBuildID(name string) string {
	f, err := elf.Open(name)
	if err != nil {
		return ""
	}
	defer f.Close()
	sec := f.Section(".note.go.buildid")
	if sec == nil {
		return ""
	}
	note, err := sec.Data()
	if err != nil || len(note) < 16 {
		return ""
	}
	// An ELF note: name size, descriptor size, type (4: the build ID), the
	// name "Go\x00\x00", then the ID.
	bo := f.ByteOrder
	nameSize, descSize, typ := bo.Uint32(note), bo.Uint32(note[4:]), bo.Uint32(note[8:])
	if nameSize != 4 || typ != 4 || string(note[12:16]) != "Go\x00\x00" || uint64(descSize) > uint64(len(note)-16) {
		return ""
	}
	return string(note[16 : 16+descSize])
}
