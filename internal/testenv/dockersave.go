package testenv

import (
	"archive/tar"
	"encoding/json"
	"io"
	"os"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// WriteDockerSave writes img as `docker save` wrote images before Docker
// 25 (and as Debian 12's docker.io still does): manifest.json naming it
// ref, its config as HEX.json, and each layer uncompressed, as
// DIFFID/layer.tar. (WriteDockerArchive writes gzip layers, as
// go-containerregistry does.)
func WriteDockerSave(t testing.TB, img v1.Image, path, ref string) {
	t.Helper()
	if err := writeDockerSave(img, path, ref); err != nil {
		t.Fatalf("writing docker save archive %s: %v", path, err)
	}
}

func writeDockerSave(img v1.Image, path, ref string) (err error) {
	raw, err := img.RawConfigFile()
	if err != nil {
		return err
	}
	cfgName, err := img.ConfigName()
	if err != nil {
		return err
	}
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	tw := tar.NewWriter(f)
	d := tarball.Descriptor{Config: cfgName.Hex + ".json", RepoTags: []string{ref}}
	for _, l := range layers {
		diffID, err := l.DiffID()
		if err != nil {
			return err
		}
		name := diffID.Hex + "/layer.tar"
		d.Layers = append(d.Layers, name)
		size, err := uncompressedSize(l)
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: diffID.Hex + "/", Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: size}); err != nil {
			return err
		}
		rc, err := l.Uncompressed()
		if err != nil {
			return err
		}
		_, err = io.Copy(tw, rc)
		rc.Close()
		if err != nil {
			return err
		}
	}
	manifest, err := json.Marshal(tarball.Manifest{d})
	if err != nil {
		return err
	}
	for _, e := range []struct {
		name string
		data []byte
	}{{d.Config, raw}, {"manifest.json", manifest}} {
		if err := tw.WriteHeader(&tar.Header{Name: e.name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(e.data))}); err != nil {
			return err
		}
		if _, err := tw.Write(e.data); err != nil {
			return err
		}
	}
	return tw.Close()
}

// uncompressedSize is the size of l's tar, read to count it.
func uncompressedSize(l v1.Layer) (int64, error) {
	rc, err := l.Uncompressed()
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	return io.Copy(io.Discard, rc)
}
