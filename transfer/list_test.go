package transfer

import (
	"archive/tar"
	"bytes"
	"io/fs"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// tarLayer is a layer of the given tar headers (regular files get Size
// bytes of 'x').
func tarLayer(t *testing.T, hs ...tar.Header) v1.Layer {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, h := range hs {
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write(bytes.Repeat([]byte("x"), int(h.Size)))
		}
	}
	tw.Close()
	l, err := tarball.LayerFromReader(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestListImage(t *testing.T) {
	reg := func(n string, size int64, mode int64) tar.Header {
		return tar.Header{Name: n, Typeflag: tar.TypeReg, Size: size, Mode: mode}
	}
	dir := func(n string) tar.Header { return tar.Header{Name: n, Typeflag: tar.TypeDir, Mode: 0o755} }
	lower := tarLayer(t, dir("etc/"), reg("etc/passwd", 10, 0o644), dir("opt/"), reg("opt/a", 1, 0o644), reg("opt/b", 2, 0o644),
		dir("var/"), reg("var/log", 3, 0o644), reg("bin/su", 5, 0o4755),
		tar.Header{Name: "bin/sh", Typeflag: tar.TypeSymlink, Linkname: "busybox"})
	upper := tarLayer(t, reg("etc/.wh.passwd", 0, 0o644), reg("opt/.wh..wh..opq", 0, 0o644), reg("opt/c", 4, 0o600),
		reg("var", 7, 0o644), tar.Header{Name: "bin/su2", Typeflag: tar.TypeLink, Linkname: "bin/su"})
	img, err := mutate.AppendLayers(testImage(t, amd64, 1), lower, upper)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ListImage(bg, img)
	if err != nil {
		t.Fatal(err)
	}
	// Layers 0 and 1 are testImage's random ones; drop their files.
	var mine []Listing
	for _, f := range got {
		if f.Layer >= 2 {
			mine = append(mine, f)
		}
	}
	d2, d3 := digest(t, lower), digest(t, upper)
	want := []Listing{
		{Path: "/bin/sh", Type: TypeSymlink, Target: "busybox", Layer: 2, Digest: d2},
		{Path: "/bin/su", Type: TypeFile, Mode: fs.ModeSetuid | 0o755, Size: 5, Layer: 2, Digest: d2},
		{Path: "/bin/su2", Type: TypeHardlink, Target: "/bin/su", Size: 5, Layer: 3, Digest: d3},
		{Path: "/etc", Type: TypeDir, Mode: 0o755, Layer: 2, Digest: d2},
		{Path: "/opt", Type: TypeDir, Mode: 0o755, Layer: 2, Digest: d2},
		{Path: "/opt/c", Type: TypeFile, Mode: 0o600, Size: 4, Layer: 3, Digest: d3},
		{Path: "/var", Type: TypeFile, Mode: 0o644, Size: 7, Layer: 3, Digest: d3},
	}
	if diff := cmp.Diff(want, mine, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("ListImage (-want +got):\n%s", diff)
	}
}

// TestListWhiteoutOfDot: a whiteout ".wh.." names no file; it removes
// neither its directory nor anything in it.
func TestListWhiteoutOfDot(t *testing.T) {
	reg := func(n string) tar.Header { return tar.Header{Name: n, Typeflag: tar.TypeReg, Size: 1, Mode: 0o644} }
	img, err := mutate.AppendLayers(testImage(t, amd64, 1), tarLayer(t, reg("d/x"), reg("y")), tarLayer(t, reg("d/.wh.."), reg("d/.wh..."), reg(".wh..")))
	if err != nil {
		t.Fatal(err)
	}
	got, err := ListImage(bg, img)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, f := range got {
		if f.Layer >= 2 {
			paths = append(paths, f.Path)
		}
	}
	if diff := cmp.Diff([]string{"/d/x", "/y"}, paths); diff != "" {
		t.Errorf("listing (-want +got):\n%s", diff)
	}
}
