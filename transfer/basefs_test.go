package transfer

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// fsTree describes every path of fsys as tree describes a directory:
// "file 0644 DATA", "dir 0755", "link TARGET".
func fsTree(t *testing.T, fsys fs.FS) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == "." {
			return err
		}
		fi, err := fs.Lstat(fsys, p)
		if err != nil {
			return err
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := fs.ReadLink(fsys, p)
			if err != nil {
				return err
			}
			out[p] = "link " + target
		case fi.IsDir():
			perm := fi.Mode().Perm()
			if fi.Mode()&fs.ModeSticky != 0 {
				perm |= 0o1000
			}
			out[p] = fmt.Sprintf("dir %04o", perm)
		default:
			b, err := fs.ReadFile(fsys, p)
			if err != nil {
				return err
			}
			out[p] = fmt.Sprintf("file %04o %s", fi.Mode().Perm(), b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// unpackCases are the layer sets of TestUnpack and TestUnpackHostile.
func unpackCases(outside string) map[string][][]ent {
	return map[string][][]ent{
		"files, links and modes": {{
			dir("usr/", 0o755), dir("usr/lib/", 0o755), file("usr/lib/libc.so.6", "libc", 0o755),
			symlink("lib", "usr/lib"), symlink("usr/lib/libc.so", "/usr/lib/libc.so.6"),
			hardlink("usr/lib/libc-hard", "usr/lib/libc.so.6"), file("etc/passwd", "root", 0o600),
			file("./app/run", "x", 0o4755), dir("tmp", 0o1777),
		}},
		"upper layers replace, whiteouts remove": {
			{file("a/f", "1", 0o644), file("a/g", "1", 0o644), dir("d/", 0o755), file("d/x", "1", 0o644),
				file("was-file", "1", 0o644), dir("was-dir", 0o755), file("was-dir/x", "1", 0o644), file("keep", "1", 0o644)},
			{file("a/f", "2", 0o600), whiteout("a/.wh.g"), whiteout(".wh.d"), dir("was-file", 0o700),
				file("was-dir", "2", 0o644), whiteout(".wh.nothing-there")},
		},
		"opaque directory hides lower layers only": {
			{file("o/old", "1", 0o644), file("o/sub/old", "1", 0o644), file("other/x", "1", 0o644)},
			{file("o/before", "2", 0o644), file("o/sub/new", "2", 0o644), whiteout("o/.wh..wh..opq"), file("o/after", "2", 0o644)},
		},
		"entries through symbolic links stay in the root": {
			{dir("usr/lib", 0o755), symlink("lib", "/usr/lib"), symlink("up", "../../.."), symlink("loop", "loop")},
			{file("lib/libz.so.1", "z", 0o644), file("up/etc/hosts", "h", 0o644), file("loop/x", "x", 0o644)},
		},
		"whiteouts of . and .. are skipped": {
			{file("d/x", "1", 0o644), file("y", "1", 0o644)},
			{whiteout("d/.wh.."), whiteout("d/.wh..."), whiteout(".wh.."), whiteout(".wh..."), file("d/z", "2", 0o644)},
		},
		"devices are skipped": {{{name: "dev/null", typ: 0x33, mode: 0o666}, dir("dev", 0o755)}},
		"hostile": {
			{
				file("../../../outside/canary", "dotdot", 0o644),
				file("/../../../outside/canary-abs", "abs-dotdot", 0o644),
				file("x/../../../../outside/new", "climb", 0o644),
				symlink("abs", outside),
				symlink("rel", "../../../outside"),
				symlink("x", "."),
				symlink("chain", "abs"),
				hardlink("hl-rel", "../../../outside/canary"),
				hardlink("hl-abs", outside+"/canary"),
				hardlink("hl-through", "abs/canary"),
			},
			{
				file("abs/canary", "through an absolute link", 0o644),
				file("rel/canary", "through a relative link", 0o644),
				file("chain/canary2", "through a chain", 0o644),
				file("x/rel/canary3", "through two links", 0o644),
				whiteout("abs/.wh.canary-gone"),
				whiteout("../../../outside/.wh.canary"),
				whiteout("rel/.wh..wh..opq"),
				hardlink("hl-later", "rel/canary"),
				symlink("abs", "/replaced"),
			},
			{file("abs", "replacing the link itself is fine", 0o644)},
		},
		"whiteouts of the same layer, absolute links below the root": {
			{dir("usr/lib", 0o755), symlink("usr/lib64", "/usr/lib"), file("usr/lib64/x", "1", 0o644),
				file("keep/a", "1", 0o644), whiteout("keep/.wh.a"), dir("o", 0o755), file("o/a", "1", 0o644), whiteout("o/.wh..wh..opq")},
			{file("usr/lib64/../lib64/y", "2", 0o644), file("keep/b", "2", 0o644), whiteout("keep/.wh.b")},
		},
		"whiteouts and links, one layer": {
			{dir("d", 0o755), file("d/a", "1", 0o644), symlink("l", "d"), whiteout("l/.wh.a"), file("l/b", "2", 0o644),
				hardlink("h", "l/b"), whiteout("d/.wh.b"), dir("e", 0o755), file("e/x", "1", 0o644)},
			{whiteout("l/.wh.b"), file("l/c", "3", 0o644), whiteout("e/.wh..wh..opq"), file("d/a", "4", 0o700), hardlink("d/a2", "h")},
		},
	}
}

// TestBaseFSMatchesUnpack: the index of an image holds exactly what
// Unpack writes to disk for it (the cases of TestUnpack and
// TestUnpackHostile, hostile names and links included): the same paths,
// types, modes, link targets and contents.
func TestBaseFSMatchesUnpack(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "outside")
	for name, layers := range unpackCases(outside) {
		t.Run(name, func(t *testing.T) {
			img := imageOf(t, layers...)
			root := t.TempDir()
			if err := Unpack(img, root); err != nil {
				t.Fatal(err)
			}
			bfs, err := OpenBase(context.Background(), img)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tree(t, root), fsTree(t, bfs)); diff != "" {
				t.Errorf("index (+) against the unpacked tree (-):\n%s", diff)
			}
		})
	}
}

// TestBaseFSLinksStayInside: paths given to a BaseFS resolve inside the
// image, whatever its links say; a link out is a path in the image.
func TestBaseFSLinksStayInside(t *testing.T) {
	img := imageOf(t, []ent{
		dir("usr/lib", 0o755), file("usr/lib/libc.so.6", "libc", 0o755), symlink("lib", "/usr/lib"),
		symlink("etc", "../../../../etc"), file("passwd", "image's", 0o644), symlink("up", "../.."),
		symlink("loop", "loop"),
	})
	bfs, err := OpenBase(context.Background(), img)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, want string }{
		{"lib/libc.so.6", "libc"},
		{"up/up/lib/libc.so.6", "libc"},
		{"etc/passwd", "image's"}, // etc → ../../../../etc → /etc, which the image lacks
	} {
		b, err := fs.ReadFile(bfs, tc.name)
		if tc.name == "etc/passwd" {
			if err == nil {
				t.Errorf("%s: read %q, want an error: /etc is not in the image", tc.name, b)
			}
			continue
		}
		if err != nil || string(b) != tc.want {
			t.Errorf("%s: %q, %v; want %q", tc.name, b, err, tc.want)
		}
	}
	if _, err := fs.Stat(bfs, "loop/x"); err == nil || !strings.Contains(err.Error(), "too many levels") {
		t.Errorf("loop/x: %v, want a link loop", err)
	}
	if _, err := bfs.Open("../x"); err == nil {
		t.Errorf("Open(../x) succeeded")
	}
}

// FuzzBaseFSMatchesUnpack builds layers from the fuzzer's bytes as
// FuzzUnpackStaysInside does and checks that the index holds what Unpack
// writes.
func FuzzBaseFSMatchesUnpack(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add([]byte{2, 5, 9, 0, 12, 3, 1, 2, 4, 6, 0, 7, 3, 3, 8})
	f.Add([]byte{1, 2, 2, 0, 0, 2, 2, 0, 5, 0, 0, 0, 4, 2, 9, 2, 0, 2, 2, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		top := t.TempDir()
		outside, root := filepath.Join(top, "outside"), filepath.Join(top, "root")
		for _, d := range []string{outside, root} {
			if err := os.Mkdir(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		img := fuzzImage(t, b, outside)
		if err := Unpack(img, root); err != nil {
			t.Skipf("unpack: %v", err)
		}
		bfs, err := OpenBase(context.Background(), img)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tree(t, root), fsTree(t, bfs)); diff != "" {
			t.Errorf("index (+) against the unpacked tree (-):\n%s", diff)
		}
	})
}

// fuzzImage is the image FuzzUnpackStaysInside makes of b.
func fuzzImage(t *testing.T, b []byte, outside string) v1.Image {
	parts := []string{"..", ".", "a", "b", "c", outside[1:], "../../outside", outside, "/", ".wh.a", ".wh..wh..opq", "canary"}
	pick := func(i int) string {
		if i >= len(b) {
			return "a"
		}
		return parts[int(b[i])%len(parts)]
	}
	var layers [][]ent
	var cur []ent
	for i := 0; i+3 < len(b) && len(layers) < 4; i += 4 {
		join := func(a, b string) string {
			n := strings.TrimRight(a+"/"+b, "/")
			if n == "" {
				n = "a"
			}
			return n
		}
		name := join(pick(i+1), pick(i+2))
		switch b[i] % 6 {
		case 0:
			cur = append(cur, file(name, "x", 0o644))
		case 1:
			cur = append(cur, dir(name, 0o755))
		case 2:
			cur = append(cur, symlink(name, pick(i+3)+"/"+pick(i+2)))
		case 3:
			cur = append(cur, hardlink(name, pick(i+3)+"/canary"))
		case 4:
			cur = append(cur, whiteout(join(pick(i+1), pick(i+3))))
		case 5:
			layers, cur = append(layers, cur), nil
		}
	}
	return imageOf(t, append(layers, cur)...)
}
