package transfer

import (
	"archive/tar"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// layerTree is the file system of an image, merged from its layers' tar headers
// in memory: nothing is written anywhere. Layers are applied in order by
// the rules UnpackContext follows on disk (an entry replaces what was at its
// path, .wh.NAME removes NAME from lower layers, .wh..wh..opq empties its
// directory of what lower layers put there; names are relative to the root,
// links met on the way to an entry are followed as a chroot would, hard
// links reach files inside the root only; devices and fifos are left out),
// so that a tree and an unpacked directory of one image hold the same
// paths, types, modes, link targets and contents (TestTreeMatchesUnpack).
type layerTree struct {
	root *tnode
	gen  int // the layer being applied, from 1; what it writes carries it
}

// tnode is one file of a tree.
type tnode struct {
	typ    byte        // tar.TypeDir, tar.TypeReg or tar.TypeSymlink
	mode   fs.FileMode // as UnpackContext without WithOwnership leaves it
	target string      // of a symbolic link
	data   *dataRef    // of a regular file; hard links share it
	kids   map[string]*tnode
	gen    int // the layer that wrote it (or made or passed through it, for a directory)
}

// dataRef is where the content of a regular file is: in which layer, and
// where in that layer's tar.
type dataRef struct {
	layer  int   // index among the image's layers, from 0
	offset int64 // of the content in the layer's tar; it also names the entry
	size   int64
	// plain is true when the content lies at offset as it is (not a GNU
	// sparse file, whose tar holds a map and the parts with data).
	plain bool
}

func newLayerTree() *layerTree {
	return &layerTree{root: &tnode{typ: tar.TypeDir, mode: fs.ModeDir | 0o755, kids: map[string]*tnode{}}}
}

// errSkipped is returned by apply for an entry that is left out of the
// tree, as UnpackContext skips it (WithSkipped): it names why.
type errSkipped string

func (e errSkipped) Error() string { return string(e) }

// apply puts the entry h of layer number layer (from 0), whose content
// starts at offset in the layer's tar, into the tree. A skipped entry is an
// errSkipped; the tree is unchanged then.
func (t *layerTree) apply(h *tar.Header, layer int, offset int64) error {
	t.gen = layer + 1
	name, ok := entryName(h.Name)
	if !ok {
		return errSkipped("its name leaves the root")
	}
	if name == "." {
		if h.Typeflag == tar.TypeDir {
			t.root.mode = fs.ModeDir | dirMode(h)
		}
		return nil
	}
	dir, base := path.Split(name)
	if base == whiteoutOpaque {
		if parent, err := t.resolve(dir, false); err == nil {
			t.opaque(parent)
		}
		return nil
	}
	if strings.HasPrefix(base, whiteoutPrefix) {
		victim, ok := whiteoutTarget(base)
		if !ok {
			return errSkipped("a whiteout of . or .. names no file")
		}
		parent, err := t.resolve(dir, false)
		if err != nil {
			return nil // no directory there: nothing to remove
		}
		if n := parent.kids[victim]; n != nil && n.gen != t.gen { // whiteouts hide lower layers only
			delete(parent.kids, victim)
		}
		return nil
	}
	switch h.Typeflag {
	case tar.TypeDir, tar.TypeReg, tar.TypeSymlink, tar.TypeLink:
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		return errSkipped("device nodes and fifos are not created; the runtime provides /dev")
	default:
		return errSkipped(fmt.Sprintf("tar entry type %q is not supported", h.Typeflag))
	}
	parent, err := t.resolve(dir, true)
	if err != nil {
		return errSkipped(fmt.Sprintf("its directory cannot be made: %v", err))
	}
	old := parent.kids[base]
	if h.Typeflag == tar.TypeDir && old != nil && old.typ == tar.TypeDir {
		old.gen, old.mode = t.gen, fs.ModeDir|dirMode(h)
		return nil
	}
	n := &tnode{typ: h.Typeflag, gen: t.gen}
	switch h.Typeflag {
	case tar.TypeDir:
		n.mode, n.kids = fs.ModeDir|dirMode(h), map[string]*tnode{}
	case tar.TypeSymlink:
		n.mode, n.target = fs.ModeSymlink|0o777, h.Linkname
	case tar.TypeReg:
		n.mode = fileMode(h)
		n.data = &dataRef{layer: layer, offset: offset, size: h.Size, plain: !sparse(h)}
	case tar.TypeLink:
		srcDir, srcName, err := t.linkSource(h.Linkname)
		if err != nil {
			return errSkipped(fmt.Sprintf("hard link to %s: %v", h.Linkname, err))
		}
		if srcDir == parent && srcName == base {
			return nil // a link to itself
		}
		src := srcDir.kids[srcName]
		n.typ, n.mode, n.target, n.data = src.typ, src.mode, src.target, src.data
	}
	parent.kids[base] = n
	return nil
}

// sparse reports whether h is a GNU sparse file, whose content is not
// stored as it is.
func sparse(h *tar.Header) bool {
	if h.Typeflag == tar.TypeGNUSparse {
		return true
	}
	for k := range h.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

// fileMode is the mode UnpackContext gives a file without WithOwnership:
// its permission bits and sticky bit.
func fileMode(h *tar.Header) fs.FileMode {
	return h.FileInfo().Mode() & (fs.ModePerm | fs.ModeSticky)
}

// dirMode is fileMode for a directory, which UnpackContext keeps writable
// by its owner.
func dirMode(h *tar.Header) fs.FileMode { return fileMode(h) | 0o700 }

// resolve follows the directory path p from the root as unpacker.resolve
// does: links are followed inside the root, ".." stops at the root, and
// with create missing directories are made and every directory passed is
// marked as written by the current layer.
func (t *layerTree) resolve(p string, create bool) (*tnode, error) {
	stack := []*tnode{t.root}
	rest := strings.Split(p, "/")
	hops := 0
	for len(rest) > 0 {
		c := rest[0]
		rest = rest[1:]
		cur := stack[len(stack)-1]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(stack) > 1 {
				stack = stack[:len(stack)-1]
			}
			continue
		}
		next := cur.kids[c]
		switch {
		case next == nil && create:
			next = &tnode{typ: tar.TypeDir, mode: fs.ModeDir | 0o755, kids: map[string]*tnode{}, gen: t.gen}
			cur.kids[c] = next
			stack = append(stack, next)
		case next == nil:
			return nil, fs.ErrNotExist
		case next.typ == tar.TypeSymlink:
			if hops++; hops > maxLinkHops {
				return nil, fmt.Errorf("%s: too many levels of symbolic links", p)
			}
			if path.IsAbs(next.target) {
				stack = stack[:1]
			}
			rest = append(strings.Split(next.target, "/"), rest...)
		case next.typ == tar.TypeDir:
			if create {
				next.gen = t.gen
			}
			stack = append(stack, next)
		default:
			return nil, fmt.Errorf("%s is not a directory", c)
		}
	}
	return stack[len(stack)-1], nil
}

// linkSource resolves a hard link's target to an existing non-directory:
// its directory and name there.
func (t *layerTree) linkSource(linkname string) (*tnode, string, error) {
	name, ok := entryName(linkname)
	if !ok || name == "." {
		return nil, "", errors.New("it is not a file inside the root")
	}
	dir, base := path.Split(name)
	parent, err := t.resolve(dir, false)
	if err != nil {
		return nil, "", err
	}
	src := parent.kids[base]
	switch {
	case src == nil:
		return nil, "", fs.ErrNotExist
	case src.typ == tar.TypeDir:
		return nil, "", errors.New("it is a directory")
	}
	return parent, base, nil
}

// opaque removes from dir everything the current layer did not write.
func (t *layerTree) opaque(dir *tnode) {
	for name, n := range dir.kids {
		switch {
		case n.gen != t.gen:
			delete(dir.kids, name)
		case n.typ == tar.TypeDir:
			t.opaque(n)
		}
	}
}
