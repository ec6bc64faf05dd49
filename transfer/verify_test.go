package transfer

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

// goodImage is an amd64 image of two small layers.
func goodImage(t *testing.T) v1.Image {
	t.Helper()
	img := empty.Image
	for i, name := range []string{"etc/base", "app/prog"} {
		l := testenv.Layer(t, testenv.TarEntry{Header: tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644}, Data: strings.Repeat("data ", 100*(i+1))})
		var err error
		if img, err = mutate.AppendLayers(img, l); err != nil {
			t.Fatal(err)
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// zeroDiffIDs is img with the diff_id of its second layer all zeros.
func zeroDiffIDs(t *testing.T, img v1.Image) v1.Image {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.RootFS.DiffIDs[1] = v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("0", 64)}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// flipLayerBlob changes one byte of the second layer's blob in the layout dir.
func flipLayerBlob(t *testing.T, img v1.Image, dir string) {
	t.Helper()
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	h, err := ls[1].Digest()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "blobs", h.Algorithm, h.Hex)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x01
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// flippingRegistry serves an in-memory registry that flips one byte of
// every blob GET whose digest is in bad.
func flippingRegistry(t *testing.T, bad func(string) bool) string {
	t.Helper()
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || !strings.Contains(r.URL.Path, "/blobs/") || !bad(r.URL.Path) {
			reg.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		reg.ServeHTTP(rec, r)
		b := rec.Body.Bytes()
		if len(b) > 20 {
			b[len(b)-10] ^= 0x01
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(b)
	}))
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://")
}

// TestCorruptBlobsAreFound: a base whose layer bytes differ from their
// digest, or whose diff_ids are all zeros, from every kind of source, is
// refused when its layers are read (listed, unpacked, copied), with an error
// naming the image and the layer.
func TestCorruptBlobsAreFound(t *testing.T) {
	good := goodImage(t)
	ls, _ := good.Layers()
	bad, _ := ls[1].Digest()
	dir := t.TempDir()

	type source struct {
		name      string
		ref       string
		zeroDiff  bool // the diff_ids are wrong, the blobs right
		copyFails bool // copying the compressed blobs fails too
	}
	var sources []source
	// A layout and an OCI archive with a flipped byte in a layer blob.
	flipped := filepath.Join(dir, "flipped")
	testenv.WriteOCILayout(t, good, flipped, "v1")
	flipLayerBlob(t, good, flipped)
	writeTar(t, flipped, filepath.Join(dir, "flipped.tar"), "")
	sources = append(sources, source{"oci: flipped", "oci:" + flipped + ":v1", false, true},
		source{"oci-archive: flipped", "oci-archive:" + filepath.Join(dir, "flipped.tar") + ":v1", false, true})
	// Zero diff_ids, in a layout, an OCI archive, a docker archive.
	zero := zeroDiffIDs(t, good)
	testenv.WriteOCILayout(t, zero, filepath.Join(dir, "zero"), "v1")
	testenv.WriteOCIArchive(t, zero, filepath.Join(dir, "zero.tar"), "v1")
	testenv.WriteDockerArchive(t, zero, filepath.Join(dir, "zero-docker.tar"), "app:v1")
	sources = append(sources, source{"oci: zero diff_ids", "oci:" + filepath.Join(dir, "zero") + ":v1", true, false},
		source{"oci-archive: zero diff_ids", "oci-archive:" + filepath.Join(dir, "zero.tar") + ":v1", true, false},
		source{"docker-archive: zero diff_ids", "docker-archive:" + filepath.Join(dir, "zero-docker.tar") + ":app:v1", true, false})
	// A registry that flips a byte of the layer as it serves it.
	host := flippingRegistry(t, func(p string) bool { return strings.HasSuffix(p, bad.String()) })
	pushTo(t, good, host+"/flipped:v1")
	plain := newRegistry(t)
	pushTo(t, zero, plain+"/zero:v1")
	sources = append(sources, source{"registry: flipped", host + "/flipped:v1", false, true},
		source{"registry: zero diff_ids", plain + "/zero:v1", true, false})

	for _, src := range sources {
		t.Run(src.name, func(t *testing.T) {
			ref := mustParse(t, src.ref)
			img, err := LoadBase(bg, ref, amd64)
			if err != nil {
				t.Fatal(err)
			}
			check := func(what string, err error) {
				t.Helper()
				if !errors.Is(err, ErrCorruptBlob) || !strings.Contains(err.Error(), ref.String()) || !strings.Contains(err.Error(), "layer 2") {
					t.Errorf("%s: %v; want ErrCorruptBlob naming %s and its layer 2", what, err, ref)
				}
			}
			_, err = ListImage(bg, img)
			check("ListImage", err)
			check("Unpack", Unpack(img, t.TempDir()))
			out := filepath.Join(t.TempDir(), "copy.tar")
			_, err = Write(bg, img, []Ref{mustParse(t, "oci-archive:"+out)})
			if src.copyFails {
				check("Write", err)
			} else if err != nil {
				t.Errorf("Write of blobs that match their digests: %v", err)
			}
		})
	}
}

func pushTo(t *testing.T, img v1.Image, ref string) {
	t.Helper()
	if _, err := Write(bg, img, []Ref{mustParse(t, "docker://"+ref)}); err != nil {
		t.Fatal(err)
	}
}

// bombLayer is a gzip layer of one file of n zero bytes: a few kB that
// unpack to n.
func bombLayer(t *testing.T, n int64) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{Name: "bomb", Typeflag: tar.TypeReg, Mode: 0o644, Size: n}); err != nil {
		t.Fatal(err)
	}
	zero := make([]byte, 1<<20)
	for left := n; left > 0; left -= int64(len(zero)) {
		if _, err := tw.Write(zero[:min(left, int64(len(zero)))]); err != nil {
			t.Fatal(err)
		}
	}
	tw.Close()
	zw.Close()
	b := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestUnpackCaps: a layer that unpacks to more than WithMaxUnpack, or to
// more than the free space where it is unpacked, is refused with ErrTooLarge
// naming the image and the layer, before it fills the disk.
func TestUnpackCaps(t *testing.T) {
	img, err := mutate.AppendLayers(goodImage(t), bombLayer(t, 64<<20))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	testenv.WriteOCILayout(t, img, filepath.Join(dir, "bomb"), "v1")
	ref := mustParse(t, "oci:"+filepath.Join(dir, "bomb")+":v1")
	t.Run("max unpack", func(t *testing.T) {
		base, err := LoadBase(bg, ref, amd64, WithMaxUnpack(16<<20))
		if err != nil {
			t.Fatal(err)
		}
		for what, err := range map[string]error{"ListImage": func() error { _, err := ListImage(bg, base); return err }(), "Unpack": Unpack(base, t.TempDir())} {
			if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), ref.String()) || !strings.Contains(err.Error(), "layer 3") {
				t.Errorf("%s: %v; want ErrTooLarge naming %s and its layer 3", what, err, ref)
			}
		}
	})
	t.Run("free space", func(t *testing.T) {
		small := smallTmpfs(t, 8<<20)
		base, err := LoadBase(bg, ref, amd64)
		if err != nil {
			t.Fatal(err)
		}
		err = Unpack(base, small)
		if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), small) {
			t.Errorf("Unpack into an 8 MiB file system: %v; want ErrTooLarge naming %s", err, small)
		}
	})
}

// smallTmpfs mounts a tmpfs of size bytes (as root) and returns its path.
func smallTmpfs(t *testing.T, size int64) string {
	t.Helper()
	if os.Geteuid() != 0 {
		if inCI() {
			t.Fatal("CI runs as root: mounting a tmpfs needs it")
		}
		t.Skip("SKIP (requires root): mounting a small tmpfs")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	return dir
}

// TestConfigCap: an image whose config is larger than 8 MiB is refused
// before it is read, from a layout, an archive and a registry.
func TestConfigCap(t *testing.T) {
	img := goodImage(t)
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.Config.Labels = map[string]string{"padding": strings.Repeat("x", 9<<20)}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	testenv.WriteOCILayout(t, img, filepath.Join(dir, "big"), "v1")
	testenv.WriteOCIArchive(t, img, filepath.Join(dir, "big.tar"), "v1")
	testenv.WriteDockerArchive(t, img, filepath.Join(dir, "big-docker.tar"), "app:v1")
	host := newRegistry(t)
	pushTo(t, img, host+"/big:v1")
	// A manifest that says its config is small, and a config file that is not.
	small := goodImage(t)
	liar := filepath.Join(dir, "liar")
	testenv.WriteOCILayout(t, small, liar, "v1")
	cfgName, err := small.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(liar, "blobs", "sha256", cfgName.Hex), bytes.Repeat([]byte(" "), 9<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"oci:" + filepath.Join(dir, "big") + ":v1", "oci-archive:" + filepath.Join(dir, "big.tar") + ":v1",
		"docker-archive:" + filepath.Join(dir, "big-docker.tar") + ":app:v1", host + "/big:v1", "oci:" + liar + ":v1"} {
		_, err := LoadBase(bg, mustParse(t, ref), amd64)
		if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "config") {
			t.Errorf("%s: %v; want ErrTooLarge about its config", ref, err)
		}
	}
}
