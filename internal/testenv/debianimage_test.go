package testenv

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// TestDebianImage: the image is one OCI gzip layer whose content is exactly
// the root's tar, and its config is what the caller gave, with Debian's
// PATH when the caller gave none; it is reproducible, cached, valid, and
// goes through an OCI layout unchanged.
func TestDebianImage(t *testing.T) {
	cases := []struct {
		name string
		spec DebianSpec
		cfg  v1.Config
		want v1.Config
		arch string
		vari string
		full bool // validate.Image reads every byte (the servers' layer: -Fast)
	}{{
		name: "amd64-servers",
		spec: DebianServers,
		cfg: v1.Config{
			Env:          []string{"LANG=C.UTF-8"},
			Entrypoint:   []string{"/usr/bin/redis-server"},
			Cmd:          []string{"--protected-mode", "no"},
			User:         "redis",
			WorkingDir:   "/var/lib/redis",
			ExposedPorts: map[string]struct{}{"6379/tcp": {}},
			Volumes:      map[string]struct{}{"/var/lib/redis": {}},
			Labels:       map[string]string{"org.opencontainers.image.title": "redis"},
			StopSignal:   "SIGTERM",
		},
		want: v1.Config{
			Env:          []string{DebianPath, "LANG=C.UTF-8"},
			Entrypoint:   []string{"/usr/bin/redis-server"},
			Cmd:          []string{"--protected-mode", "no"},
			User:         "redis",
			WorkingDir:   "/var/lib/redis",
			ExposedPorts: map[string]struct{}{"6379/tcp": {}},
			Volumes:      map[string]struct{}{"/var/lib/redis": {}},
			Labels:       map[string]string{"org.opencontainers.image.title": "redis"},
			StopSignal:   "SIGTERM",
		},
		arch: "amd64",
	}, {
		name: "arm64-redis",
		spec: DebianArm64Redis,
		cfg:  v1.Config{Env: []string{"PATH=/usr/bin:/bin"}, Cmd: []string{"redis-server"}, User: "999:999"},
		want: v1.Config{Env: []string{"PATH=/usr/bin:/bin"}, Cmd: []string{"redis-server"}, User: "999:999"},
		arch: "arm64",
		vari: "v8",
		full: true,
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tarPath := DebianRoot(t, tc.spec)
			start := time.Now()
			img := DebianImage(t, tc.spec, tc.cfg)
			t.Logf("DebianImage: %v", time.Since(start).Round(time.Millisecond))

			cf, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, cf.Config); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
			if cf.OS != "linux" || cf.Architecture != tc.arch || cf.Variant != tc.vari {
				t.Errorf("platform %s/%s/%s, want linux/%s/%s", cf.OS, cf.Architecture, cf.Variant, tc.arch, tc.vari)
			}
			if len(cf.History) != 1 || !strings.Contains(cf.History[0].CreatedBy, "mmdebstrap --variant="+tc.spec.Variant) {
				t.Errorf("history %+v, want one mmdebstrap entry", cf.History)
			}
			m, err := img.Manifest()
			if err != nil {
				t.Fatal(err)
			}
			if m.MediaType != types.OCIManifestSchema1 || m.Config.MediaType != types.OCIConfigJSON {
				t.Errorf("media types %s, %s; want OCI's", m.MediaType, m.Config.MediaType)
			}
			if len(m.Layers) != 1 || m.Layers[0].MediaType != types.OCILayer {
				t.Fatalf("layers %+v, want one %s", m.Layers, types.OCILayer)
			}
			if want := sha256File(t, tarPath); cf.RootFS.DiffIDs[0] != want {
				t.Errorf("the layer's diff ID is %v, want the root tar's sha256 %v", cf.RootFS.DiffIDs[0], want)
			}
			// The cached sums are the file's.
			sums, err := gzipSums(tarPath + ".gz")
			if err != nil {
				t.Fatal(err)
			}
			if m.Layers[0].Digest != sums.Digest || m.Layers[0].Size != sums.Size || cf.RootFS.DiffIDs[0] != sums.DiffID {
				t.Errorf("the layer is %v (%d bytes, diff ID %v); %s.gz is %+v", m.Layers[0].Digest, m.Layers[0].Size, cf.RootFS.DiffIDs[0], tarPath, sums)
			}
			opts := []validate.Option{validate.Fast}
			if tc.full {
				opts = nil
			}
			if err := validate.Image(img, opts...); err != nil {
				t.Errorf("validate.Image: %v", err)
			}

			// Reproducible, and the compressed layer is made once.
			gz, err := os.Stat(tarPath + ".gz")
			if err != nil {
				t.Fatal(err)
			}
			again := DebianImage(t, tc.spec, tc.cfg)
			if digest(t, again) != digest(t, img) {
				t.Errorf("a second DebianImage has digest %v, the first %v", digest(t, again), digest(t, img))
			}
			if gz2, err := os.Stat(tarPath + ".gz"); err != nil || !os.SameFile(gz, gz2) || !gz2.ModTime().Equal(gz.ModTime()) {
				t.Errorf("the second DebianImage rewrote %s.gz", tarPath)
			}
			t.Logf("%s.gz: %d MB, image %v", tarPath, gz.Size()>>20, digest(t, img))

			if !tc.full {
				return
			}
			dir := filepath.Join(t.TempDir(), "layout")
			WriteOCILayout(t, img, dir, "redis")
			p, err := layout.FromPath(dir)
			if err != nil {
				t.Fatal(err)
			}
			back, err := p.Image(digest(t, img))
			if err != nil {
				t.Fatalf("reading the image back from %s: %v", dir, err)
			}
			if err := validate.Image(back); err != nil {
				t.Errorf("validate.Image of the image read back: %v", err)
			}
		})
	}
}

func sha256File(t *testing.T, p string) v1.Hash {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
}
