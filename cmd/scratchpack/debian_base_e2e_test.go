package main

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

// TestPackOnDebianBase packs the C++ hello onto a real Debian 12 base of
// 230 MB (redis, nginx, python3, curl; a docker save archive, its layer an
// uncompressed tar): every library comes from the base, the base's layer
// goes into the image as it is (its digest, its media type), the image
// runs, and the pack's peak memory stays under 128 MiB, for the base is
// read from an index of its layer, never unpacked nor held in memory.
func TestPackOnDebianBase(t *testing.T) {
	prog := testenv.Fixture(t, "hello-cc")
	img := testenv.DebianImage(t, testenv.DebianServers, v1.Config{})
	saved := filepath.Join(t.TempDir(), "debian.tar")
	testenv.WriteDockerSave(t, img, saved, "debian:servers")
	base := "docker-archive:" + saved

	out := filepath.Join(t.TempDir(), "out")
	cmd := exec.Command(bin, "pack", "--json", "--no-cache", "--base", base, "-o", "oci:"+out+":app", prog)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("pack onto %s: %v\n%s", base, err, stderr.String())
	}
	if rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss; rss >= 128<<10 {
		t.Errorf("pack onto the Debian base: peak RSS %d KiB, want under 128 MiB", rss)
	} else {
		t.Logf("pack onto the Debian base: peak RSS %d KiB", rss)
	}
	var res packResult
	if err := jsonUnmarshal(stdout.String(), &res); err != nil {
		t.Fatal(err)
	}
	if strings.Join(res.Files, " ") != "/app/hello-cc" || len(res.FromBase) != 5 {
		t.Errorf("added %q, from the base %q: want only the program, and its loader and 4 libraries from the base", res.Files, res.FromBase)
	}

	// The base's layer, as it is.
	wantLayer, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	diffID, err := wantLayer[0].DiffID()
	if err != nil {
		t.Fatal(err)
	}
	p, err := layout.FromPath(out)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	got, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	m, err := got.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if l := m.Layers[0]; l.Digest != diffID || l.MediaType != types.OCIUncompressedLayer {
		t.Errorf("the image's first layer is %s (%s), want the base's uncompressed tar %s", l.Digest, l.MediaType, diffID)
	}
	if len(m.Layers) != 2 {
		t.Errorf("the image has %d layers, want the base's and the program's", len(m.Layers))
	}
	if got, errOut, code := testenv.RunOCI(t, out, "app"); got != "hello from C++\n" || code != 0 {
		t.Errorf("the program on the Debian base printed %q, exit %d\n%s", got, code, errOut)
	}
	if out, errOut, code := run(t, nil, "check", "--no-cache", "--base", base, prog); code != checkRuns {
		t.Errorf("check on the Debian base: exit %d\n%s%s", code, out, errOut)
	}
}
