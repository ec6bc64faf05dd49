package slim

import (
	"context"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/scratchpack/scratchpack/internal/testenv"
	"github.com/scratchpack/scratchpack/transfer"
)

// TestIndex: a multi-platform image (redis-server for amd64 and arm64)
// slims into an index of the slim images, each made from its own
// manifest; Spec.Platforms picks one of them, which is written alone.
func TestIndex(t *testing.T) {
	cfg := v1.Config{Entrypoint: []string{"redis-server"}}
	amd := testenv.DebianImage(t, testenv.DebianServers, cfg)
	arm := testenv.DebianImage(t, testenv.DebianArm64Redis, cfg)
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}}})
	dir := t.TempDir()
	if _, err := layout.Write(filepath.Join(dir, "in"), idx); err != nil {
		t.Fatal(err)
	}
	in := mustRef(t, "oci:"+filepath.Join(dir, "in"))
	for _, tc := range []struct {
		name      string
		platforms []v1.Platform
		want      []string
		index     bool
	}{
		{"every platform", nil, []string{"linux/amd64", "linux/arm64/v8"}, true},
		{"one picked", []v1.Platform{{OS: "linux", Architecture: "arm64"}}, []string{"linux/arm64/v8"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			dst, err := transfer.ParseDest("oci:" + out + ":slim")
			if err != nil {
				t.Fatal(err)
			}
			res, err := Run(context.Background(), Spec{Image: in, Platforms: tc.platforms, WorkDir: t.TempDir()}, Options{Outputs: []transfer.Ref{dst}})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range res.Reports {
				got = append(got, r.Platform)
				t.Logf("%s: from %s, %d -> %d bytes compressed", r.Platform, r.From, r.Original.Compressed, r.Slim.Compressed)
			}
			if len(got) != len(tc.want) || got[0] != tc.want[0] || got[len(got)-1] != tc.want[len(tc.want)-1] {
				t.Errorf("reports for %v, want %v", got, tc.want)
			}
			if (res.Index != nil) != tc.index {
				t.Errorf("index written: %t, want %t", res.Index != nil, tc.index)
			}
			loaded, err := transfer.Load(context.Background(), mustRef(t, "oci:"+out+":slim"))
			if err != nil {
				t.Fatal(err)
			}
			if _, isIndex := loaded.(v1.ImageIndex); isIndex != tc.index {
				t.Errorf("read back a %T", loaded)
			}
		})
	}
}
