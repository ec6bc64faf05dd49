package packer

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// Unpack writes the flattened file system of img (whiteouts applied) into
// the existing directory dir. Every write goes through an os.Root, so no
// entry, whatever its name or the symbolic links before it, lands outside
// dir. Ownership is not applied; permission bits are, without set-id bits.
func Unpack(img v1.Image, dir string) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading the image's file system: %w", err)
		}
		if err := unpackEntry(root, tr, h); err != nil {
			return fmt.Errorf("unpacking %s: %w", h.Name, err)
		}
	}
}

func unpackEntry(root *os.Root, r io.Reader, h *tar.Header) error {
	name := path.Clean(strings.TrimPrefix(path.Clean("/"+h.Name), "/"))
	if name == "." || name == "" {
		return nil
	}
	if err := root.MkdirAll(path.Dir(name), 0o755); err != nil && path.Dir(name) != "." {
		return err
	}
	mode := fs.FileMode(h.Mode).Perm() | fs.FileMode(h.Mode)&fs.ModeSticky
	switch h.Typeflag {
	case tar.TypeDir:
		if err := root.Mkdir(name, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		return root.Chmod(name, mode|0o700)
	case tar.TypeSymlink:
		root.Remove(name)
		return root.Symlink(h.Linkname, name)
	case tar.TypeLink:
		target := path.Clean(strings.TrimPrefix(path.Clean("/"+h.Linkname), "/"))
		root.Remove(name)
		return root.Link(target, name)
	case tar.TypeReg:
		root.Remove(name)
		f, err := root.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode|0o600)
		if err != nil {
			return err
		}
		_, err = io.Copy(f, r)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		return root.Chmod(name, mode)
	default:
		return nil // devices, fifos: not needed to resolve programs
	}
}
