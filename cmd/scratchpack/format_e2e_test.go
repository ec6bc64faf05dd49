package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

// TestPushFormatV2S2: --format v2s2 pushes Docker v2s2 manifests (and a
// manifest list for several platforms) that skopeo reads and Docker
// pulls and runs; zstd layers and OCI layouts are refused with it.
func TestPushFormatV2S2(t *testing.T) {
	prog := testenv.Fixture(t, "hello-cc")
	reg := testenv.Registry(t)
	ref := reg.Addr + "/v2s2/hello:1"
	digest := strings.TrimSpace(mustRun(t, nil, "pack", "--format", "v2s2", "-o", "docker://"+ref, prog))

	sk := skopeo(t)
	raw := runTool(t, sk, "inspect", "--raw", "--tls-verify=false", "docker://"+ref)
	var m v1.Manifest
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		t.Fatalf("skopeo inspect --raw: %v\n%s", err, raw)
	}
	if m.MediaType != types.DockerManifestSchema2 || m.Config.MediaType != types.DockerConfigJSON || len(m.Layers) == 0 {
		t.Fatalf("want a Docker v2s2 manifest, got:\n%s", raw)
	}
	for _, l := range m.Layers {
		if l.MediaType != types.DockerLayer {
			t.Errorf("layer %s is %s, want %s", l.Digest, l.MediaType, types.DockerLayer)
		}
	}
	if out := runTool(t, sk, "inspect", "--tls-verify=false", "docker://"+ref); !strings.Contains(out, digest) {
		t.Errorf("skopeo inspect does not show %s:\n%s", digest, out)
	}

	t.Run("index", func(t *testing.T) {
		arm64 := testenv.Fixture(t, "hello-cc-arm64")
		ref := reg.Addr + "/v2s2/multi:1"
		mustRun(t, nil, "pack", "--format", "v2s2", "--platform", "linux/arm64="+arm64, "--platform", "linux/amd64="+prog,
			"--dest", "/app/hello", "-o", "docker://"+ref)
		raw := runTool(t, sk, "inspect", "--raw", "--tls-verify=false", "docker://"+ref)
		var im v1.IndexManifest
		if err := json.Unmarshal([]byte(raw), &im); err != nil {
			t.Fatalf("skopeo inspect --raw: %v\n%s", err, raw)
		}
		if im.MediaType != types.DockerManifestList || len(im.Manifests) != 2 {
			t.Fatalf("want a Docker manifest list of two, got:\n%s", raw)
		}
		for _, d := range im.Manifests {
			if d.MediaType != types.DockerManifestSchema2 || d.Platform == nil {
				t.Errorf("manifest list entry %s: %s, platform %v", d.Digest, d.MediaType, d.Platform)
			}
		}
	})

	t.Run("refused", func(t *testing.T) {
		dir := t.TempDir()
		for _, args := range [][]string{
			{"--compression", "zstd", "-o", "docker://" + reg.Addr + "/v2s2/zstd:1"},
			{"-o", "oci:" + filepath.Join(dir, "layout")},
			{"-o", "oci-archive:" + filepath.Join(dir, "o.tar")},
		} {
			_, errOut, code := run(t, nil, append(append([]string{"pack", "--format", "v2s2"}, args...), prog)...)
			if code != exitBadInput || !strings.Contains(errOut, "--format") {
				t.Errorf("pack --format v2s2 %s: exit %d (want %d) naming --format:\n%s", strings.Join(args, " "), code, exitBadInput, errOut)
			}
		}
	})

	d := testenv.Dockerd(t)
	if out, err := d.Docker(t, "pull", ref); err != nil {
		t.Fatalf("docker pull %s: %v\n%s", ref, err, out)
	}
	if out, err := d.Docker(t, "run", "--rm", "--network", "none", ref); err != nil || out != "hello from C++\n" {
		t.Errorf("docker run %s: %q %v", ref, out, err)
	}
}
