package packer

import (
	"archive/tar"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/scratchpack/scratchpack/elfdeps"
	"github.com/scratchpack/scratchpack/internal/testenv"
	"github.com/scratchpack/scratchpack/transfer"
)

// imageFiles returns the regular files and links of img by path: content,
// or "-> TARGET".
func imageFiles(t *testing.T, img v1.Image) map[string]string {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	out := map[string]string{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		p := "/" + strings.TrimPrefix(h.Name, "/")
		switch h.Typeflag {
		case tar.TypeReg:
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			out[p] = string(b)
		case tar.TypeSymlink:
			out[p] = "-> " + h.Linkname
		}
	}
}

// imageRoot is a small image's root: busybox:glibc-shaped, with the
// fixtures nss and gotls in /app, and its own NSS configuration and hosts.
func imageRoot(t *testing.T) string {
	t.Helper()
	root := testenv.BusyboxGlibcRootfs(t)
	for _, f := range []string{"nss", "gotls"} {
		b, err := os.ReadFile(testenv.Fixture(t, f))
		if err != nil {
			t.Fatal(err)
		}
		writeRootFile(t, root, "/app/"+f, string(b), 0o755)
	}
	writeRootFile(t, root, "/etc/nsswitch.conf", imageNsswitch, 0o644)
	writeRootFile(t, root, "/etc/hosts", imageHosts, 0o644)
	return root
}

const (
	imageNsswitch = "# the image's own\npasswd: files\ngroup: files\nhosts: files dns\n"
	imageHosts    = "127.0.0.1\tlocalhost image\n"
	imagePasswd   = "root:x:0:0:root:/root:/bin/sh\napp:x:100:101::/home/app:/bin/false\n"
)

func writeRootFile(t *testing.T, root, p, content string, mode fs.FileMode) {
	t.Helper()
	host := filepath.Join(root, filepath.FromSlash(p))
	if err := os.MkdirAll(filepath.Dir(host), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(host, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

// TestImageRoot: with Runtime.ImageRoot, an image's own files satisfy the
// run-time needs and nothing comes from this machine or is written in their
// place: its NSS configuration and hosts are copied, its CA bundle is used
// or, when it has none, none is added; no user database is written, the one
// added (Add) goes in; Dirs keep their owner and mode.
func TestImageRoot(t *testing.T) {
	root := imageRoot(t)
	passwdFile := filepath.Join(t.TempDir(), "passwd")
	if err := os.WriteFile(passwdFile, []byte(imagePasswd), 0o644); err != nil {
		t.Fatal(err)
	}
	build := func(t *testing.T, prog string, edit func(*Spec)) *Result {
		t.Helper()
		spec := Spec{Program: filepath.Join(root, "app", prog), Dest: "/app/" + prog, Root: root, WorkDir: t.TempDir(),
			Runtime: RuntimeSpec{ImageRoot: true}}
		if edit != nil {
			edit(&spec)
		}
		res, err := Build(bg, spec)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}

	t.Run("nss", func(t *testing.T) {
		res := build(t, "nss", func(s *Spec) {
			s.Add = []Addition{{Src: passwdFile, Dest: "/etc/passwd"}}
			s.Dirs = []Directory{{Path: "/home/app", Mode: 0o750, UID: 100, GID: 101, Why: "the home of app"}}
		})
		files := imageFiles(t, res.Image)
		for p, want := range map[string]string{"/etc/nsswitch.conf": imageNsswitch, "/etc/hosts": imageHosts, "/etc/passwd": imagePasswd} {
			if files[p] != want {
				t.Errorf("%s is %q, want the image's own %q", p, files[p], want)
			}
		}
		if g, ok := files["/etc/group"]; ok {
			t.Errorf("the image got an /etc/group scratchpack wrote: %q", g)
		}
		list, err := transfer.ListImage(bg, res.Image)
		if err != nil {
			t.Fatal(err)
		}
		type dir struct {
			Mode     fs.FileMode
			UID, GID int
		}
		got := map[string]dir{}
		for _, f := range list {
			if strings.HasPrefix(f.Path, "/home") || f.Path == "/root" {
				got[f.Path] = dir{f.Mode, f.UID, f.GID}
			}
		}
		want := map[string]dir{"/home": {0o755, 0, 0}, "/home/app": {0o750, 100, 101}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("home directories (-want +got):\n%s", diff)
		}
	})

	t.Run("no CA bundle in the image", func(t *testing.T) {
		res := build(t, "gotls", nil)
		if _, ok := imageFiles(t, res.Image)[elfdeps.CABundlePath]; ok {
			t.Errorf("the image got a CA bundle; the image had none, and this machine's must not go in")
		}
		found := false
		for _, n := range res.Needs {
			if n.Kind == elfdeps.NeedCACerts {
				found = true
				if n.Added || !strings.Contains(n.Reason, "the image has no") {
					t.Errorf("CA need %+v: want not added, because the image has none", n)
				}
			}
		}
		if !found {
			t.Errorf("no CA need among %+v", res.Needs)
		}
	})

	t.Run("the image's CA bundle", func(t *testing.T) {
		const pem = "the image's own bundle\n"
		r := imageRoot(t)
		writeRootFile(t, r, elfdeps.CABundlePath, pem, 0o644)
		spec := Spec{Program: filepath.Join(r, "app", "gotls"), Dest: "/app/gotls", Root: r, WorkDir: t.TempDir(), Runtime: RuntimeSpec{ImageRoot: true}}
		res, err := Build(bg, spec)
		if err != nil {
			t.Fatal(err)
		}
		if got := imageFiles(t, res.Image)[elfdeps.CABundlePath]; got != pem {
			t.Errorf("CA bundle %q, want the image's %q", got, pem)
		}
	})

	t.Run("programs", func(t *testing.T) {
		res := build(t, "nss", func(s *Spec) { s.Runtime.Programs = []string{"/bin/sh"} })
		files := imageFiles(t, res.Image)
		if files["/bin/sh"] != "-> busybox" || files["/bin/busybox"] == "" {
			t.Errorf("/bin/sh is %q and /bin/busybox %d bytes: want the link and the program", files["/bin/sh"], len(files["/bin/busybox"]))
		}
		e := res.Files.Get("/bin/busybox")
		if e == nil || e.Why != "asked for: program /bin/sh" || e.Mode != 0o755 {
			t.Errorf("/bin/busybox entry %+v: want mode 0755, asked for as /bin/sh", e)
		}
	})
}

// TestAddedUserDatabase: a file added at /etc/passwd replaces the one
// scratchpack would write (it was a conflict), and brings no home
// directories of scratchpack's users.
func TestAddedUserDatabase(t *testing.T) {
	passwdFile := filepath.Join(t.TempDir(), "passwd")
	if err := os.WriteFile(passwdFile, []byte(imagePasswd), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := Build(bg, Spec{Program: testenv.Fixture(t, "nss"), WorkDir: t.TempDir(), Add: []Addition{{Src: passwdFile, Dest: "/etc/passwd"}}})
	if err != nil {
		t.Fatal(err)
	}
	files := imageFiles(t, res.Image)
	if files["/etc/passwd"] != imagePasswd || files["/etc/group"] != group {
		t.Errorf("/etc/passwd %q and /etc/group %q: want the added passwd and the written group", files["/etc/passwd"], files["/etc/group"])
	}
	if res.Files.Has("/home/nonroot") {
		t.Errorf("/home/nonroot is in the image, though its /etc/passwd is not scratchpack's")
	}
}

// TestWithImageConfig: the function finishes the configuration file; one
// that changes the layers is refused.
func TestWithImageConfig(t *testing.T) {
	spec := Spec{Program: testenv.Fixture(t, "hello-c"), WorkDir: t.TempDir()}
	res, err := Build(bg, spec, WithImageConfig(func(cf *v1.ConfigFile) error {
		cf.Config.StopSignal = "SIGQUIT"
		cf.Config.User = "app"
		cf.History[len(cf.History)-1].CreatedBy = "slimmed"
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	cf, err := res.Image.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Config.StopSignal != "SIGQUIT" || cf.Config.User != "app" || cf.History[len(cf.History)-1].CreatedBy != "slimmed" {
		t.Errorf("config %+v, history %+v: the function's changes are missing", cf.Config, cf.History)
	}
	_, err = Build(bg, spec, WithImageConfig(func(cf *v1.ConfigFile) error {
		cf.RootFS.DiffIDs = nil
		return nil
	}))
	if err == nil || !strings.Contains(err.Error(), "diff IDs") {
		t.Errorf("a function dropping the diff IDs: %v, want an error", err)
	}
}
