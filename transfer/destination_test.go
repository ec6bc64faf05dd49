package transfer

import (
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"golang.org/x/sys/unix"
)

// node is a file system object a test leaves where an output is to go, and
// how to tell that it is still there, untouched.
type node struct {
	name  string
	make  func(t *testing.T, p string)
	check func(t *testing.T, p string)
	force bool // --force may replace it
}

func nodes(t *testing.T) []node {
	sameFile := func(content string) func(t *testing.T, p string) {
		return func(t *testing.T, p string) {
			if b, err := os.ReadFile(p); err != nil || string(b) != content {
				t.Errorf("%s now holds %d bytes (%v), want its %q", p, len(b), err, content)
			}
		}
	}
	kind := func(want fs.FileMode) func(t *testing.T, p string) {
		return func(t *testing.T, p string) {
			fi, err := os.Lstat(p)
			if err != nil || fi.Mode().Type() != want {
				t.Errorf("%s: %v, %v; want a %v still", p, fi.Mode(), err, want)
			}
		}
	}
	ns := []node{
		{"fifo", func(t *testing.T, p string) {
			if err := syscall.Mkfifo(p, 0o644); err != nil {
				t.Fatal(err)
			}
		}, kind(fs.ModeNamedPipe), false},
		{"socket", func(t *testing.T, p string) {
			l, err := net.Listen("unix", p)
			if err != nil {
				t.Fatal(err)
			}
			l.(*net.UnixListener).SetUnlinkOnClose(false)
			t.Cleanup(func() { l.Close() })
		}, kind(fs.ModeSocket), false},
		{"symlink", func(t *testing.T, p string) {
			target := p + ".target"
			if err := os.WriteFile(target, []byte("behind the link"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
		}, func(t *testing.T, p string) {
			kind(fs.ModeSymlink)(t, p)
			sameFile("behind the link")(t, p+".target")
		}, false},
		{"directory", func(t *testing.T, p string) {
			if err := os.Mkdir(p, 0o755); err != nil {
				t.Fatal(err)
			}
		}, kind(fs.ModeDir), false},
		{"notes.txt", func(t *testing.T, p string) {
			if err := os.WriteFile(p, []byte("my notes"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, sameFile("my notes"), true},
		{"a tar of other things", func(t *testing.T, p string) {
			other := t.TempDir()
			if err := os.WriteFile(filepath.Join(other, "notes.txt"), []byte("my notes"), 0o644); err != nil {
				t.Fatal(err)
			}
			writeTar(t, other, p, "") // a tar, but of no image
		}, nil, true},
	}
	if os.Geteuid() == 0 {
		// A character device like /dev/null, made here: never the real one.
		ns = append(ns, node{"character device", func(t *testing.T, p string) {
			if err := unix.Mknod(p, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
				t.Fatal(err)
			}
		}, func(t *testing.T, p string) {
			var st unix.Stat_t
			if err := unix.Lstat(p, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != unix.Mkdev(1, 3) {
				t.Errorf("%s: mode %o rdev %d (%v); want the character device 1:3 still", p, st.Mode, st.Rdev, err)
			}
		}, false})
	} else if inCI() {
		t.Fatal("CI runs as root: the character-device case needs it")
	}
	return ns
}

func inCI() bool { return os.Getenv("CI") == "true" }

// TestWriteRefusesToDestroy: an output path that holds a device, a fifo, a
// socket, a symbolic link, a directory or a file that is not an image
// archive is refused with ErrRefusedDestination and left as it was;
// WithForce replaces regular files only.
func TestWriteRefusesToDestroy(t *testing.T) {
	img := testImage(t, amd64, 1)
	for _, n := range nodes(t) {
		for _, prefix := range []string{"oci-archive:", "docker-archive:", ""} {
			t.Run(n.name+"/"+prefix, func(t *testing.T) {
				p := filepath.Join(t.TempDir(), "out.tar")
				n.make(t, p)
				_, err := Write(bg, img, []Ref{mustParse(t, prefix+p)})
				if !errors.Is(err, ErrRefusedDestination) {
					t.Fatalf("Write over a %s: %v, want ErrRefusedDestination", n.name, err)
				}
				if n.check != nil {
					n.check(t, p)
				}
				if entries, _ := os.ReadDir(filepath.Dir(p)); len(entries) > 2 {
					t.Errorf("left beside it: %v", entries)
				}
				_, err = Write(bg, img, []Ref{mustParse(t, prefix+p)}, WithForce())
				switch {
				case n.force && err != nil:
					t.Fatalf("Write with force over a %s: %v", n.name, err)
				case n.force:
					if _, err := tarball.ImageFromPath(p, nil); err != nil && prefix != "oci-archive:" {
						t.Errorf("forced write: %v", err)
					}
				case !errors.Is(err, ErrRefusedDestination):
					t.Fatalf("Write with force over a %s: %v, want ErrRefusedDestination", n.name, err)
				default:
					n.check(t, p)
				}
			})
		}
	}
}

// TestWriteReplacesOwnArchives: what scratchpack (or docker save, or skopeo)
// wrote before, and an empty file, are replaced without --force.
func TestWriteReplacesOwnArchives(t *testing.T) {
	old, img := testImage(t, amd64, 1), testImage(t, amd64, 2)
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.tar")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, dst := range []string{"oci-archive:" + filepath.Join(dir, "oci.tar"), "docker-archive:" + filepath.Join(dir, "docker.tar"),
		filepath.Join(dir, "both.tar"), "docker-archive:" + empty} {
		if dst != "docker-archive:"+empty {
			if _, err := Write(bg, old, []Ref{mustParse(t, dst)}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := Write(bg, img, []Ref{mustParse(t, dst)}); err != nil {
			t.Errorf("%s: %v", dst, err)
		}
	}
}

// TestWriteLayoutOverAFile: an oci: destination that is a file, or a
// device, is refused.
func TestWriteLayoutOverAFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(p, []byte("my notes"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(bg, testImage(t, amd64, 1), []Ref{mustParse(t, "oci:"+p)}); !errors.Is(err, ErrRefusedDestination) {
		t.Fatalf("Write: %v, want ErrRefusedDestination", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "my notes" {
		t.Errorf("%s now holds %q", p, b)
	}
}

// archiveTags is the ref.name of each descriptor of an OCI archive, with
// the image digest each names, and the RepoTags of a docker one, with the
// config digest (a docker archive has no manifest of its own).
func archiveTags(t *testing.T, file string) map[string]v1.Hash {
	t.Helper()
	out := map[string]v1.Hash{}
	a, err := openArchive(file)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if _, ok := a.files["index.json"]; ok {
		root, err := a.index()
		if err != nil {
			t.Fatal(err)
		}
		if err := validate.Index(root); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		im, err := root.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range im.Manifests {
			out[d.Annotations[annotationRefName]] = d.Digest
		}
	}
	if _, ok := a.files["manifest.json"]; ok && len(out) == 0 {
		m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(file) })
		if err != nil {
			t.Fatalf("%s: manifest.json: %v", file, err)
		}
		for _, d := range m {
			for _, tag := range d.RepoTags {
				n, err := name.NewTag(tag)
				if err != nil {
					t.Fatal(err)
				}
				img, err := tarball.ImageFromPath(file, &n)
				if err != nil {
					t.Fatalf("%s: %s: %v", file, tag, err)
				}
				if out[tag], err = img.ConfigName(); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	return out
}

// TestWriteSeveralTagsOneArchive: several tags into one archive in one
// Write are all there, naming the image.
func TestWriteSeveralTagsOneArchive(t *testing.T) {
	img := testImage(t, amd64, 1)
	h := digest(t, img)
	dir := t.TempDir()
	oci, dock := filepath.Join(dir, "m.tar"), filepath.Join(dir, "d.tar")
	if _, err := Write(bg, img, []Ref{mustParse(t, "oci-archive:"+oci+":a"), mustParse(t, "oci-archive:"+oci+":b"),
		mustParse(t, "docker-archive:"+dock+":x:1"), mustParse(t, "docker-archive:"+dock+":y:2")}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]v1.Hash{"a": h, "b": h}, archiveTags(t, oci)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", oci, diff)
	}
	cfg, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]v1.Hash{"x:1": cfg, "y:2": cfg}, archiveTags(t, dock)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", dock, diff)
	}
	// One file in two formats is a contradiction.
	_, err = Write(bg, img, []Ref{mustParse(t, "oci-archive:"+oci+":a"), mustParse(t, "docker-archive:"+oci+":x:1")})
	if !errors.Is(err, ErrBadRef) {
		t.Errorf("one file as oci-archive: and docker-archive: %v, want ErrBadRef", err)
	}
}

// TestWriteAllOneArchive: three images into one archive, each under its own
// tag, as build writes them: all three are there.
func TestWriteAllOneArchive(t *testing.T) {
	dir := t.TempDir()
	oci, dock := filepath.Join(dir, "shared.tar"), filepath.Join(dir, "shared-docker.tar")
	want, wantDocker := map[string]v1.Hash{}, map[string]v1.Hash{}
	var outs []Output
	for i, tag := range []string{"one", "two", "three"} {
		img := testImage(t, amd64, int64(10+i))
		cfg, err := img.ConfigName()
		if err != nil {
			t.Fatal(err)
		}
		want[tag], wantDocker["app:"+tag] = digest(t, img), cfg
		outs = append(outs, Output{Image: img, Dests: []Ref{mustParse(t, "oci-archive:"+oci+":"+tag), mustParse(t, "docker-archive:"+dock+":app:"+tag)}})
	}
	hs, err := WriteAll(bg, outs)
	if err != nil {
		t.Fatal(err)
	}
	for i, tag := range []string{"one", "two", "three"} {
		if hs[i] != want[tag] {
			t.Errorf("WriteAll's digest %d: %s, want %s", i, hs[i], want[tag])
		}
	}
	if diff := cmp.Diff(want, archiveTags(t, oci)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", oci, diff)
	}
	if diff := cmp.Diff(wantDocker, archiveTags(t, dock)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", dock, diff)
	}
	l, err := layout.ImageIndexFromPath(dir) // not a layout: nothing else was written
	if err == nil {
		t.Errorf("a layout appeared in %s: %v", dir, l)
	}
	if entries, _ := os.ReadDir(dir); !slices.EqualFunc(entries, []string{"shared-docker.tar", "shared.tar"}, func(e os.DirEntry, n string) bool { return e.Name() == n }) {
		t.Errorf("%s holds %v", dir, entries)
	}
}
