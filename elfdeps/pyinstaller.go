package elfdeps

import (
	"bytes"
	"compress/zlib"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// A PyInstaller program is a C bootloader with a CArchive ("PKG") after it:
// appended to the file, or (PyInstaller 5 and later on Linux) held in an ELF
// section named "pydata". The archive ends with a cookie, all big-endian
// (PyInstaller's bootloader/src/pyi_archive.h and archive/writers.py):
//
//	char magic[8] = "MEI\014\013\012\013\016"
//	uint32 len         length of the whole archive, cookie included
//	uint32 toc         offset of the table of contents from the archive start
//	uint32 toclen      its length
//	uint32 pyvers      Python version: 311 for 3.11 (27 for 2.7 in old versions)
//	char pylibname[64] the Python shared library the bootloader loads
//
// The table of contents is a run of entries:
//
//	uint32 entry_length  of this entry, name and padding included (16-byte aligned)
//	uint32 offset        of the data from the archive start
//	uint32 length        of the data as stored
//	uint32 ulen          of the data uncompressed
//	uint8  cflag         1: the data is zlib-compressed
//	char   typecode      b binary, x data, z PYZ, Z zipfile, m/M module/package,
//	                     s script, o option, d dependency, l splash, n symlink
//	char   name[]        NUL-terminated, NUL-padded
//
// A --onefile program extracts the b, x, Z and n entries into a new
// directory under $TMPDIR (else /tmp), named _MEIxxxxxx, and runs itself
// again with LD_LIBRARY_PATH pointing there, so its embedded libraries find
// each other. PyInstaller leaves system libraries out of the archive (glibc's
// libc, libm, libdl, libpthread, librt, libutil, the loader, ...), so they must
// be on the system. A --onedir program keeps its libraries in the _internal
// directory beside it instead (PyInstaller 6).

// pyCookieMagic starts the cookie.
var pyCookieMagic = []byte("MEI\014\013\012\013\016")

const (
	pyCookieSize   = 88       // magic 8, four uint32, pylibname 64
	pyTOCEntryHead = 18       // four uint32, cflag, typecode
	pySearchTail   = 64 << 10 // bytes before the end searched for the cookie
	maxPyTOC       = 64 << 20 // bytes of table of contents read at most
	maxPyEntry     = 1 << 30  // bytes of one entry decompressed at most
)

// PyInstaller describes the archive of a PyInstaller program.
type PyInstaller struct {
	PythonVersion string    `json:"python_version"` // "3.11"
	PythonLibrary string    `json:"python_library"` // libpython3.11.so.1.0
	Mode          string    `json:"mode"`           // onefile (libraries inside) or onedir (beside it, in _internal/)
	InSection     bool      `json:"in_section"`     // the archive is the ELF section "pydata"
	Entries       []PyEntry `json:"-"`
	// Libraries are the shared objects inside a onefile archive.
	Libraries []EmbeddedLibrary `json:"libraries,omitempty"`

	start int64 // where the archive starts in the file
	size  int64 // its length
}

// PyEntry is one entry of the table of contents.
type PyEntry struct {
	Name       string
	Type       byte
	Offset     uint32 // from the archive start
	Length     uint32 // as stored
	Size       uint32 // uncompressed
	Compressed bool
}

// EmbeddedLibrary is a shared object inside the archive.
type EmbeddedLibrary struct {
	Name   string   `json:"name"` // its entry name: the path it is extracted to
	Size   int64    `json:"size"`
	Soname string   `json:"soname,omitempty"`
	Arch   string   `json:"arch"`
	Needed []string `json:"needed"`
}

// ErrBadPyInstaller means the file has a PyInstaller cookie, but the
// archive it describes is broken.
var ErrBadPyInstaller = errors.New("broken PyInstaller archive")

// ReadPyInstaller reads the cookie and table of contents of a PyInstaller
// program of size bytes without running it. f, if not nil, is the file's
// ELF view, for the "pydata" section. A file without a cookie gives nil, nil.
func ReadPyInstaller(r io.ReaderAt, size int64, f *elf.File) (pi *PyInstaller, err error) {
	defer func() {
		if p := recover(); p != nil {
			pi, err = nil, fmt.Errorf("%w: %v", ErrBadPyInstaller, p)
		}
	}()
	lo, hi, inSection := int64(0), size, false
	if f != nil {
		if s := f.Section("pydata"); s != nil && s.Type != elf.SHT_NOBITS && s.Offset <= uint64(size) && s.Size <= uint64(size)-s.Offset {
			lo, hi, inSection = int64(s.Offset), int64(s.Offset+s.Size), true
		}
	}
	cookie, err := findCookie(r, lo, hi)
	if cookie < 0 || err != nil {
		return nil, err
	}
	var c [pyCookieSize]byte
	if _, err := r.ReadAt(c[:], cookie); err != nil {
		return nil, fmt.Errorf("%w: reading the cookie: %v", ErrBadPyInstaller, err)
	}
	be := binary.BigEndian
	total, toc, toclen, pyvers := int64(be.Uint32(c[8:])), int64(be.Uint32(c[12:])), int64(be.Uint32(c[16:])), int32(be.Uint32(c[20:]))
	pi = &PyInstaller{InSection: inSection, PythonLibrary: string(bytes.TrimRight(c[24:], "\x00")), size: total}
	pi.start = cookie + pyCookieSize - total
	if pi.start < lo || toc+toclen > total || toclen > maxPyTOC {
		return nil, fmt.Errorf("%w: the cookie's lengths (archive %d, table at %d+%d) do not fit the file", ErrBadPyInstaller, total, toc, toclen)
	}
	pi.PythonVersion = pythonVersion(pyvers)
	tb := make([]byte, toclen)
	if _, err := r.ReadAt(tb, pi.start+toc); err != nil {
		return nil, fmt.Errorf("%w: reading the table of contents: %v", ErrBadPyInstaller, err)
	}
	if pi.Entries, err = parsePyTOC(tb, total); err != nil {
		return nil, err
	}
	pi.Mode = "onedir"
	for _, e := range pi.Entries {
		switch e.Type {
		case 'b', 'x', 'Z', 'n':
			pi.Mode = "onefile" // it extracts files: its libraries travel inside
		}
	}
	return pi, nil
}

// findCookie returns the offset of the last cookie magic in the last
// pySearchTail bytes of [lo, hi), or -1.
func findCookie(r io.ReaderAt, lo, hi int64) (int64, error) {
	from := max(lo, hi-pySearchTail)
	if hi-from < pyCookieSize {
		return -1, nil
	}
	b := make([]byte, hi-from)
	n, err := r.ReadAt(b, from)
	if err != nil && err != io.EOF {
		return -1, err
	}
	b = b[:n]
	for end := len(b); ; {
		i := bytes.LastIndex(b[:end], pyCookieMagic)
		if i < 0 {
			return -1, nil
		}
		if i+pyCookieSize <= len(b) {
			return from + int64(i), nil
		}
		end = i
	}
}

// parsePyTOC parses the table of contents of an archive of total bytes.
func parsePyTOC(b []byte, total int64) ([]PyEntry, error) {
	var out []PyEntry
	for len(b) > 0 {
		if len(b) < pyTOCEntryHead {
			return nil, fmt.Errorf("%w: a table entry is cut short", ErrBadPyInstaller)
		}
		be := binary.BigEndian
		n := be.Uint32(b)
		if n < pyTOCEntryHead || uint64(n) > uint64(len(b)) {
			return nil, fmt.Errorf("%w: a table entry of %d bytes", ErrBadPyInstaller, n)
		}
		e := PyEntry{Offset: be.Uint32(b[4:]), Length: be.Uint32(b[8:]), Size: be.Uint32(b[12:]), Compressed: b[16] == 1, Type: b[17]}
		name := b[pyTOCEntryHead:n]
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		e.Name = string(name)
		if int64(e.Offset)+int64(e.Length) > total {
			return nil, fmt.Errorf("%w: entry %q lies outside the archive", ErrBadPyInstaller, e.Name)
		}
		out = append(out, e)
		b = b[n:]
	}
	return out, nil
}

// pythonVersion turns the cookie's pyvers (311; 27 before PyInstaller 4) into "3.11".
func pythonVersion(v int32) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%d.%d", v/100, v%100)
	case v > 0:
		return fmt.Sprintf("%d.%d", v/10, v%10)
	}
	return ""
}

// ReadEntry returns the data of entry e, decompressed, up to max bytes.
func (pi *PyInstaller) ReadEntry(r io.ReaderAt, e PyEntry, max int64) ([]byte, error) {
	if int64(e.Offset)+int64(e.Length) > pi.size {
		return nil, fmt.Errorf("%w: entry %q lies outside the archive", ErrBadPyInstaller, e.Name)
	}
	src := io.NewSectionReader(r, pi.start+int64(e.Offset), int64(e.Length))
	if !e.Compressed {
		if int64(e.Length) > max {
			return nil, fmt.Errorf("%w: entry %q is %d bytes, more than %d", ErrBadPyInstaller, e.Name, e.Length, max)
		}
		return readAtMost(src, uint64(e.Length))
	}
	zr, err := zlib.NewReader(src)
	if err != nil {
		return nil, fmt.Errorf("%w: entry %q: %v", ErrBadPyInstaller, e.Name, err)
	}
	defer zr.Close()
	limit := min(max, int64(e.Size))
	b, err := readAtMost(io.LimitReader(zr, limit+1), uint64(limit)+1)
	if err != nil {
		return nil, fmt.Errorf("%w: entry %q: %v", ErrBadPyInstaller, e.Name, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: entry %q inflates to more than %d bytes", ErrBadPyInstaller, e.Name, limit)
	}
	return b, nil
}

// embeddedKeep are the libraries whose bytes RuntimeNeeds reads (for the
// paths compiled into TLS libraries); the others are dropped once inspected.
var embeddedKeep = []string{"libssl.so", "libcrypto.so", "libgnutls.so", "libcurl.so", "libcurl-gnutls.so"}

// EmbeddedLibraries inflates and inspects the shared objects of a onefile
// archive (its 'b' entries that are ELF files), fills pi.Libraries, and
// returns their reports for RuntimeNeeds (WithEmbedded).
func (pi *PyInstaller) EmbeddedLibraries(r io.ReaderAt) ([]*Report, error) {
	var reps []*Report
	pi.Libraries = nil
	for _, e := range pi.Entries {
		if e.Type != 'b' {
			continue
		}
		b, err := pi.ReadEntry(r, e, maxPyEntry)
		if err != nil {
			return nil, err
		}
		rep, err := Inspect(bytes.NewReader(b))
		if errors.Is(err, ErrNotELF) || errors.Is(err, ErrScript) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("embedded %s: %w", e.Name, err)
		}
		rep.Path = e.Name
		for _, k := range embeddedKeep {
			if strings.HasPrefix(rep.Soname, k) || strings.HasPrefix(path.Base(e.Name), k) {
				rep.data = b
			}
		}
		reps = append(reps, rep)
		pi.Libraries = append(pi.Libraries, EmbeddedLibrary{Name: e.Name, Size: int64(len(b)), Soname: rep.Soname, Arch: rep.Arch, Needed: rep.Needed})
	}
	return reps, nil
}

// SystemLibraries returns the names the embedded libraries need that the
// archive does not hold (by entry file name or soname): the system libraries
// PyInstaller leaves out, which the image must provide. Each comes with the
// embedded libraries that need it.
func SystemLibraries(embedded []*Report) map[string][]string {
	have := map[string]bool{}
	for _, r := range embedded {
		have[path.Base(r.Path)] = true
		if r.Soname != "" {
			have[r.Soname] = true
		}
	}
	out := map[string][]string{}
	for _, r := range embedded {
		for _, n := range r.Needed {
			if !have[n] && !have[path.Base(n)] {
				out[n] = append(out[n], r.Path)
			}
		}
	}
	for _, by := range out {
		sort.Strings(by)
	}
	return out
}

// OnedirLibraries inspects the shared objects of a --onedir program's
// contents directory (its _internal/, given as fsys) and returns their
// reports, with Path relative to that directory, and fills pi.Libraries.
func (pi *PyInstaller) OnedirLibraries(fsys fs.FS) ([]*Report, error) {
	var reps []*Report
	pi.Libraries = nil
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() || !strings.Contains(path.Base(p), ".so") {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rep, err := inspectOnedir(fsys, p, fi.Size())
		if errors.Is(err, ErrNotELF) || errors.Is(err, ErrScript) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		rep.Path = p
		reps = append(reps, rep)
		pi.Libraries = append(pi.Libraries, EmbeddedLibrary{Name: p, Size: fi.Size(), Soname: rep.Soname, Arch: rep.Arch, Needed: rep.Needed})
		return nil
	})
	return reps, err
}

// inspectOnedir inspects one library of a onedir contents directory. The
// report outlives the file, so the TLS libraries, whose bytes RuntimeNeeds
// reads later, are read into memory as a onefile archive's are; the
// others keep nothing open (their imports are read here).
func inspectOnedir(fsys fs.FS, p string, size int64) (*Report, error) {
	f, err := fsys.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ra, ok := f.(io.ReaderAt)
	if !ok {
		return nil, errors.New("no random access")
	}
	keep := false
	for _, k := range embeddedKeep {
		keep = keep || strings.HasPrefix(path.Base(p), k)
	}
	if !keep || size > maxPyEntry {
		return Inspect(ra)
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(io.NewSectionReader(ra, 0, size), b); err != nil {
		return nil, err
	}
	rep, err := Inspect(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	rep.data = b
	return rep, nil
}
