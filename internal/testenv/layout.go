package testenv

import (
	"archive/tar"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// refNameAnnotation names a tag in an OCI layout's index.json; umoci,
// skopeo and podman look tags up by it (oci:DIR:TAG).
const refNameAnnotation = "org.opencontainers.image.ref.name"

// WriteOCILayout adds img to the OCI image layout at dir, creating the
// layout if dir does not hold one, and tags it tag (no tag if empty).
func WriteOCILayout(t testing.TB, img v1.Image, dir, tag string) {
	t.Helper()
	p, err := layout.FromPath(dir)
	if err != nil {
		if p, err = layout.Write(dir, empty.Index); err != nil {
			t.Fatalf("creating OCI layout %s: %v", dir, err)
		}
	}
	var opts []layout.Option
	if tag != "" {
		opts = append(opts, layout.WithAnnotations(map[string]string{refNameAnnotation: tag}))
	}
	if err := p.AppendImage(img, opts...); err != nil {
		t.Fatalf("writing image to OCI layout %s: %v", dir, err)
	}
}

// WriteOCIArchive writes img, tagged tag, as an OCI layout in a tar file at
// path (what skopeo and podman call oci-archive:PATH:TAG).
func WriteOCIArchive(t testing.TB, img v1.Image, path, tag string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "layout")
	WriteOCILayout(t, img, dir, tag)
	if err := tarTree(dir, path); err != nil {
		t.Fatalf("writing OCI archive %s: %v", path, err)
	}
}

// WriteDockerArchive writes img as a `docker save`-style tarball at path
// that `docker load` names ref.
func WriteDockerArchive(t testing.TB, img v1.Image, path, ref string) {
	t.Helper()
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatalf("parsing tag %q: %v", ref, err)
	}
	if err := tarball.WriteToFile(path, tag, img); err != nil {
		t.Fatalf("writing docker archive %s: %v", path, err)
	}
}

// tarTree writes the regular files and directories under dir to a tar file
// at path, sorted, 0:0, mtime 0.
func tarTree(dir, path string) (err error) {
	var names []string
	if err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && p != dir {
			names = append(names, p)
		}
		return err
	}); err != nil {
		return err
	}
	sort.Strings(names)
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
	for _, p := range names {
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		hdr := &tar.Header{Name: filepath.ToSlash(rel), ModTime: time.Unix(0, 0)}
		switch {
		case fi.IsDir():
			hdr.Typeflag, hdr.Name, hdr.Mode = tar.TypeDir, hdr.Name+"/", 0o755
		case fi.Mode().IsRegular():
			hdr.Typeflag, hdr.Mode, hdr.Size = tar.TypeReg, 0o644, fi.Size()
		default:
			return fmt.Errorf("%s: unexpected file type %v in an OCI layout", p, fi.Mode().Type())
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if hdr.Typeflag == tar.TypeReg {
			if err := copyFileTo(tw, p); err != nil {
				return err
			}
		}
	}
	return tw.Close()
}

func copyFileTo(w io.Writer, p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}
