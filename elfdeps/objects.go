package elfdeps

import (
	"io"
	"io/fs"
	"sync"
	"syscall"
)

// objectCache keeps, for one analysis, every ELF object a Root parsed, and
// its file open (the parsed object reads its sections from it), so that the
// resolver, the run-time needs and the dlopen hints parse each file once.
type objectCache struct {
	mu     sync.Mutex
	byPath map[pathKey]*cachedObject // by real path, in the root that asked
	roots  int                       // roots sharing the cache, which numbers them
	byFile map[fileID]*cachedObject  // by the file itself, across roots that share the cache
	parses int                       // objects parsed, for tests
	ld     map[int]*ldRead           // each root's /etc/ld.so.cache, once
}

// ldRead is one root's ld.so.cache, as read.
type ldRead struct {
	cache *LDCache
	err   error
}

type cachedObject struct {
	obj  *object
	fi   fs.FileInfo
	file io.Closer
	err  error
}

// Sharing returns a Root over the same files that parses each ELF object
// once and keeps it until Close: what Analyze uses so that its passes share
// their reads. A Root that already shares is returned as it is.
func (r *Root) Sharing() *Root {
	if r.objects != nil {
		return r
	}
	return &Root{fsys: r.fsys, name: r.name, objects: &objectCache{byPath: map[pathKey]*cachedObject{}, byFile: map[fileID]*cachedObject{}}}
}

// pathKey is a path in one of the roots that share a cache: the same path
// in two roots may be two files.
type pathKey struct {
	root int
	path string
}

// fileID is a host file: device, inode, size and modification time.
type fileID struct {
	dev, ino uint64
	size     int64
	mtime    int64
}

// identify is the host file behind fi, if fi says (os.DirFS's files do).
func identify(fi fs.FileInfo) (fileID, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{uint64(st.Dev), st.Ino, fi.Size(), fi.ModTime().UnixNano()}, true
}

// SharingWith returns a Root over r's files that shares other's parsed
// objects: a file both reach (the same host file, by device and inode) is
// parsed once. other must be a sharing Root; closing it closes them.
func (r *Root) SharingWith(other *Root) *Root {
	if other.objects == nil {
		return r
	}
	other.objects.mu.Lock()
	defer other.objects.mu.Unlock()
	other.objects.roots++
	return &Root{fsys: r.fsys, name: r.name, objects: other.objects, cacheID: other.objects.roots}
}

// Close closes the files a sharing Root keeps open; the Root may still be
// used, parsing again. It does nothing for other Roots.
func (r *Root) Close() error {
	if r.objects == nil {
		return nil
	}
	r.objects.mu.Lock()
	defer r.objects.mu.Unlock()
	var first error
	closed := map[*cachedObject]bool{}
	for p, c := range r.objects.byPath {
		if c.file != nil && !closed[c] {
			closed[c] = true
			if err := c.file.Close(); err != nil && first == nil {
				first = err
			}
		}
		delete(r.objects.byPath, p)
	}
	clear(r.objects.byFile)
	return first
}

// object opens and parses the ELF file at p, with its symbol versions: once
// per sharing Root, every time otherwise. Its errors are Open's and
// readObject's. The caller must not close anything: the object of a
// non-sharing Root reads a file that is closed when the object is dropped
// (its sections, not its parsed fields, are then unreadable).
func (r *Root) object(p string) (*object, fs.FileInfo, error) {
	if r.objects == nil {
		return r.parse(p)
	}
	// By the file behind p, which the resolver and the needs name differently.
	if real, _, err := r.Resolve(p); err == nil {
		p = real
	}
	r.objects.mu.Lock()
	defer r.objects.mu.Unlock()
	key := pathKey{r.cacheID, p}
	if c, ok := r.objects.byPath[key]; ok {
		return c.obj, c.fi, c.err
	}
	f, fi, err := r.Open(p)
	c := &cachedObject{fi: fi, err: err}
	if err == nil {
		id, ok := identify(fi)
		if same := r.objects.byFile[id]; ok && same != nil {
			f.Close() // parsed already, through another root's name for it
			r.objects.byPath[key] = same
			return same.obj, same.fi, same.err
		}
		r.objects.parses++
		c.obj, c.err = readObject(f)
		c.file = f
		if ok {
			r.objects.byFile[id] = c
		}
	}
	r.objects.byPath[key] = c
	return c.obj, c.fi, c.err
}

// parse is object without a cache: the file is read and closed.
func (r *Root) parse(p string) (*object, fs.FileInfo, error) {
	f, fi, err := r.Open(p)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	o, err := readObject(f)
	return o, fi, err
}

// parsed is how many objects a sharing Root has parsed (0 for others).
func (r *Root) parsed() int {
	if r.objects == nil {
		return 0
	}
	r.objects.mu.Lock()
	defer r.objects.mu.Unlock()
	return r.objects.parses
}

// ldCache reads and parses the root's /etc/ld.so.cache: once per sharing
// Root, every time otherwise.
func (r *Root) ldCache() (*LDCache, error) {
	read := func() (*LDCache, error) {
		b, err := r.ReadFile("/etc/ld.so.cache")
		if err != nil {
			return nil, err
		}
		return ParseLDCache(b)
	}
	if r.objects == nil {
		return read()
	}
	r.objects.mu.Lock()
	defer r.objects.mu.Unlock()
	if r.objects.ld == nil {
		r.objects.ld = map[int]*ldRead{}
	}
	l := r.objects.ld[r.cacheID]
	if l == nil {
		l = &ldRead{}
		l.cache, l.err = read()
		r.objects.ld[r.cacheID] = l
	}
	return l.cache, l.err
}
