package elfdeps

import (
	"io"
	"io/fs"
	"sync"
)

// objectCache keeps, for one analysis, every ELF object a Root parsed, and
// its file open (the parsed object reads its sections from it), so that the
// resolver, the run-time needs and the dlopen hints parse each file once.
type objectCache struct {
	mu      sync.Mutex
	byPath  map[string]*cachedObject
	parses  int // objects parsed, for tests
	ld      *LDCache
	ldErr   error
	ldTried bool
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
	return &Root{fsys: r.fsys, name: r.name, objects: &objectCache{byPath: map[string]*cachedObject{}}}
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
	for p, c := range r.objects.byPath {
		if c.file != nil {
			if err := c.file.Close(); err != nil && first == nil {
				first = err
			}
		}
		delete(r.objects.byPath, p)
	}
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
	if c, ok := r.objects.byPath[p]; ok {
		return c.obj, c.fi, c.err
	}
	f, fi, err := r.Open(p)
	c := &cachedObject{fi: fi, err: err}
	if err == nil {
		r.objects.parses++
		c.obj, c.err = readObject(f)
		c.file = f
	}
	r.objects.byPath[p] = c
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
	if !r.objects.ldTried {
		r.objects.ld, r.objects.ldErr = read()
		r.objects.ldTried = true
	}
	return r.objects.ld, r.objects.ldErr
}
