package transfer

import (
	"archive/tar"
	"errors"
	"fmt"
	"io/fs"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// codecIndex is a small index with each kind of entry.
func codecIndex() *baseIndex {
	return &baseIndex{root: ientry{name: ".", typ: tar.TypeDir, mode: fs.ModeDir | 0o755}, entries: []ientry{
		{name: "etc", typ: tar.TypeDir, mode: fs.ModeDir | 0o755},
		{name: "etc/passwd", typ: tar.TypeReg, mode: 0o644, size: 4, layer: 1, offset: 512, plain: true},
		{name: "lib", typ: tar.TypeSymlink, mode: fs.ModeSymlink | 0o777, target: "usr/lib"},
		{name: "usr", typ: tar.TypeDir, mode: fs.ModeDir | 0o755},
		{name: "usr/lib", typ: tar.TypeDir, mode: fs.ModeDir | 0o755},
		{name: "usr/lib/libc.so.6", typ: tar.TypeReg, mode: 0o755, size: 1 << 20, offset: 1536},
		{name: "usr/lib/libc.so.6-hard", typ: tar.TypeReg, mode: 0o755, size: 1 << 20, offset: 1536},
	}}
}

func TestIndexCodecRoundTrip(t *testing.T) {
	x := codecIndex()
	got, err := decodeIndex(encodeIndex(x), 2)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(x, got, cmp.AllowUnexported(baseIndex{}, ientry{})); diff != "" {
		t.Errorf("decodeIndex(encodeIndex(x)) (-want +got):\n%s", diff)
	}
}

// TestDecodeIndexRejects: names that are not clean, sorted and unique, and
// files in no layer, are errBadIndex, as are truncated and padded indexes.
func TestDecodeIndexRejects(t *testing.T) {
	reg := func(name string) ientry { return ientry{name: name, typ: tar.TypeReg, mode: 0o644} }
	for _, tc := range []struct {
		name  string
		names []string
	}{
		{"empty name", []string{""}},
		{"dot", []string{"."}},
		{"dot dot", []string{".."}},
		{"leading dot dot", []string{"../a"}},
		{"inner dot dot", []string{"a/../b"}},
		{"inner dot", []string{"a/./b"}},
		{"absolute", []string{"/a"}},
		{"double slash", []string{"a//b"}},
		{"trailing slash", []string{"a/"}},
		{"out of order", []string{"b", "a"}},
		{"duplicate", []string{"a", "a"}},
		{"shorter after longer", []string{"ab", "a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := &baseIndex{root: ientry{name: ".", typ: tar.TypeDir}}
			for _, n := range tc.names {
				x.entries = append(x.entries, reg(n))
			}
			if _, err := decodeIndex(encodeIndex(x), 1); !errors.Is(err, errBadIndex) {
				t.Errorf("decodeIndex(%q) = %v, want errBadIndex", tc.names, err)
			}
		})
	}
	b := encodeIndex(codecIndex())
	for _, tc := range []struct {
		name   string
		b      []byte
		layers int
	}{
		{"a file in no layer", b, 1},
		{"truncated", b[:len(b)-1], 2},
		{"trailing bytes", append(b[:len(b):len(b)], 0), 2},
		{"another format", append([]byte("scratchpack base index 0\n"), b[len(indexMagic):]...), 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := decodeIndex(tc.b, tc.layers); !errors.Is(err, errBadIndex) {
				t.Errorf("decodeIndex = %v, want errBadIndex", err)
			}
		})
	}
}

func TestCleanName(t *testing.T) {
	for name, want := range map[string]bool{
		"a": true, "a/b": true, "usr/lib/x86_64-linux-gnu/libc.so.6": true, ".a": true, "a/..b": true, "...": true,
		"": false, ".": false, "..": false, "/a": false, "a/": false, "a//b": false, "a/./b": false, "a/../b": false, "a/.": false,
	} {
		if got := cleanName([]byte(name)); got != want {
			t.Errorf("cleanName(%q) = %v, want %v", name, got, want)
		}
		if _, ok := entryName(name); want && !ok {
			t.Errorf("entryName(%q) refuses a name cleanName takes", name)
		}
	}
}

// FuzzDecodeIndex: decodeIndex never panics, and what it accepts is what
// it reads from its own encoding (which is canonical where b need not be:
// varints may be padded).
func FuzzDecodeIndex(f *testing.F) {
	f.Add(encodeIndex(codecIndex()))
	f.Add([]byte(indexMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		x, err := decodeIndex(b, 4)
		if err != nil {
			return
		}
		again, err := decodeIndex(encodeIndex(x), 4)
		if err != nil {
			t.Fatalf("decodeIndex(encodeIndex(x)): %v", err)
		}
		if diff := cmp.Diff(x, again, cmp.AllowUnexported(baseIndex{}, ientry{})); diff != "" {
			t.Errorf("decodeIndex(encodeIndex(x)) (-x +got):\n%s", diff)
		}
	})
}

// BenchmarkDecodeIndex decodes an index of a root of the size of a Debian
// with a few servers (20,000 paths).
func BenchmarkDecodeIndex(b *testing.B) {
	x := &baseIndex{root: ientry{name: ".", typ: tar.TypeDir, mode: fs.ModeDir | 0o755}}
	for d := range 200 {
		dir := fmt.Sprintf("usr/share/package-%03d", d)
		x.entries = append(x.entries, ientry{name: dir, typ: tar.TypeDir, mode: fs.ModeDir | 0o755})
		for f := range 99 {
			x.entries = append(x.entries, ientry{name: fmt.Sprintf("%s/file-%02d.txt", dir, f), typ: tar.TypeReg, mode: 0o644, size: 1000, offset: int64(d*100+f) * 1536})
		}
	}
	enc := encodeIndex(x)
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeIndex(enc, 1); err != nil {
			b.Fatal(err)
		}
	}
}
