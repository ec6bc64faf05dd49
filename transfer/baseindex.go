package transfer

import (
	"archive/tar"
	"errors"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// baseIndex is a merged tree flattened: every path of the image's file
// system, sorted, with where each regular file's content is. It is what
// the layer cache keeps of a base (see indexcodec.go), and what BaseFS
// answers from.
type baseIndex struct {
	root    ientry   // the root directory, "."
	entries []ientry // every other path, sorted by name
}

// ientry is one path of a baseIndex.
type ientry struct {
	name   string // relative and clean: "usr/lib/libc.so.6"
	typ    byte   // tar.TypeDir, tar.TypeReg or tar.TypeSymlink
	mode   fs.FileMode
	size   int64  // of a regular file
	target string // of a symbolic link
	// Where a regular file's content is: the layer (from 0) and the
	// offset in its tar, which together name the content (hard links
	// share it); plain when it is stored there as it is (not sparse).
	layer  int
	offset int64
	plain  bool
}

// contentKey names the content of a regular file: its layer and offset.
type contentKey struct {
	layer  int
	offset int64
}

func (e *ientry) key() contentKey { return contentKey{e.layer, e.offset} }

// flattenTree turns a merged tree into its index.
func flattenTree(t *layerTree) *baseIndex {
	x := &baseIndex{root: ientry{name: ".", typ: tar.TypeDir, mode: t.root.mode}}
	var walk func(dir string, n *tnode)
	walk = func(dir string, n *tnode) {
		for name, k := range n.kids {
			p := name
			if dir != "" {
				p = dir + "/" + name
			}
			e := ientry{name: p, typ: k.typ, mode: k.mode, target: k.target}
			if k.data != nil {
				e.size, e.layer, e.offset, e.plain = k.data.size, k.data.layer, k.data.offset, k.data.plain
			}
			x.entries = append(x.entries, e)
			if k.typ == tar.TypeDir {
				walk(p, k)
			}
		}
	}
	walk("", t.root)
	sort.Slice(x.entries, func(i, j int) bool { return x.entries[i].name < x.entries[j].name })
	return x
}

// lookup returns the entry named name exactly (no links followed), nil if
// there is none. "" and "." name the root.
func (x *baseIndex) lookup(name string) *ientry {
	if name == "" || name == "." {
		return &x.root
	}
	i := sort.Search(len(x.entries), func(i int) bool { return x.entries[i].name >= name })
	if i < len(x.entries) && x.entries[i].name == name {
		return &x.entries[i]
	}
	return nil
}

// errNotDir is met when a path goes through a file as if it were a directory.
var errNotDir = errors.New("not a directory")

// resolve finds the entry at name, following symbolic links inside the
// index as a chroot would (an absolute target starts again at the root,
// ".." stops there), the last component's too if follow is set.
func (x *baseIndex) resolve(name string, follow bool) (*ientry, error) {
	resolved := ""
	rest := strings.Split(name, "/")
	hops := 0
	for len(rest) > 0 {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if i := strings.LastIndexByte(resolved, '/'); i >= 0 {
				resolved = resolved[:i]
			} else {
				resolved = ""
			}
			continue
		}
		next := c
		if resolved != "" {
			next = resolved + "/" + c
		}
		e := x.lookup(next)
		if e == nil {
			return nil, fs.ErrNotExist
		}
		if e.typ == tar.TypeSymlink && (len(rest) > 0 || follow) {
			if hops++; hops > maxLinkHops {
				return nil, errors.New("too many levels of symbolic links")
			}
			if path.IsAbs(e.target) {
				resolved = ""
			}
			rest = append(strings.Split(e.target, "/"), rest...)
			continue
		}
		if len(rest) > 0 && e.typ != tar.TypeDir {
			// Only "" and "." may follow a file: "f/" and "f/." are f.
			for _, r := range rest {
				if r != "" && r != "." {
					return nil, errNotDir
				}
			}
		}
		resolved = next
	}
	return x.lookup(resolved), nil
}

// children returns the entries directly inside the directory dir (its
// name in the index, "." for the root), sorted.
func (x *baseIndex) children(dir string) []*ientry {
	prefix := ""
	if dir != "." && dir != "" {
		prefix = dir + "/"
	}
	i := sort.Search(len(x.entries), func(i int) bool { return x.entries[i].name >= prefix })
	var out []*ientry
	for ; i < len(x.entries) && strings.HasPrefix(x.entries[i].name, prefix); i++ {
		if !strings.Contains(x.entries[i].name[len(prefix):], "/") {
			out = append(out, &x.entries[i])
		}
	}
	return out
}
