package testenv

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

func digest(t *testing.T, img v1.Image) v1.Hash {
	t.Helper()
	h, err := img.Digest()
	if err != nil {
		t.Fatalf("digest: %v", err)
	}
	return h
}

func TestBusyboxGlibcRootfs(t *testing.T) {
	t.Parallel()
	root := BusyboxGlibcRootfs(t)
	for _, tc := range []struct{ path, link string }{
		{"bin/sh", "busybox"},
		{"bin/ls", "busybox"},
		{"bin/echo", "busybox"},
		{"bin/cat", "busybox"},
		{"lib", "usr/lib"},
		{"lib64", "usr/lib64"},
	} {
		if got, err := os.Readlink(filepath.Join(root, tc.path)); err != nil || got != tc.link {
			t.Errorf("/%s -> %q, %v; want -> %q", tc.path, got, err, tc.link)
		}
	}
	for _, p := range []string{"bin/busybox", "lib64/ld-linux-x86-64.so.2", "lib/x86_64-linux-gnu/libc.so.6", "etc/passwd", "tmp"} {
		if _, err := os.Stat(filepath.Join(root, p)); err != nil {
			t.Errorf("missing /%s: %v", p, err)
		}
	}
	if fi, err := os.Lstat(filepath.Join(root, "usr/lib/x86_64-linux-gnu/libc.so.6")); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("/usr/lib/x86_64-linux-gnu/libc.so.6 is not a regular file: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(root, "tmp")); err == nil && fi.Mode()&os.ModeSticky == 0 {
		t.Errorf("/tmp mode %v, want sticky", fi.Mode())
	}
	if os.Geteuid() == 0 { // run it without any runtime: does the closure suffice?
		out, err := exec.Command("chroot", root, "/bin/sh", "-c", "echo ok; cat /etc/passwd").CombinedOutput()
		if err != nil || !strings.HasPrefix(string(out), "ok\nroot:x:0:0:") {
			t.Errorf("chroot %s /bin/sh: %v\n%s", root, err, out)
		}
	}
}

func TestBusyboxGlibcImage(t *testing.T) {
	t.Parallel()
	img := BusyboxGlibcImage(t)
	if err := validate.Image(img); err != nil {
		t.Fatalf("validate.Image: %v", err)
	}
	if a, b := digest(t, img), digest(t, BusyboxGlibcImage(t)); a != b {
		t.Errorf("two builds differ: %s != %s", a, b)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.OS != "linux" || cfg.Config.Entrypoint != nil || strings.Join(cfg.Config.Cmd, " ") != "sh" || strings.Join(cfg.Config.Env, " ") != "PATH=/bin:/usr/bin" {
		t.Errorf("config = %+v", cfg.Config)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers = %d, %v; want 1", len(layers), err)
	}
}

func TestRegistry(t *testing.T) {
	t.Parallel()
	img := BusyboxGlibcImage(t)
	want := digest(t, img)

	t.Run("anonymous", func(t *testing.T) {
		t.Parallel()
		reg := Registry(t)
		ref := reg.Addr + "/test/busybox:glibc"
		PushImage(t, img, ref)
		r, err := name.ParseReference(ref)
		if err != nil {
			t.Fatal(err)
		}
		got, err := remote.Image(r)
		if err != nil {
			t.Fatalf("pulling %s: %v", ref, err)
		}
		if d := digest(t, got); d != want {
			t.Errorf("pulled %s, pushed %s", d, want)
		}
		if err := validate.Image(got); err != nil {
			t.Errorf("validate.Image(pulled): %v", err)
		}
	})

	t.Run("htpasswd", func(t *testing.T) {
		reg := Registry(t, WithHtpasswd("alice", "s3cret"))
		ref := reg.Addr + "/test/busybox:glibc"
		r, err := name.ParseReference(ref)
		if err != nil {
			t.Fatal(err)
		}
		PushImage(t, img, ref, remote.WithAuth(reg.Auth()))

		for _, tc := range []struct {
			name string
			auth authn.Authenticator
			want int // 0: success
		}{
			{"right password", reg.Auth(), 0},
			{"wrong password", &authn.Basic{Username: "alice", Password: "wrong"}, http.StatusUnauthorized},
			{"anonymous", authn.Anonymous, http.StatusUnauthorized},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := remote.Image(r, remote.WithAuth(tc.auth))
				var terr *transport.Error
				switch {
				case tc.want == 0 && err != nil:
					t.Errorf("pull: %v", err)
				case tc.want != 0 && !errors.As(err, &terr):
					t.Errorf("pull: err = %v, want HTTP %d", err, tc.want)
				case tc.want != 0 && terr.StatusCode != tc.want:
					t.Errorf("pull: HTTP %d, want %d (%v)", terr.StatusCode, tc.want, err)
				}
			})
		}

	})
}

// TestRegistryDockerConfig is not parallel: it sets DOCKER_CONFIG for
// ggcr's default keychain, the way scratchpack finds credentials.
func TestRegistryDockerConfig(t *testing.T) {
	img := BusyboxGlibcImage(t)
	reg := Registry(t, WithHtpasswd("bob", "pa:ss word"))
	ref := reg.Addr + "/test/busybox:glibc"
	PushImage(t, img, ref, remote.WithAuth(reg.Auth()))
	dir := reg.DockerConfig(t)

	t.Setenv("DOCKER_CONFIG", dir)
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	got, err := remote.Image(r, remote.WithAuthFromKeychain(authn.DefaultKeychain))
	if err != nil {
		t.Fatalf("pull with the default keychain and DOCKER_CONFIG=%s: %v", dir, err)
	}
	if d, want := digest(t, got), digest(t, img); d != want {
		t.Errorf("pulled %s, pushed %s", d, want)
	}

	// A second, independent client reads the same file.
	skopeo := tool(t, "skopeo", "skopeo")
	out, err := exec.Command(skopeo, "inspect", "--raw", "--tls-verify=false",
		"--authfile", filepath.Join(dir, "config.json"), "docker://"+ref).CombinedOutput()
	if err != nil {
		t.Errorf("skopeo inspect with the config.json: %v\n%s", err, out)
	}
}

func TestIsLoopback(t *testing.T) {
	for _, tc := range []struct {
		host string
		want bool
	}{
		{"127.0.0.1:5000", true},
		{"127.1.2.3:80", true},
		{"localhost:5000", true},
		{"[::1]:5000", true},
		{"index.docker.io", false},
		{"example.com:5000", false},
		{"10.0.0.1:5000", false},
	} {
		if got := isLoopback(tc.host); got != tc.want {
			t.Errorf("isLoopback(%q) = %t, want %t", tc.host, got, tc.want)
		}
	}
}

func TestWriteOCIArchive(t *testing.T) {
	t.Parallel()
	skopeo := tool(t, "skopeo", "skopeo")
	path := filepath.Join(t.TempDir(), "busybox.tar")
	WriteOCIArchive(t, BusyboxGlibcImage(t), path, "glibc")
	out, err := exec.Command(skopeo, "inspect", "--raw", "oci-archive:"+path+":glibc").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "application/vnd.oci.image.manifest.v1+json") {
		t.Errorf("skopeo inspect oci-archive:%s:glibc: %v\n%s", path, err, out)
	}
}

func TestRunOCI(t *testing.T) {
	t.Parallel()
	img := withFile(t, BusyboxGlibcImage(t), "bin/arm64", aarch64ELFHeader(), 0o755)
	dir := filepath.Join(t.TempDir(), "layout")
	WriteOCILayout(t, img, dir, "glibc")
	if _, err := layout.ImageIndexFromPath(dir); err != nil {
		t.Fatalf("reading back %s: %v", dir, err)
	}

	for _, tc := range []struct {
		name           string
		args           []string
		stdout, stderr string // substrings
		exit           int
	}{
		{"echo", []string{"sh", "-c", "echo ok"}, "ok\n", "", 0},
		{"image Cmd", nil, "", "", 0}, // sh with stdin /dev/null
		{"exit code and stderr", []string{"sh", "-c", "echo oops >&2; exit 3"}, "", "oops", 3},
		{"no network", []string{"cat", "/proc/net/dev"}, "lo:", "", 0},
		{"missing program", []string{"/no/such/program"}, "", "no such file or directory", 1},
		{"foreign architecture", []string{"/bin/arm64"}, "", "exec format error", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.name == "foreign architecture" {
				if err := WithoutQemuBinfmt(t, "aarch64"); err != nil {
					t.Skipf("SKIP: binfmt_misc runs aarch64 programs with qemu here: %v", err)
				}
			}
			stdout, stderr, code := RunOCI(t, dir, "glibc", tc.args...)
			t.Logf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
			if code != tc.exit || !strings.Contains(stdout, tc.stdout) || !strings.Contains(stderr, tc.stderr) {
				t.Errorf("RunOCI(%q) = stdout %q, stderr %q, exit %d; want stdout ~%q, stderr ~%q, exit %d",
					tc.args, stdout, stderr, code, tc.stdout, tc.stderr, tc.exit)
			}
			if tc.name == "no network" && strings.Contains(stdout, "eth") {
				t.Errorf("container sees host interfaces:\n%s", stdout)
			}
		})
	}
}

// aarch64ELFHeader is the 64-byte header of an aarch64 executable: enough
// for an x86-64 kernel to refuse it with ENOEXEC.
func aarch64ELFHeader() []byte {
	h := make([]byte, 64)
	copy(h, "\x7fELF\x02\x01\x01") // ELFCLASS64, little endian, EV_CURRENT
	binary.LittleEndian.PutUint16(h[16:], uint16(elf.ET_EXEC))
	binary.LittleEndian.PutUint16(h[18:], uint16(elf.EM_AARCH64))
	binary.LittleEndian.PutUint32(h[20:], 1)  // e_version
	binary.LittleEndian.PutUint16(h[52:], 64) // e_ehsize
	return h
}

// withFile returns img with one more layer holding a regular file.
func withFile(t *testing.T, img v1.Image, name string, content []byte, mode int64) v1.Image {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(content); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(buf.Bytes())), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		t.Fatal(err)
	}
	img, err = mutate.AppendLayers(img, layer)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestDockerd(t *testing.T) {
	t.Parallel()
	d := Dockerd(t)
	const ref = "scratchpack-testenv/busybox:glibc"
	archive := filepath.Join(t.TempDir(), "busybox.tar")
	WriteDockerArchive(t, BusyboxGlibcImage(t), archive, ref)

	out, err := d.Docker(t, "load", "--input", archive)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, ref) {
		t.Errorf("docker load printed %q, want it to name %s", out, ref)
	}
	out, err = d.Docker(t, "run", "--rm", "--network", "none", ref, "echo", "ok")
	if err != nil || out != "ok\n" {
		t.Errorf("docker run: %q, %v; want \"ok\\n\"", out, err)
	}
	out, err = d.Docker(t, "run", "--rm", "--network", "none", ref, "sh", "-c", "cat /etc/passwd")
	if err != nil || !strings.HasPrefix(out, "root:x:0:0:") {
		t.Errorf("docker run cat /etc/passwd: %q, %v", out, err)
	}
	if _, err := d.Docker(t, "run", "--rm", "--network", "none", ref, "sh", "-c", "exit 7"); err == nil || !strings.Contains(err.Error(), "exit status 7") {
		t.Errorf("docker run exit 7: err = %v", err)
	}
}
