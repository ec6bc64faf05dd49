package transfer

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"log"
	"math/rand"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

var (
	amd64 = v1.Platform{OS: "linux", Architecture: "amd64"}
	arm64 = v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}
)

// testImage is an OCI image for p with a layer shared by all test images and
// one made from seed.
func testImage(t testing.TB, p v1.Platform, seed int64) v1.Image {
	t.Helper()
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	for _, s := range []int64{0, seed} {
		l, err := random.Layer(256, types.OCILayer, random.WithSource(rand.NewSource(s)))
		if err != nil {
			t.Fatal(err)
		}
		if img, err = mutate.AppendLayers(img, l); err != nil {
			t.Fatal(err)
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// testIndex is an index of an amd64 and an arm64 image.
func testIndex(t testing.TB) (v1.ImageIndex, map[string]v1.Image) {
	t.Helper()
	imgs := map[string]v1.Image{"amd64": testImage(t, amd64, 10), "arm64": testImage(t, arm64, 11)}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range []v1.Platform{amd64, arm64} {
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        imgs[p.Architecture],
			Descriptor: v1.Descriptor{Platform: &p},
		})
	}
	return idx, imgs
}

// newRegistry serves an in-memory registry and returns its host:port.
func newRegistry(t testing.TB) string {
	t.Helper()
	s := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://")
}

func digest(t testing.TB, a interface{ Digest() (v1.Hash, error) }) v1.Hash {
	t.Helper()
	h, err := a.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func mustParse(t testing.TB, s string) Ref {
	t.Helper()
	r, err := ParseRef(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// load is LoadBase that also validates the image.
func load(t testing.TB, ref Ref, p v1.Platform, opts ...Option) (v1.Image, error) {
	t.Helper()
	img, err := LoadBase(context.Background(), ref, p, opts...)
	if err == nil {
		// validate reads every layer as gzip: an image with uncompressed
		// layers (a docker save archive's) has them read whole instead,
		// which checks their digests and diff_ids.
		var vopts []validate.Option
		if uncompressedLayers(t, img) {
			vopts = append(vopts, validate.Fast)
			readLayers(t, img)
		}
		if verr := validate.Image(img, vopts...); verr != nil {
			t.Fatalf("LoadBase(%s) is invalid: %v", ref, verr)
		}
	}
	return img, err
}

// uncompressedLayers reports whether a layer of img is an uncompressed tar.
func uncompressedLayers(t testing.TB, img v1.Image) bool {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range m.Layers {
		if l.MediaType == types.OCIUncompressedLayer || l.MediaType == types.DockerUncompressedLayer {
			return true
		}
	}
	return false
}

// readLayers reads every layer of img to its end, which fails unless it
// matches its digest and diff_id.
func readLayers(t testing.TB, img v1.Image) {
	t.Helper()
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range ls {
		rc, err := l.Uncompressed()
		if err == nil {
			_, err = io.Copy(io.Discard, rc)
			rc.Close()
		}
		if err != nil {
			t.Fatalf("layer %d: %v", i+1, err)
		}
	}
}

func TestLoadBaseScratch(t *testing.T) {
	img, err := load(t, Ref{Transport: Scratch}, v1.Platform{Architecture: "arm64", Variant: "v8"})
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&arm64, cf.Platform()); diff != "" {
		t.Errorf("platform (-want +got):\n%s", diff)
	}
	if mt, _ := img.MediaType(); mt != types.OCIManifestSchema1 {
		t.Errorf("media type %s, want %s", mt, types.OCIManifestSchema1)
	}
	if ls, _ := img.Layers(); len(ls) != 0 {
		t.Errorf("%d layers, want 0", len(ls))
	}
}

func TestLoadBaseRegistry(t *testing.T) {
	host := newRegistry(t)
	img := testImage(t, amd64, 1)
	idx, imgs := testIndex(t)
	for ref, a := range map[string]remote.Taggable{host + "/img:v1": img, host + "/multi:v1": idx} {
		n, _ := name.ParseReference(ref)
		var err error
		if ii, ok := a.(v1.ImageIndex); ok {
			err = remote.WriteIndex(n, ii)
		} else {
			err = remote.Write(n, a.(v1.Image))
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		ref     string
		p       v1.Platform
		want    v1.Image
		wantErr error
	}{
		{name: "image", ref: host + "/img:v1", p: amd64, want: img},
		{name: "docker transport", ref: "docker://" + host + "/img:v1", p: amd64, want: img},
		{name: "by digest", ref: host + "/img@" + digest(t, img).String(), p: amd64, want: img},
		{name: "index amd64", ref: host + "/multi:v1", p: amd64, want: imgs["amd64"]},
		{name: "index arm64 without variant", ref: host + "/multi:v1", p: v1.Platform{OS: "linux", Architecture: "arm64"}, want: imgs["arm64"]},
		{name: "wrong platform", ref: host + "/img:v1", p: arm64, wantErr: &PlatformError{}},
		{name: "index lacks platform", ref: host + "/multi:v1", p: v1.Platform{OS: "linux", Architecture: "s390x"}, wantErr: &PlatformError{}},
		{name: "missing tag", ref: host + "/img:nope", p: amd64, wantErr: ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := load(t, mustParse(t, tc.ref), tc.p)
			checkLoad(t, got, err, tc.want, tc.wantErr)
		})
	}
}

// checkLoad compares the result of LoadBase with want or, if wantErr is a
// *PlatformError or a sentinel, with that.
func checkLoad(t *testing.T, got v1.Image, err error, want v1.Image, wantErr error) {
	t.Helper()
	var pe *PlatformError
	switch {
	case errors.As(wantErr, &pe):
		if !errors.As(err, &pe) {
			t.Fatalf("error = %v, want a *PlatformError", err)
		}
	case wantErr != nil:
		if !errors.Is(err, wantErr) {
			t.Fatalf("error = %v, want %v", err, wantErr)
		}
	case err != nil:
		t.Fatal(err)
	default:
		if g, w := digest(t, got), digest(t, want); g != w {
			t.Errorf("digest %s, want %s", g, w)
		}
	}
}

// writeLayout writes, with ggcr alone, a layout holding img tagged "a",
// other tagged "b" and idx tagged "multi".
func writeLayout(t *testing.T, img, other v1.Image, idx v1.ImageIndex) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "layout")
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	tag := func(s string) layout.Option { return layout.WithAnnotations(map[string]string{annotationRefName: s}) }
	if err := lp.AppendImage(img, tag("a")); err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendImage(other, tag("b")); err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendIndex(idx, tag("multi")); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestLoadBaseLayoutAndArchives(t *testing.T) {
	img, other := testImage(t, amd64, 1), testImage(t, amd64, 2)
	idx, imgs := testIndex(t)
	dir := writeLayout(t, img, other, idx)
	archive := filepath.Join(t.TempDir(), "layout.tar")
	writeTar(t, dir, archive, "")
	dotArchive := filepath.Join(t.TempDir(), "dot.tar") // names as in `tar -C dir .`
	writeTar(t, dir, dotArchive, "./")
	single := filepath.Join(t.TempDir(), "single")
	if _, err := layout.Write(single, mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: img})); err != nil {
		t.Fatal(err)
	}

	type tc struct {
		name    string
		ref     Ref
		p       v1.Platform
		want    v1.Image
		wantErr error
		errText string
	}
	tests := []tc{{name: "single untagged image", ref: mustParse(t, "oci:"+single), p: amd64, want: img}}
	for _, loc := range []string{"oci:" + dir, "oci-archive:" + archive, "oci-archive:" + dotArchive, archive} {
		tag := func(s string) Ref {
			r := mustParse(t, loc)
			r.Tag = s
			return r
		}
		tests = append(tests,
			tc{name: loc + " tag a", ref: tag("a"), p: amd64, want: img},
			tc{name: loc + " tag b", ref: tag("b"), p: amd64, want: other},
			tc{name: loc + " index", ref: tag("multi"), p: arm64, want: imgs["arm64"]},
			tc{name: loc + " wrong platform", ref: tag("a"), p: arm64, wantErr: &PlatformError{}},
			tc{name: loc + " missing tag", ref: tag("zzz"), p: amd64, wantErr: ErrNotFound, errText: "tag a\n"},
			tc{name: loc + " ambiguous", ref: tag(""), p: amd64, wantErr: ErrAmbiguous, errText: "tag multi"},
		)
		byDigest := func(h v1.Hash) Ref {
			r := mustParse(t, loc+"@"+h.String())
			if r.Digest != h.String() {
				t.Fatalf("%s@%s parses as %+v", loc, h, r)
			}
			return r
		}
		tests = append(tests,
			tc{name: loc + " digest of b", ref: byDigest(mustDigest(t, other)), p: amd64, want: other},
			tc{name: loc + " digest of the index", ref: byDigest(mustDigest(t, idx)), p: arm64, want: imgs["arm64"]},
			tc{name: loc + " missing digest", ref: byDigest(v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("0", 64)}), p: amd64,
				wantErr: ErrNotFound, errText: "tag b"},
		)
	}
	// Three untagged images of one platform (three packs to oci:DIR): which
	// one is meant is for the user to say, not the oldest by default.
	untagged := filepath.Join(t.TempDir(), "untagged")
	if _, err := layout.Write(untagged, mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: img}, mutate.IndexAddendum{Add: other})); err != nil {
		t.Fatal(err)
	}
	tests = append(tests,
		tc{name: "untagged images", ref: mustParse(t, "oci:"+untagged), p: amd64, wantErr: ErrAmbiguous, errText: "@" + mustDigest(t, other).String()},
		tc{name: "untagged image by digest", ref: mustParse(t, "oci:"+untagged+"@"+mustDigest(t, other).String()), p: amd64, want: other},
	)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := load(t, tc.ref, tc.p)
			if tc.errText != "" && (err == nil || !strings.Contains(err.Error(), tc.errText)) {
				t.Fatalf("error = %v, want one containing %q", err, tc.errText)
			}
			if tc.errText == "" || tc.wantErr != nil {
				checkLoad(t, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

// mustDigest is the digest of a.
func mustDigest(t *testing.T, a interface{ Digest() (v1.Hash, error) }) v1.Hash {
	t.Helper()
	h, err := a.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// writeTar writes the layout dir as an uncompressed tar, names prefixed.
func writeTar(t *testing.T, dir, file, prefix string) {
	t.Helper()
	var b bytes.Buffer
	if err := tarLayout(&b, dir, nil); err != nil {
		t.Fatal(err)
	}
	if prefix != "" {
		b = retar(t, &b, prefix)
	}
	if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadBaseDockerArchive(t *testing.T) {
	img := testImage(t, amd64, 3)
	file := filepath.Join(t.TempDir(), "saved.tar")
	tag, err := name.NewTag("example.com/app:v1")
	if err != nil {
		t.Fatal(err)
	}
	if err := tarball.WriteToFile(file, tag, img); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"docker-archive:" + file, "docker-archive:" + file + ":example.com/app:v1", file} {
		t.Run(ref, func(t *testing.T) {
			got, err := load(t, mustParse(t, ref), amd64)
			if err != nil {
				t.Fatal(err)
			}
			sameContent(t, got, img)
		})
	}
	if _, err := load(t, mustParse(t, "docker-archive:"+file+":example.com/app:v2"), amd64); err == nil {
		t.Error("loaded a tag the archive lacks")
	}
	if _, err := load(t, mustParse(t, "oci-archive:"+file), amd64); err == nil || !strings.Contains(err.Error(), "use docker-archive:") {
		t.Errorf("oci-archive: of a docker archive: error = %v, want a hint to use docker-archive:", err)
	}
}

// sameContent checks that got has want's config and layers: a docker archive
// keeps those (each layer's tar, by its diff_id), not the manifest, nor how
// the layers were compressed.
func sameContent(t *testing.T, got, want v1.Image) {
	t.Helper()
	gm, err := got.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	wm, err := want.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if gm.Config.Digest != wm.Config.Digest {
		t.Errorf("config %s, want %s", gm.Config.Digest, wm.Config.Digest)
	}
	diffIDs := func(img v1.Image) (hs []v1.Hash) {
		ls, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range ls {
			h, err := l.DiffID()
			if err != nil {
				t.Fatal(err)
			}
			hs = append(hs, h)
		}
		return hs
	}
	if diff := cmp.Diff(diffIDs(want), diffIDs(got)); diff != "" {
		t.Errorf("layers (-want +got):\n%s", diff)
	}
}

func TestLoadBaseErrors(t *testing.T) {
	dir := t.TempDir()
	gz := filepath.Join(dir, "img.tar")
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, _ = zw.Write([]byte("not a tar"))
	_ = zw.Close()
	if err := os.WriteFile(gz, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ ref, want string }{
		{"oci:" + dir, "not an OCI image layout"},
		{"oci:" + filepath.Join(dir, "absent"), "no such file"},
		{"oci-archive:" + gz, "not an uncompressed tar"},
		{"oci-archive:" + filepath.Join(dir, "absent.tar"), "no such file"},
		{"docker-archive:" + filepath.Join(dir, "absent.tar"), "no such file"},
	} {
		_, err := load(t, mustParse(t, tc.ref), amd64)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "reading image "+tc.ref) {
			t.Errorf("LoadBase(%s): error = %v, want one naming it and saying %q", tc.ref, err, tc.want)
		}
	}
	if _, err := LoadBase(context.Background(), Ref{Transport: Scratch}, v1.Platform{OS: "linux"}); err == nil {
		t.Error("LoadBase without an architecture: no error")
	}
}

func TestPlatformMatches(t *testing.T) {
	for _, tc := range []struct {
		have, want v1.Platform
		ok         bool
	}{
		{amd64, amd64, true},
		{amd64, arm64, false},
		{v1.Platform{OS: "linux", Architecture: "arm64"}, arm64, true},
		{arm64, v1.Platform{OS: "linux", Architecture: "arm64"}, true},
		{v1.Platform{OS: "linux", Architecture: "arm", Variant: "v6"}, v1.Platform{OS: "linux", Architecture: "arm"}, false},
		{v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}, v1.Platform{OS: "linux", Architecture: "arm"}, true},
		{v1.Platform{OS: "linux", Architecture: "amd64", Variant: "v3"}, amd64, true},
		{v1.Platform{OS: "windows", Architecture: "amd64"}, amd64, false},
	} {
		if got := platformMatches(tc.have, tc.want); got != tc.ok {
			t.Errorf("platformMatches(%s, %s) = %v, want %v", tc.have, tc.want, got, tc.ok)
		}
	}
}

// retar returns the tar in r with prefix before every name.
func retar(t *testing.T, r io.Reader, prefix string) bytes.Buffer {
	t.Helper()
	var b bytes.Buffer
	tr, tw := tar.NewReader(r), tar.NewWriter(&b)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		h.Name = prefix + h.Name
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(tw, tr); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b
}
