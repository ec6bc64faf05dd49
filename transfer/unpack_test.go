package transfer

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/scratchpack/scratchpack/internal/testenv"
)

// ent is one tar entry of a test layer.
type ent struct {
	name, link, data string
	typ              byte
	mode             int64
	uid, gid         int
}

func file(name, data string, mode int64) ent {
	return ent{name: name, data: data, typ: tar.TypeReg, mode: mode}
}
func dir(name string, mode int64) ent { return ent{name: name, typ: tar.TypeDir, mode: mode} }
func symlink(name, target string) ent {
	return ent{name: name, link: target, typ: tar.TypeSymlink, mode: 0o777}
}
func hardlink(name, target string) ent {
	return ent{name: name, link: target, typ: tar.TypeLink, mode: 0o644}
}
func whiteout(name string) ent { return ent{name: name, typ: tar.TypeReg, mode: 0o644} }

// layerOf is an uncompressed-then-gzipped layer holding the entries, in order.
func layerOf(t *testing.T, ents ...ent) v1.Layer {
	t.Helper()
	var tes []testenv.TarEntry
	for _, e := range ents {
		h := tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: e.mode, Uid: e.uid, Gid: e.gid, Format: tar.FormatPAX}
		if e.typ == tar.TypeChar {
			h.Devmajor, h.Devminor = 1, 3
		}
		tes = append(tes, testenv.TarEntry{Header: h, Data: e.data})
	}
	return testenv.Layer(t, tes...)
}

func imageOf(t *testing.T, layers ...[]ent) v1.Image {
	t.Helper()
	img := empty.Image
	for _, ents := range layers {
		var err error
		if img, err = mutate.AppendLayers(img, layerOf(t, ents...)); err != nil {
			t.Fatal(err)
		}
	}
	return img
}

// tree describes every file under dir: "file 0644 DATA", "dir 0755", "link TARGET".
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			out[rel] = "link " + target
		case fi.IsDir():
			perm := fi.Mode().Perm()
			if fi.Mode()&fs.ModeSticky != 0 {
				perm |= 0o1000
			}
			out[rel] = fmt.Sprintf("dir %04o", perm)
		default:
			b, _ := os.ReadFile(p)
			out[rel] = fmt.Sprintf("file %04o %s", fi.Mode().Perm(), b)
			if fi.Mode()&fs.ModeSetuid != 0 {
				out[rel] += " setuid"
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestUnpack(t *testing.T) {
	for _, tc := range []struct {
		name    string
		layers  [][]ent
		want    map[string]string
		skipped []string
	}{
		{
			name: "files, links and modes",
			layers: [][]ent{{
				dir("usr/", 0o755), dir("usr/lib/", 0o755), file("usr/lib/libc.so.6", "libc", 0o755),
				symlink("lib", "usr/lib"), symlink("usr/lib/libc.so", "/usr/lib/libc.so.6"),
				hardlink("usr/lib/libc-hard", "usr/lib/libc.so.6"), file("etc/passwd", "root", 0o600),
				file("./app/run", "x", 0o4755), dir("tmp", 0o1777),
			}},
			want: map[string]string{
				"usr": "dir 0755", "usr/lib": "dir 0755", "usr/lib/libc.so.6": "file 0755 libc",
				"lib": "link usr/lib", "usr/lib/libc.so": "link /usr/lib/libc.so.6", "usr/lib/libc-hard": "file 0755 libc",
				"etc": "dir 0755", "etc/passwd": "file 0600 root", "app": "dir 0755", "app/run": "file 0755 x",
				"tmp": "dir 1777",
			},
		},
		{
			name: "upper layers replace, whiteouts remove",
			layers: [][]ent{
				{file("a/f", "1", 0o644), file("a/g", "1", 0o644), dir("d/", 0o755), file("d/x", "1", 0o644),
					file("was-file", "1", 0o644), dir("was-dir", 0o755), file("was-dir/x", "1", 0o644), file("keep", "1", 0o644)},
				{file("a/f", "2", 0o600), whiteout("a/.wh.g"), whiteout(".wh.d"), dir("was-file", 0o700),
					file("was-dir", "2", 0o644), whiteout(".wh.nothing-there")},
			},
			want: map[string]string{
				"a": "dir 0755", "a/f": "file 0600 2", "was-file": "dir 0700", "was-dir": "file 0644 2", "keep": "file 0644 1",
			},
		},
		{
			name: "opaque directory hides lower layers only",
			layers: [][]ent{
				{file("o/old", "1", 0o644), file("o/sub/old", "1", 0o644), file("other/x", "1", 0o644)},
				{file("o/before", "2", 0o644), file("o/sub/new", "2", 0o644), whiteout("o/.wh..wh..opq"), file("o/after", "2", 0o644)},
			},
			want: map[string]string{
				"o": "dir 0755", "o/before": "file 0644 2", "o/after": "file 0644 2", "o/sub": "dir 0755",
				"o/sub/new": "file 0644 2", "other": "dir 0755", "other/x": "file 0644 1",
			},
		},
		{
			name: "entries through symbolic links stay in the root",
			layers: [][]ent{
				{dir("usr/lib", 0o755), symlink("lib", "/usr/lib"), symlink("up", "../../.."), symlink("loop", "loop")},
				{file("lib/libz.so.1", "z", 0o644), file("up/etc/hosts", "h", 0o644), file("loop/x", "x", 0o644)},
			},
			want: map[string]string{
				"usr": "dir 0755", "usr/lib": "dir 0755", "usr/lib/libz.so.1": "file 0644 z", "lib": "link /usr/lib",
				"up": "link ../../..", "etc": "dir 0755", "etc/hosts": "file 0644 h", "loop": "link loop",
			},
			skipped: []string{"loop/x"},
		},
		{
			// ".wh.." names "." and ".wh..." names "..": no file, so nothing to
			// remove; the directory they are in, and the root, stay.
			name: "whiteouts of . and .. are skipped",
			layers: [][]ent{
				{file("d/x", "1", 0o644), file("y", "1", 0o644)},
				{whiteout("d/.wh.."), whiteout("d/.wh..."), whiteout(".wh.."), whiteout(".wh..."), file("d/z", "2", 0o644)},
			},
			want: map[string]string{
				"d": "dir 0755", "d/x": "file 0644 1", "d/z": "file 0644 2", "y": "file 0644 1",
			},
			skipped: []string{"d/.wh..", "d/.wh...", ".wh..", ".wh..."},
		},
		{
			name:    "devices are skipped",
			layers:  [][]ent{{{name: "dev/null", typ: tar.TypeChar, mode: 0o666}, dir("dev", 0o755)}},
			want:    map[string]string{"dev": "dir 0755"},
			skipped: []string{"dev/null"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			var skipped []string
			err := Unpack(imageOf(t, tc.layers...), root, WithSkipped(func(name, why string) { skipped = append(skipped, name) }))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, tree(t, root)); diff != "" {
				t.Errorf("unpacked tree (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.skipped, skipped); diff != "" {
				t.Errorf("skipped entries (-want +got):\n%s", diff)
			}
		})
	}
}

// TestUnpackHostile unpacks layers written to escape the root, every way
// the unpacker knows of, and checks that nothing outside it changed: a
// canary file and the directory around the root stay as they were.
func TestUnpackHostile(t *testing.T) {
	top := t.TempDir()
	outside := filepath.Join(top, "outside")
	root := filepath.Join(top, "a", "b", "root")
	for _, d := range []string{outside, root} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	canary := filepath.Join(outside, "canary")
	if err := os.WriteFile(canary, []byte("untouched"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := tree(t, top)
	delete(before, "a/b/root")

	relOut := "../../../outside" // from root/x to top/outside
	img := imageOf(t,
		[]ent{
			file("../../../outside/canary", "dotdot", 0o644),
			file("/../../../outside/canary-abs", "abs-dotdot", 0o644),
			file("x/../../../../outside/new", "climb", 0o644),
			symlink("abs", outside),
			symlink("rel", relOut),
			symlink("x", "."),
			symlink("chain", "abs"),
			hardlink("hl-rel", "../../../outside/canary"),
			hardlink("hl-abs", canary),
			hardlink("hl-through", "abs/canary"),
		},
		[]ent{
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
		[]ent{
			file("abs", "replacing the link itself is fine", 0o644),
		},
	)
	var skipped []string
	err := Unpack(img, root, WithSkipped(func(name, why string) { skipped = append(skipped, name+": "+why) }))
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(canary); err != nil || string(b) != "untouched" {
		t.Errorf("canary: %q, %v", b, err)
	}
	after := tree(t, top)
	for p := range after {
		if strings.HasPrefix(p, filepath.Join("a", "b", "root")) {
			delete(after, p)
		}
	}
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("outside the root (-before +after):\n%s", diff)
	}
	got := tree(t, root)
	// What landed inside: links resolved as in a chroot.
	for p, want := range map[string]string{
		filepath.Join(outside[1:], "canary"):  "file 0644 through an absolute link",
		filepath.Join(outside[1:], "canary2"): "file 0644 through a chain",
		"abs":                                 "file 0644 replacing the link itself is fine",
		"hl-later":                            "file 0644 through a relative link",
	} {
		if got[p] != want {
			t.Errorf("%s in the root: %q, want %q", p, got[p], want)
		}
	}
	t.Logf("skipped: %q", skipped)
	for _, want := range []string{"../../../outside/canary:", "x/../../../../outside/new:", "hl-rel:", "hl-abs:", "hl-through:"} {
		if !containsPrefix(skipped, want) {
			t.Errorf("%s was not reported as skipped: %q", want, skipped)
		}
	}
}

func containsPrefix(list []string, prefix string) bool {
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

func TestUnpackOwnership(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skipf("SKIP (requires root): WithOwnership chowns files (euid %d)", os.Geteuid())
	}
	img := imageOf(t, []ent{
		{name: "home/app/", typ: tar.TypeDir, mode: 0o700, uid: 1000, gid: 1001},
		{name: "bin/su", typ: tar.TypeReg, mode: 0o4755, data: "su"},
		{name: "bin/l", typ: tar.TypeSymlink, link: "su", mode: 0o777, uid: 7, gid: 8},
	})
	for _, tc := range []struct {
		name   string
		opts   []UnpackOption
		uid    map[string]int
		setuid bool
	}{
		{"with", []UnpackOption{WithOwnership()}, map[string]int{"home/app": 1000, "bin/l": 7}, true},
		{"without", nil, map[string]int{"home/app": 0, "bin/l": 0}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			if err := Unpack(img, root, tc.opts...); err != nil {
				t.Fatal(err)
			}
			for p, uid := range tc.uid {
				fi, err := os.Lstat(filepath.Join(root, p))
				if err != nil {
					t.Fatal(err)
				}
				if got := int(fi.Sys().(*syscall.Stat_t).Uid); got != uid {
					t.Errorf("%s: uid %d, want %d", p, got, uid)
				}
			}
			fi, err := os.Stat(filepath.Join(root, "bin/su"))
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode()&fs.ModeSetuid != 0; got != tc.setuid {
				t.Errorf("bin/su setuid = %t, want %t (mode %v)", got, tc.setuid, fi.Mode())
			}
		})
	}
}

func TestUnpackCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := UnpackContext(ctx, imageOf(t, []ent{file("a", "a", 0o644)}), t.TempDir())
	if !errors.Is(err, context.Canceled) {
		t.Errorf("UnpackContext with a canceled context: %v", err)
	}
}

// FuzzUnpackStaysInside builds layers from the fuzzer's bytes out of names
// and link targets made to escape (.., absolute paths to a directory beside
// the root, links to links) and checks that unpacking them never changes
// anything outside the root.
func FuzzUnpackStaysInside(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add([]byte{2, 5, 9, 0, 12, 3, 1, 2, 4, 6, 0, 7, 3, 3, 8})
	f.Fuzz(func(t *testing.T, b []byte) {
		top := t.TempDir()
		outside, root := filepath.Join(top, "outside"), filepath.Join(top, "root")
		for _, d := range []string{outside, root} {
			if err := os.Mkdir(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(outside, "canary"), []byte("untouched"), 0o644); err != nil {
			t.Fatal(err)
		}
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
					n = "a" // tar cannot hold a file named "/"
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
		layers = append(layers, cur)
		if err := Unpack(imageOf(t, layers...), root); err != nil {
			t.Logf("unpack: %v", err) // an error is fine; an escape is not
		}
		entries, err := os.ReadDir(outside)
		if err != nil || len(entries) != 1 {
			t.Fatalf("outside the root: %v %v", entries, err)
		}
		if got, err := os.ReadFile(filepath.Join(outside, "canary")); err != nil || string(got) != "untouched" {
			t.Fatalf("canary: %q %v", got, err)
		}
		top2, _ := os.ReadDir(top)
		if len(top2) != 2 {
			t.Fatalf("beside the root: %v", top2)
		}
	})
}
