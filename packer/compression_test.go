package packer

import (
	"archive/tar"
	"bytes"
	stdgzip "compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/klauspost/compress/zstd"
	"github.com/scratchpack/scratchpack/layercache"
)

// testFiles writes a few files into a new directory and returns a FileSet
// of them: a 3 MiB compressible one (more than one pgzip block), a small
// one, an empty one, a generated file and a link.
func testFiles(t *testing.T) (*FileSet, map[string][]byte) {
	t.Helper()
	dir := t.TempDir()
	rng := rand.New(rand.NewSource(1))
	words := []string{"alpha ", "beta ", "gamma ", "delta ", "\x00\x01", "epsilon\n"}
	var big bytes.Buffer
	for big.Len() < 3<<20 {
		big.WriteString(words[rng.Intn(len(words))])
	}
	contents := map[string][]byte{
		"/app/big":        big.Bytes(),
		"/app/small":      []byte("small file\n"),
		"/app/empty":      {},
		"/etc/generated":  []byte("made by the packer\n"),
		"/usr/lib/libx.1": []byte("\x7fELF not really"),
	}
	set := NewFileSet()
	for p, b := range contents {
		if p == "/etc/generated" {
			if err := set.Add(Entry{Path: p, Type: TypeFile, Mode: 0o644, Data: b, Size: int64(len(b))}); err != nil {
				t.Fatal(err)
			}
			continue
		}
		src := filepath.Join(dir, filepath.Base(p))
		if err := os.WriteFile(src, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := set.Add(Entry{Path: p, Type: TypeFile, Mode: 0o755, Source: src, Size: int64(len(b))}); err != nil {
			t.Fatal(err)
		}
	}
	if err := set.Add(Entry{Path: "/usr/lib/libx.so", Type: TypeSymlink, Target: "libx.1"}); err != nil {
		t.Fatal(err)
	}
	return set, contents
}

// checkLayer checks l as validate.Layer does, for every compression (its
// gunzip is hard-wired, so it reads only gzip layers): the digest and size
// are those of the blob, the diff_id that of the blob decompressed by a
// decoder other than the one that wrote it and of Uncompressed(), and the tar
// holds want, with the tar's header fields scratchpack fixes.
func checkLayer(t *testing.T, l v1.Layer, c layercache.Compression, want map[string][]byte) {
	t.Helper()
	if c == layercache.Gzip {
		if err := validate.Layer(l); err != nil {
			t.Errorf("validate.Layer: %v", err)
		}
	}
	rc, err := l.Compressed()
	if err != nil {
		t.Fatal(err)
	}
	blob, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	digest, _ := l.Digest()
	size, _ := l.Size()
	diffID, _ := l.DiffID()
	if got := sha256.Sum256(blob); hex.EncodeToString(got[:]) != digest.Hex || int64(len(blob)) != size {
		t.Errorf("blob: %d bytes, sha256:%x; layer says %d bytes, %s", len(blob), got, size, digest)
	}
	var tarBytes []byte
	switch c {
	case layercache.Gzip:
		zr, err := stdgzip.NewReader(bytes.NewReader(blob)) // the standard library's, not the writer's
		if err != nil {
			t.Fatal(err)
		}
		tarBytes, err = io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
	case layercache.Zstd:
		if !bytes.HasPrefix(blob, []byte{0x28, 0xb5, 0x2f, 0xfd}) {
			t.Fatalf("blob does not start with the zstd magic number: % x", blob[:4])
		}
		zr, err := zstd.NewReader(nil)
		if err != nil {
			t.Fatal(err)
		}
		tarBytes, err = zr.DecodeAll(blob, nil)
		zr.Close()
		if err != nil {
			t.Fatal(err)
		}
	case layercache.Uncompressed:
		tarBytes = blob
	}
	if got := sha256.Sum256(tarBytes); hex.EncodeToString(got[:]) != diffID.Hex {
		t.Errorf("decompressed blob has sha256:%x, DiffID() is %s", got, diffID)
	}
	ur, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	viaLayer, err := io.ReadAll(ur)
	ur.Close()
	if err != nil || !bytes.Equal(viaLayer, tarBytes) {
		t.Errorf("Uncompressed() differs from the decompressed blob (%d and %d bytes, %v)", len(viaLayer), len(tarBytes), err)
	}
	if u, ok := l.(interface{ UncompressedSize() int64 }); ok && u.UncompressedSize() != int64(len(tarBytes)) {
		t.Errorf("UncompressedSize() = %d, the tar has %d bytes", u.UncompressedSize(), len(tarBytes))
	}
	got := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(tarBytes))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" || !h.ModTime.Equal(time.Unix(0, 0)) {
			t.Errorf("%s: owner %d:%d (%q:%q), time %v; want 0:0, no names, the epoch", h.Name, h.Uid, h.Gid, h.Uname, h.Gname, h.ModTime)
		}
		if h.Typeflag == tar.TypeReg {
			got["/"+h.Name], _ = io.ReadAll(tr)
		}
	}
	for name, b := range want {
		if g, ok := got[name]; !ok || !bytes.Equal(g, b) {
			t.Errorf("%s: %d bytes in the layer (present: %v), want %d", name, len(g), ok, len(b))
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s: in the layer, not wanted", name)
		}
	}
}

// TestLayerCompressions writes the same files with each compression: every
// layer reads back to the files, and its digest is pinned (the compressors'
// output for given settings is part of reproducibility; a new version of
// klauspost/compress or pgzip, or of gzipBlock, that changes it must be
// noticed).
func TestLayerCompressions(t *testing.T) {
	set, want := testFiles(t)
	for _, tc := range []struct {
		name   string
		c      layercache.Compression
		level  int
		media  types.MediaType
		digest string
	}{
		{"gzip default", layercache.Gzip, 0, types.OCILayer, "sha256:253d8c0c262ee96cba7a075b2a9599091d1cc9201437bf4ba6ffda5440ad08ff"},
		{"gzip 1", layercache.Gzip, 1, types.OCILayer, "sha256:a1dd90f180dae1dbf31a8bcf90475e9058950bd406f71d23db0eec7802f34e74"},
		{"gzip 9", layercache.Gzip, 9, types.OCILayer, "sha256:bb515f65e426502b886a12ffc63b717e0aa55f6bffbeaad91ddf33b8223a106f"},
		{"zstd default", layercache.Zstd, 0, types.OCILayerZStd, "sha256:6ef2ac3b55d26ffaa18294531871e56ee0642850d8f6d2bc8ac3ded729cf822d"},
		{"zstd 19", layercache.Zstd, 19, types.OCILayerZStd, "sha256:fe78f276f7c374fdf40a97878c4e822899df65040d9a1c737d7e26df99afd9c3"},
		{"none", layercache.Uncompressed, 0, types.OCIUncompressedLayer, "sha256:dfda96899c726cdc9972ed9cc87666668e1d324340c7f845e1ddc19b080ce092"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := WriteLayer(set, LayerOptions{Dir: t.TempDir(), MTime: time.Unix(0, 0), Compression: tc.c, Level: tc.level})
			if err != nil {
				t.Fatal(err)
			}
			if mt, _ := l.MediaType(); mt != tc.media {
				t.Errorf("media type %s, want %s", mt, tc.media)
			}
			checkLayer(t, l, tc.c, want)
			if d, _ := l.Digest(); d.String() != tc.digest {
				t.Errorf("digest %s, want %s", d, tc.digest)
			}
		})
	}
}

// TestLayerSameOnAnyMachine: the parallel compressors give the same bytes
// whatever the number of cores, and without compression the digest is the
// diff_id.
func TestLayerSameOnAnyMachine(t *testing.T) {
	set, _ := testFiles(t)
	for _, c := range []layercache.Compression{layercache.Gzip, layercache.Zstd, layercache.Uncompressed} {
		t.Run(c.String(), func(t *testing.T) {
			var digests []v1.Hash
			for _, procs := range []int{1, 3, 8} {
				old := runtime.GOMAXPROCS(procs)
				l, err := WriteLayer(set, LayerOptions{Dir: t.TempDir(), Compression: c})
				runtime.GOMAXPROCS(old)
				if err != nil {
					t.Fatal(err)
				}
				d, _ := l.Digest()
				digests = append(digests, d)
				if id, _ := l.DiffID(); c == layercache.Uncompressed && id != d {
					t.Errorf("uncompressed: digest %s, diff_id %s: want the same", d, id)
				}
			}
			if digests[0] != digests[1] || digests[0] != digests[2] {
				t.Errorf("with 1, 3 and 8 cores: %v", digests)
			}
		})
	}
}

func TestCompressionLevels(t *testing.T) {
	set, _ := testFiles(t)
	for _, tc := range []struct {
		c     layercache.Compression
		level int
		ok    bool
	}{
		{layercache.Gzip, 1, true}, {layercache.Gzip, 9, true}, {layercache.Gzip, 10, false}, {layercache.Gzip, -1, false},
		{layercache.Zstd, 1, true}, {layercache.Zstd, 22, true}, {layercache.Zstd, 23, false},
		{layercache.Uncompressed, 0, true}, {layercache.Uncompressed, 3, false},
		{layercache.Compression(7), 0, false},
	} {
		_, err := WriteLayer(set, LayerOptions{Dir: t.TempDir(), Compression: tc.c, Level: tc.level})
		if (err == nil) != tc.ok {
			t.Errorf("%v level %d: error %v, want ok=%v", tc.c, tc.level, err, tc.ok)
		}
	}
}

func TestParseCompression(t *testing.T) {
	for _, c := range []layercache.Compression{layercache.Gzip, layercache.Zstd, layercache.Uncompressed} {
		if got, err := layercache.ParseCompression(c.String()); err != nil || got != c {
			t.Errorf("ParseCompression(%q) = %v, %v", c.String(), got, err)
		}
	}
	if _, err := layercache.ParseCompression("xz"); err == nil {
		t.Error("ParseCompression(xz): no error")
	}
}

// TestWriteLayerChangedSource: a file that grows or shrinks between being
// placed and being written is an error that names it.
func TestWriteLayerChangedSource(t *testing.T) {
	for _, size := range []int{10, 2 << 20} {
		set, _ := testFiles(t)
		e := set.Get("/app/small")
		if err := os.WriteFile(e.Source, make([]byte, size), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := WriteLayer(set, LayerOptions{Dir: t.TempDir()})
		if err == nil || !bytes.Contains([]byte(err.Error()), []byte(e.Source)) {
			t.Errorf("source resized to %d bytes: error %v, want one naming %s", size, err, e.Source)
		}
		var pe *os.PathError
		if errors.As(err, &pe) {
			t.Errorf("unexpected path error %v", pe)
		}
	}
}
