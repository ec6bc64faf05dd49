package transfer

import (
	"archive/tar"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"strings"
)

// indexMagic starts an encoded baseIndex; its number changes with the
// format, and with the rules that merge layers, so that an older index in
// a cache is not used.
const indexMagic = "scratchpack base index 1\n"

// maxIndexSize bounds an encoded index read from the cache: a root of a
// million paths is some 40 MB.
const maxIndexSize = 256 << 20

// encodeIndex writes x compactly: the root's mode, then each entry in
// order, its name as the length it shares with the previous name and the
// rest, its type and mode, and for a regular file its size, layer, offset
// and whether it is plain, for a link its target.
func encodeIndex(x *baseIndex) []byte {
	b := []byte(indexMagic)
	b = binary.AppendUvarint(b, uint64(x.root.mode))
	b = binary.AppendUvarint(b, uint64(len(x.entries)))
	prev := ""
	for _, e := range x.entries {
		shared := 0
		for shared < len(prev) && shared < len(e.name) && prev[shared] == e.name[shared] {
			shared++
		}
		b = binary.AppendUvarint(b, uint64(shared))
		b = appendString(b, e.name[shared:])
		b = append(b, e.typ)
		b = binary.AppendUvarint(b, uint64(e.mode))
		switch e.typ {
		case tar.TypeReg:
			b = binary.AppendUvarint(b, uint64(e.size))
			b = binary.AppendUvarint(b, uint64(e.layer))
			b = binary.AppendUvarint(b, uint64(e.offset))
			plain := byte(0)
			if e.plain {
				plain = 1
			}
			b = append(b, plain)
		case tar.TypeSymlink:
			b = appendString(b, e.target)
		}
		prev = e.name
	}
	return b
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// errBadIndex is wrapped by decodeIndex's errors.
var errBadIndex = errors.New("not an index of this scratchpack")

// decodeIndex reads what encodeIndex wrote for an image of layers layers,
// checking that names are sorted, clean and unique, and that every file
// is in one of those layers.
//
// The names are spelled out one after the other in one buffer that
// becomes one string, which each entry's name is a part of: two
// allocations for the tens of thousands of names of a distribution's root,
// not two for each (what made loading an index from the cache take longer
// than the rest of a pack on it).
func decodeIndex(b []byte, layers int) (*baseIndex, error) {
	d := &decoder{b: b}
	if !strings.HasPrefix(string(b), indexMagic) {
		return nil, errBadIndex
	}
	d.b = d.b[len(indexMagic):]
	x := &baseIndex{root: ientry{name: ".", typ: tar.TypeDir, mode: fs.FileMode(d.uvarint())}}
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		return nil, fmt.Errorf("%w: %d entries in %d bytes", errBadIndex, n, len(b))
	}
	x.entries = make([]ientry, 0, n)
	ends := make([]int, 0, n) // where each name ends in names
	names := make([]byte, 0, 2*len(d.b))
	start := 0 // of the previous name
	for i := uint64(0); i < n && d.err == nil; i++ {
		shared := d.uvarint()
		if shared > uint64(len(names)-start) {
			return nil, fmt.Errorf("%w: entry %d", errBadIndex, i)
		}
		prev := names[start:]
		names = append(names, prev[:shared]...)
		names = append(names, d.bytes()...)
		name := names[start+len(prev):]
		var e ientry
		e.typ = d.byte()
		e.mode = fs.FileMode(d.uvarint())
		switch e.typ {
		case tar.TypeReg:
			e.size, e.layer, e.offset = int64(d.uvarint()), int(d.uvarint()), int64(d.uvarint())
			e.plain = d.byte() == 1
			if e.layer >= layers || e.size < 0 || e.offset < 0 {
				return nil, fmt.Errorf("%w: %q is in no layer of the image", errBadIndex, name)
			}
		case tar.TypeSymlink:
			e.target = d.string()
		case tar.TypeDir:
		default:
			return nil, fmt.Errorf("%w: %q has type %q", errBadIndex, name, e.typ)
		}
		if !cleanName(name) || i > 0 && string(name) <= string(prev) {
			return nil, fmt.Errorf("%w: entry %q out of order or not clean", errBadIndex, name)
		}
		x.entries = append(x.entries, e)
		start += len(prev)
		ends = append(ends, len(names))
	}
	if d.err != nil || len(d.b) != 0 {
		return nil, fmt.Errorf("%w: truncated or trailing bytes", errBadIndex)
	}
	all := string(names)
	from := 0
	for i, end := range ends {
		x.entries[i].name = all[from:end]
		from = end
	}
	return x, nil
}

// cleanName reports whether name is what entryName makes of a name that
// stays in the root, other than the root itself: relative, and made of
// components none of which is empty, "." or "..".
func cleanName(name []byte) bool {
	if len(name) == 0 {
		return false
	}
	for len(name) > 0 {
		c := name
		if i := bytes.IndexByte(name, '/'); i >= 0 {
			c, name = name[:i], name[i+1:]
			if len(name) == 0 {
				return false // a trailing slash
			}
		} else {
			name = nil
		}
		if len(c) == 0 || string(c) == "." || string(c) == ".." {
			return false
		}
	}
	return true
}

// decoder reads varints and strings, remembering the first failure.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err, d.b = errBadIndex, nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte() byte {
	if len(d.b) == 0 {
		d.err = errBadIndex
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) string() string { return string(d.bytes()) }

// bytes returns the next string's bytes, in d's buffer.
func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.err, d.b = errBadIndex, nil
		return nil
	}
	s := d.b[:n:n]
	d.b = d.b[n:]
	return s
}
