package transfer

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

var bg = context.Background()

// locals are the local destinations, under dir, that Write is tested with.
func locals(t *testing.T, dir string) []Ref {
	t.Helper()
	named := mustParse(t, filepath.Join(dir, "named.tar"))
	named.Name, _ = name.NewTag("example.com/app:v1")
	return []Ref{
		mustParse(t, "oci:"+filepath.Join(dir, "oci")),
		mustParse(t, "oci:"+filepath.Join(dir, "oci-tag")+":v1"),
		mustParse(t, "oci-archive:"+filepath.Join(dir, "oci.tar")),
		mustParse(t, "oci-archive:"+filepath.Join(dir, "oci-tag.tar")+":v1"),
		mustParse(t, "docker-archive:"+filepath.Join(dir, "docker.tar")),
		mustParse(t, "docker-archive:"+filepath.Join(dir, "docker-tag.tar")+":example.com/app:v1"),
		mustParse(t, filepath.Join(dir, "plain.tar")),
		named,
	}
}

func TestWriteRoundTrip(t *testing.T) {
	dir := t.TempDir()
	host := newRegistry(t)
	img := testImage(t, amd64, 1)
	dsts := append(locals(t, dir), mustParse(t, host+"/app:v1"), mustParse(t, "docker://"+host+"/other:v2"))
	h, err := Write(bg, img, dsts)
	if err != nil {
		t.Fatal(err)
	}
	if want := digest(t, img); h != want {
		t.Errorf("Write returned %s, want %s", h, want)
	}
	for _, d := range dsts {
		t.Run(d.String(), func(t *testing.T) {
			got, err := load(t, d, amd64)
			if err != nil {
				t.Fatal(err)
			}
			if d.Transport == DockerArchive {
				sameContent(t, got, img) // the format keeps no manifest
				return
			}
			if g := digest(t, got); g != h {
				t.Errorf("read back %s, want %s", g, h)
			}
		})
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary %s left behind", e.Name())
		}
	}
}

func TestWriteIndex(t *testing.T) {
	dir := t.TempDir()
	host := newRegistry(t)
	idx, imgs := testIndex(t)
	dsts := []Ref{
		mustParse(t, "oci:"+filepath.Join(dir, "oci")+":multi"),
		mustParse(t, "oci-archive:"+filepath.Join(dir, "oci.tar")),
		mustParse(t, host+"/multi:v1"),
	}
	h, err := WriteIndex(bg, idx, dsts)
	if err != nil {
		t.Fatal(err)
	}
	if h != digest(t, idx) {
		t.Errorf("WriteIndex returned %s, want %s", h, digest(t, idx))
	}
	for _, d := range dsts {
		for _, p := range []v1.Platform{amd64, arm64} {
			got, err := load(t, d, p)
			if err != nil {
				t.Fatalf("%s for %s: %v", d, p, err)
			}
			if g, w := digest(t, got), digest(t, imgs[p.Architecture]); g != w {
				t.Errorf("%s for %s: %s, want %s", d, p, g, w)
			}
		}
	}
	lp, err := layout.FromPath(filepath.Join(dir, "oci"))
	if err != nil {
		t.Fatal(err)
	}
	root, err := lp.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Index(root); err != nil {
		t.Error(err)
	}

	for _, d := range []Ref{mustParse(t, "docker-archive:"+filepath.Join(dir, "d.tar")), mustParse(t, filepath.Join(dir, "f.tar"))} {
		if _, err := WriteIndex(bg, idx, []Ref{d}); !errors.Is(err, ErrBadRef) {
			t.Errorf("WriteIndex to %s: error = %v, want ErrBadRef", d, err)
		}
		if _, err := os.Stat(d.Path); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("WriteIndex to %s left a file: %v", d, err)
		}
	}
}

// tags returns the ref.name annotations of the layout's index.json, sorted,
// and validates what each names.
func tags(t *testing.T, dir string) map[string]v1.Hash {
	t.Helper()
	lp, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	root, err := lp.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Index(root); err != nil {
		t.Fatal(err)
	}
	im, err := root.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]v1.Hash{}
	for _, d := range im.Manifests {
		got[d.Annotations[annotationRefName]] = d.Digest
	}
	if len(got) != len(im.Manifests) {
		t.Errorf("index.json has %d descriptors for %d names", len(im.Manifests), len(got))
	}
	return got
}

func TestWriteLayoutTags(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "layout")
	img1, img2 := testImage(t, amd64, 1), testImage(t, amd64, 2)
	for _, w := range []struct {
		img v1.Image
		ref string
	}{
		{img1, "oci:" + dir + ":a"},
		{img1, "oci:" + dir + ":b"},
		{img2, "oci:" + dir + ":a"}, // replaces a
		{img2, "oci:" + dir},        // untagged
		{img2, "oci:" + dir},        // the same again: not a second descriptor
	} {
		if _, err := Write(bg, w.img, []Ref{mustParse(t, w.ref)}); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]v1.Hash{"a": digest(t, img2), "b": digest(t, img1), "": digest(t, img2)}
	if diff := cmp.Diff(want, tags(t, dir)); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}

	empty := t.TempDir() // an existing, empty directory is filled
	if _, err := Write(bg, img1, []Ref{{Transport: OCI, Path: empty, Tag: "x"}}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]v1.Hash{"x": digest(t, img1)}, tags(t, empty)); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}

	notLayout := t.TempDir()
	if err := os.WriteFile(filepath.Join(notLayout, "precious"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(bg, img1, []Ref{{Transport: OCI, Path: notLayout}}); err == nil || !strings.Contains(err.Error(), "not an OCI image layout") {
		t.Errorf("Write into a non-layout directory: error = %v", err)
	}
}

// TestHelperWriteLayout is run by TestWriteLayoutConcurrent in child processes.
func TestHelperWriteLayout(t *testing.T) {
	dir := os.Getenv("PACKER_TEST_LAYOUT")
	if dir == "" {
		t.Skip("helper: runs only as a child process of TestWriteLayoutConcurrent")
	}
	var seed int64
	fmt.Sscan(os.Getenv("PACKER_TEST_SEED"), &seed)
	tag := fmt.Sprintf("t%d", seed)
	if _, err := Write(bg, testImage(t, amd64, seed), []Ref{{Transport: OCI, Path: dir, Tag: tag}}); err != nil {
		t.Fatal(err)
	}
}

func TestWriteLayoutConcurrent(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "layout") // absent: the writers race to create it
	const goroutines, processes = 8, 3
	want := map[string]v1.Hash{}
	var wg sync.WaitGroup
	errs := make(chan error, goroutines+processes)
	for i := int64(1); i <= goroutines+processes; i++ {
		img := testImage(t, amd64, i)
		want[fmt.Sprintf("t%d", i)] = digest(t, img)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i <= goroutines {
				_, err := Write(bg, img, []Ref{{Transport: OCI, Path: dir, Tag: fmt.Sprintf("t%d", i)}})
				errs <- err
				return
			}
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperWriteLayout$", "-test.count=1")
			cmd.Env = append(os.Environ(), "PACKER_TEST_LAYOUT="+dir, fmt.Sprintf("PACKER_TEST_SEED=%d", i))
			if out, err := cmd.CombinedOutput(); err != nil {
				errs <- fmt.Errorf("child process: %v\n%s", err, out)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if diff := cmp.Diff(want, tags(t, dir)); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
	for tag := range want {
		if _, err := load(t, Ref{Transport: OCI, Path: dir, Tag: tag}, amd64); err != nil {
			t.Error(err)
		}
	}
}

// hookLayer is a layer whose Compressed stream calls hook on its first read
// and then fails with the error hook returns, if any.
type hookLayer struct {
	v1.Layer
	hook func() error
}

func (l hookLayer) Compressed() (io.ReadCloser, error) {
	rc, err := l.Layer.Compressed()
	return &hookReader{ReadCloser: rc, hook: l.hook}, err
}

type hookReader struct {
	io.ReadCloser
	hook func() error
	done bool
}

func (r *hookReader) Read(p []byte) (int, error) {
	if !r.done {
		r.done = true
		if err := r.hook(); err != nil {
			return 0, err
		}
	}
	return r.ReadCloser.Read(p)
}

// snapshot is every file under dir, by name, with its content.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, de fs.DirEntry, err error) error {
		if err != nil || de.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		files[p] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestWriteAtomic(t *testing.T) {
	good := testImage(t, amd64, 1)
	errBoom := errors.New("boom")
	broken := func(hook func() error) v1.Image {
		img := testImage(t, amd64, 2)
		ls, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		img, err = mutate.AppendLayers(img, hookLayer{Layer: ls[1], hook: hook})
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	for _, existing := range []bool{false, true} {
		for _, how := range []string{"failing layer", "canceled", "failing push"} {
			t.Run(fmt.Sprintf("%s existing=%v", how, existing), func(t *testing.T) {
				dir := t.TempDir()
				dsts := locals(t, dir)
				if existing {
					if _, err := Write(bg, good, dsts); err != nil {
						t.Fatal(err)
					}
				}
				before := snapshot(t, dir)
				ctx, cancel := context.WithCancel(bg)
				defer cancel()
				img, wantErr := good, error(ErrUnauthorized)
				switch how {
				case "failing layer":
					img, wantErr = broken(func() error { return errBoom }), errBoom
				case "canceled":
					img, wantErr = broken(func() error { cancel(); return nil }), context.Canceled
				case "failing push":
					dsts = append(dsts, mustParse(t, denyingRegistry(t)+"/app:v1"))
				}
				_, err := Write(ctx, img, dsts, WithKeychain(authn.NewMultiKeychain()))
				if !errors.Is(err, wantErr) {
					t.Fatalf("Write: error = %v, want %v", err, wantErr)
				}
				if diff := cmp.Diff(before, snapshot(t, dir)); diff != "" {
					t.Errorf("destinations changed (-before +after):\n%.2000s", diff)
				}
			})
		}
	}
}

// denyingRegistry returns the host of a registry that refuses everyone.
func denyingRegistry(t *testing.T) string {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`))
	}))
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://")
}

func TestRegistryAuthError(t *testing.T) {
	host := denyingRegistry(t)
	const secret = "s3cret-passw0rd"
	kc := keychainFunc(func(authn.Resource) (authn.Authenticator, error) {
		return authn.FromConfig(authn.AuthConfig{Username: "me", Password: secret}), nil
	})
	ref := mustParse(t, host+"/app:v1")
	_, werr := Write(bg, testImage(t, amd64, 1), []Ref{ref}, WithKeychain(kc))
	_, lerr := LoadBase(bg, ref, amd64, WithKeychain(kc))
	for _, err := range []error{werr, lerr} {
		if !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("error = %v, want ErrUnauthorized", err)
		}
		for _, want := range []string{host, "~/.docker/config.json", "DOCKER_CONFIG", "credential helper", "docker login " + host} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error %q shows the password", err)
		}
	}
}

type keychainFunc func(authn.Resource) (authn.Authenticator, error)

func (f keychainFunc) Resolve(r authn.Resource) (authn.Authenticator, error) { return f(r) }

func TestWithInsecure(t *testing.T) {
	host := newRegistry(t)
	// Every connection goes to the test registry, whatever the name.
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, host)
	}}
	ref := mustParse(t, "registry.scratchpack.test/app:v1")
	img := testImage(t, amd64, 1)
	if _, err := Write(bg, img, []Ref{ref}, WithTransport(tr)); err == nil {
		t.Fatal("HTTPS to a plain HTTP registry worked without WithInsecure")
	}
	if _, err := Write(bg, img, []Ref{ref}, WithTransport(tr), WithInsecure()); err != nil {
		t.Fatal(err)
	}
	got, err := load(t, ref, amd64, WithTransport(tr), WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	if digest(t, got) != digest(t, img) {
		t.Error("read back another image")
	}
}

func TestWriteProgress(t *testing.T) {
	host := newRegistry(t)
	ch := make(chan v1.Update)
	var updates []v1.Update
	done := make(chan struct{})
	go func() {
		defer close(done)
		for u := range ch {
			updates = append(updates, u)
		}
	}()
	dsts := []Ref{mustParse(t, host+"/a:v1"), mustParse(t, host+"/b:v1"), mustParse(t, "oci:"+t.TempDir())}
	if _, err := Write(bg, testImage(t, amd64, 1), dsts, WithProgress(ch)); err != nil {
		t.Fatal(err)
	}
	<-done // Write closed ch
	if len(updates) == 0 || updates[len(updates)-1].Complete != updates[len(updates)-1].Total {
		t.Errorf("updates %+v: want some, the last complete", updates)
	}
}

// readTar returns the entries of the tar file, in order, and their contents.
func readTar(t *testing.T, file string) ([]*tar.Header, map[string][]byte) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var hs []*tar.Header
	data := map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return hs, data
		} else if err != nil {
			t.Fatal(err)
		}
		hs = append(hs, h)
		if data[h.Name], err = io.ReadAll(tr); err != nil {
			t.Fatal(err)
		}
	}
}

func TestTarball(t *testing.T) {
	dir := t.TempDir()
	img := testImage(t, amd64, 1)
	ref := mustParse(t, filepath.Join(dir, "app.tar"))
	ref.Name, _ = name.NewTag("busybox")
	if _, err := Write(bg, img, []Ref{ref}); err != nil {
		t.Fatal(err)
	}
	hs, data := readTar(t, ref.Path)
	var names []string
	for _, h := range hs {
		names = append(names, h.Name)
		if h.ModTime.Unix() != 0 || h.Uid != 0 || h.Gid != 0 || h.Uname != "" {
			t.Errorf("%s: mtime %v, owner %d:%d %q, want 0, 0:0", h.Name, h.ModTime, h.Uid, h.Gid, h.Uname)
		}
	}
	if !slices.IsSorted(names) {
		t.Errorf("entries not sorted: %q", names)
	}
	for _, want := range []string{"oci-layout", "index.json", "manifest.json", "blobs/sha256/"} {
		if !slices.Contains(names, want) {
			t.Errorf("no %s in %q", want, names)
		}
	}
	var m tarball.Manifest
	if err := json.Unmarshal(data["manifest.json"], &m); err != nil {
		t.Fatal(err)
	}
	if len(m) != 1 {
		t.Fatalf("manifest.json has %d entries, want 1", len(m))
	}
	if diff := cmp.Diff([]string{"busybox:latest"}, m[0].RepoTags); diff != "" {
		t.Errorf("RepoTags (-want +got):\n%s", diff)
	}
	for _, p := range append([]string{m[0].Config}, m[0].Layers...) {
		b, ok := data[p]
		if !ok {
			t.Errorf("manifest.json names %s, which is not in the tar", p)
			continue
		}
		if sum := sha256.Sum256(b); "blobs/sha256/"+hex.EncodeToString(sum[:]) != p {
			t.Errorf("%s does not hash to its name", p)
		}
	}
	var idx v1.IndexManifest
	if err := json.Unmarshal(data["index.json"], &idx); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{annotationContainerdName: "docker.io/library/busybox:latest", annotationRefName: "latest"}
	if diff := cmp.Diff(want, idx.Manifests[0].Annotations); diff != "" {
		t.Errorf("annotations (-want +got):\n%s", diff)
	}

	// Reproducible, and readable by ggcr's docker-archive reader as by ours.
	again := filepath.Join(dir, "again.tar")
	if _, err := Write(bg, img, []Ref{{Transport: Tarball, Path: again, Name: ref.Name}}); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(ref.Path)
	b, _ := os.ReadFile(again)
	if !bytes.Equal(a, b) {
		t.Error("two writes of one image differ")
	}
	got, err := load(t, Ref{Transport: DockerArchive, Path: ref.Path, Name: ref.Name}, amd64)
	if err != nil {
		t.Fatal(err)
	}
	sameContent(t, got, img)
	if _, err := load(t, ref, amd64); err != nil {
		t.Fatal(err)
	}
}

func TestWriteErrors(t *testing.T) {
	img := testImage(t, amd64, 1)
	digestRef := mustParse(t, "busybox@sha256:"+strings.Repeat("a", 64))
	for _, tc := range []struct {
		name string
		dsts []Ref
	}{
		{"none", nil},
		{"scratch", []Ref{{Transport: Scratch}}},
		{"no path", []Ref{{Transport: OCI}}},
		{"registry without name", []Ref{{Transport: Registry}}},
		{"tar named by digest", []Ref{{Transport: Tarball, Path: filepath.Join(t.TempDir(), "x.tar"), Name: digestRef.Name}}},
	} {
		if _, err := Write(bg, img, tc.dsts); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	var _ remote.Taggable = img
}

// TestSkopeo checks what Write writes with skopeo, the reference reader of
// these transports.
func TestSkopeo(t *testing.T) {
	skopeo, err := exec.LookPath("skopeo")
	if err != nil {
		t.Skip("SKIPPING: skopeo is not installed, so written layouts and archives are NOT checked " +
			"with a real OCI tool; install skopeo (apt-get install skopeo) to run this test")
	}
	dir := t.TempDir()
	host := newRegistry(t)
	img := testImage(t, amd64, 1)
	named := Ref{Transport: Tarball, Path: filepath.Join(dir, "named.tar")}
	named.Name, _ = name.NewTag("example.com/app:v1")
	dsts := []Ref{
		mustParse(t, "oci:"+filepath.Join(dir, "oci")+":v1"),
		mustParse(t, "oci-archive:"+filepath.Join(dir, "oci.tar")+":v1"),
		mustParse(t, "docker-archive:"+filepath.Join(dir, "docker.tar")+":example.com/app:v1"),
		mustParse(t, filepath.Join(dir, "plain.tar")),
		named,
		mustParse(t, host+"/app:v1"),
	}
	want, err := Write(bg, img, dsts)
	if err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) []byte {
		t.Helper()
		out, err := exec.Command(skopeo, args...).Output()
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				err = fmt.Errorf("%w: %s", err, ee.Stderr)
			}
			t.Fatalf("skopeo %s: %v", strings.Join(args, " "), err)
		}
		return out
	}
	for _, tc := range []struct {
		src      string
		manifest bool // the source keeps our manifest, so its digest
	}{
		{"oci:" + filepath.Join(dir, "oci") + ":v1", true},
		{"oci-archive:" + filepath.Join(dir, "oci.tar"), true},
		{"oci-archive:" + filepath.Join(dir, "oci.tar") + ":v1", true},
		{"oci-archive:" + filepath.Join(dir, "plain.tar"), true},
		{"oci-archive:" + named.Path, true},
		{"oci-archive:" + named.Path + ":v1", true},
		{"docker-archive:" + filepath.Join(dir, "docker.tar"), false},
		{"docker-archive:" + named.Path, false},
		{"docker-archive:" + named.Path + ":example.com/app:v1", false},
		{"docker://" + host + "/app:v1", true},
	} {
		t.Run(tc.src, func(t *testing.T) {
			args := []string{"--insecure-policy"}
			if strings.HasPrefix(tc.src, "docker://") {
				args = append(args, "--override-os", "linux") // keep inspect from picking by host
			}
			var info struct{ Architecture, Os string }
			inspect := append(slices.Clone(args), "inspect")
			if strings.HasPrefix(tc.src, "docker://") {
				inspect = append(inspect, "--tls-verify=false")
			}
			if err := json.Unmarshal(run(append(inspect, tc.src)...), &info); err != nil {
				t.Fatal(err)
			}
			if info.Architecture != "amd64" || info.Os != "linux" {
				t.Errorf("skopeo inspect: %s/%s, want linux/amd64", info.Os, info.Architecture)
			}
			raw := run(append(inspect, "--raw", tc.src)...)
			if got := sha256.Sum256(raw); tc.manifest && hex.EncodeToString(got[:]) != want.Hex {
				t.Errorf("skopeo inspect --raw: manifest sha256:%x, want %s", got, want)
			}
			// A copy reads, decompresses and verifies every blob.
			copyArgs := append(slices.Clone(args), "copy", "-q")
			if strings.HasPrefix(tc.src, "docker://") {
				copyArgs = append(copyArgs, "--src-tls-verify=false")
			}
			for _, dst := range []string{"oci-archive:" + filepath.Join(t.TempDir(), "copy.tar") + ":x",
				"docker-archive:" + filepath.Join(t.TempDir(), "copy.tar") + ":example.com/copy:x"} {
				run(append(copyArgs, tc.src, dst)...)
				// And what skopeo writes, LoadBase reads.
				got, err := load(t, mustParse(t, dst), amd64)
				if err != nil {
					t.Fatal(err)
				}
				if strings.HasPrefix(dst, "docker-archive:") {
					sameContent(t, got, img)
				} else if g := digest(t, got); tc.manifest && g != want {
					t.Errorf("LoadBase(%s) = %s, want %s", dst, g, want)
				}
			}
		})
	}
}
