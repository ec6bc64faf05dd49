package main

import (
	"archive/tar"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

// TestCorruptBase: a base whose layer's diff_id is all zeros (its bytes
// match its digest) is refused by pack --base, run and ls, each naming the
// base and the layer, where all three took it.
func TestCorruptBase(t *testing.T) {
	img, err := mutate.AppendLayers(empty.Image, testenv.Layer(t,
		testenv.TarEntry{Header: tar.Header{Name: "etc/hostname", Typeflag: tar.TypeReg, Mode: 0o644}, Data: "base\n"}))
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config.Entrypoint = []string{"/app/hello-c-static"}
	cf.RootFS.DiffIDs[0] = v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("0", 64)}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	layout := filepath.Join(t.TempDir(), "base")
	testenv.WriteOCILayout(t, img, layout, "v1")
	base := "oci:" + layout + ":v1"
	want := "layer 1 of " + base
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"pack", "--base", base, "-o", "oci:" + filepath.Join(t.TempDir(), "out"), testenv.Fixture(t, "hello-c-static")}, exitRegistry},
		{[]string{"ls", base}, exitRegistry},
		{[]string{"run", base}, exitRunFailed},
	} {
		t.Run(tc.args[0], func(t *testing.T) {
			_, errOut, code := run(t, nil, tc.args...)
			if code != tc.code || !strings.Contains(errOut, "diff_id") || !strings.Contains(errOut, want) {
				t.Errorf("exit %d, want %d naming %q and its diff_id:\n%s", code, tc.code, want, errOut)
			}
		})
	}
}

// TestMaxUnpack: a layer that unpacks to more than --max-unpack is refused
// by every command that reads images, slim too, naming the flag; without
// the flag the same image is read.
func TestMaxUnpack(t *testing.T) {
	img, err := mutate.AppendLayers(empty.Image, testenv.Layer(t,
		testenv.TarEntry{Header: tar.Header{Name: "app/big", Typeflag: tar.TypeReg, Mode: 0o644}, Data: strings.Repeat("x", 64<<10)}))
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config.Entrypoint = []string{"/app/big"}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	layout := filepath.Join(t.TempDir(), "image")
	testenv.WriteOCILayout(t, img, layout, "v1")
	image := "oci:" + layout + ":v1"
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"pack", []string{"pack", "--base", image, "-o", "oci:" + filepath.Join(t.TempDir(), "out"), testenv.Fixture(t, "hello-c-static")}},
		{"slim", []string{"slim", "-o", "oci:" + filepath.Join(t.TempDir(), "out"), image}},
		{"ls", []string{"ls", image}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{tc.args[0], "--max-unpack", "16KiB"}, tc.args[1:]...)
			_, errOut, code := run(t, nil, args...)
			if code != exitRegistry || !strings.Contains(errOut, "--max-unpack SIZE raises it") {
				t.Errorf("scratchpack %s: exit %d, want %d naming --max-unpack:\n%s", strings.Join(args, " "), code, exitRegistry, errOut)
			}
			if tc.name == "slim" {
				return // the image has no program to keep: it fails later, but not on the limit
			}
			if _, errOut, code := run(t, nil, tc.args...); code != 0 {
				t.Errorf("scratchpack %s: exit %d without --max-unpack:\n%s", strings.Join(tc.args, " "), code, errOut)
			}
		})
	}
}
