package testenv

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"os"

	"github.com/klauspost/compress/gzip"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// gzipFileLayer is an OCI gzip layer stored in a file whose digests are
// known, so that making it costs no read (tarball.LayerFromOpener reads and
// decompresses the whole file to compute them). partial.CompressedToLayer
// derives the rest of v1.Layer.
type gzipFileLayer struct {
	path string
	sums layerSums
}

var (
	_ partial.CompressedLayer = (*gzipFileLayer)(nil)
	_ partial.WithDiffID      = (*gzipFileLayer)(nil)
)

// layerSums are a gzip layer's digest and size and its content's diff ID.
type layerSums struct {
	Digest v1.Hash `json:"digest"`
	Size   int64   `json:"size"`
	DiffID v1.Hash `json:"diffID"`
}

func (l *gzipFileLayer) Digest() (v1.Hash, error)            { return l.sums.Digest, nil }
func (l *gzipFileLayer) DiffID() (v1.Hash, error)            { return l.sums.DiffID, nil }
func (l *gzipFileLayer) Size() (int64, error)                { return l.sums.Size, nil }
func (l *gzipFileLayer) MediaType() (types.MediaType, error) { return types.OCILayer, nil }
func (l *gzipFileLayer) Compressed() (io.ReadCloser, error)  { return os.Open(l.path) }

// cachedGzipLayer returns the tar at tarPath as a gzip layer cached at
// tarPath + ".gz", with its sums in tarPath + ".gz.json"; both are made
// once (cacheFile), the sums renamed into place before the layer, so a
// layer file present has its sums beside it. Sums that do not match the
// file's size (left by hand) are recomputed from the file.
func cachedGzipLayer(tarPath string) (v1.Layer, error) {
	gzPath, sumsPath := tarPath+".gz", tarPath+".gz.json"
	_, err := cacheFile(gzPath, func(f *os.File) error {
		sums, err := gzipFile(f, tarPath)
		if err != nil {
			return err
		}
		return writeJSONFile(sumsPath, sums)
	})
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(gzPath)
	if err != nil {
		return nil, err
	}
	var sums layerSums
	b, err := os.ReadFile(sumsPath)
	if err == nil {
		err = json.Unmarshal(b, &sums)
	}
	if err != nil || sums.Size != fi.Size() {
		if sums, err = gzipSums(gzPath); err != nil {
			return nil, err
		}
	}
	return partial.CompressedToLayer(&gzipFileLayer{path: gzPath, sums: sums})
}

// gzipFile writes the file at src to dst gzip-compressed at the default
// level, as docker and buildkit compress layers, and returns the sums of
// both streams, computed on the way.
func gzipFile(dst io.Writer, src string) (layerSums, error) {
	in, err := os.Open(src)
	if err != nil {
		return layerSums{}, err
	}
	defer in.Close()
	compressed, uncompressed := sha256.New(), sha256.New()
	counter := &countWriter{}
	bw := bufio.NewWriterSize(io.MultiWriter(dst, compressed, counter), 1<<20)
	zw := gzip.NewWriter(bw)
	if _, err := io.Copy(io.MultiWriter(zw, uncompressed), in); err != nil {
		return layerSums{}, err
	}
	if err := zw.Close(); err != nil {
		return layerSums{}, err
	}
	if err := bw.Flush(); err != nil {
		return layerSums{}, err
	}
	return layerSums{Digest: sha256Hash(compressed), Size: counter.n, DiffID: sha256Hash(uncompressed)}, nil
}

// gzipSums reads the gzip file at path and returns its sums.
func gzipSums(path string) (layerSums, error) {
	f, err := os.Open(path)
	if err != nil {
		return layerSums{}, err
	}
	defer f.Close()
	compressed, uncompressed := sha256.New(), sha256.New()
	counter := &countWriter{}
	zr, err := gzip.NewReader(io.TeeReader(bufio.NewReaderSize(f, 1<<20), io.MultiWriter(compressed, counter)))
	if err != nil {
		return layerSums{}, fmt.Errorf("%s: %w", path, err)
	}
	// The reader reads gzip members up to the end of the file, so the
	// compressed sums cover all of it.
	if _, err := io.Copy(uncompressed, zr); err != nil {
		return layerSums{}, fmt.Errorf("%s: %w", path, err)
	}
	return layerSums{Digest: sha256Hash(compressed), Size: counter.n, DiffID: sha256Hash(uncompressed)}, nil
}

func sha256Hash(h hash.Hash) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

// writeJSONFile writes v as JSON to path through a temporary name.
func writeJSONFile(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "\t")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
