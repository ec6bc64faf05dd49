package transfer

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Listing is one file of an image, as the last layer that touched it left it.
type Listing struct {
	Path   string      // absolute, clean
	Type   FileType    // TypeFile, TypeDir, TypeSymlink, TypeHardlink or TypeOther
	Mode   fs.FileMode // permission bits, with set-id and sticky bits
	Size   int64       // bytes, for regular files
	Target string      // link target, for symbolic and hard links
	UID    int
	GID    int
	Layer  int     // index of the layer, 0 the lowest
	Digest v1.Hash // that layer's (compressed) digest
}

// FileType is the kind of a file an image holds.
type FileType byte

// The kinds of file of a Listing.
const (
	TypeFile     FileType = iota
	TypeDir               // a directory
	TypeSymlink           // a symbolic link
	TypeHardlink          // a hard link to an earlier entry
	TypeOther             // devices, fifos
)

// List returns the files of the image at ref for platform p, sorted by path,
// with whiteouts applied: what a container of the image starts with.
func List(ctx context.Context, ref Ref, p v1.Platform, opts ...Option) ([]Listing, error) {
	img, err := LoadBase(ctx, ref, p, opts...)
	if err != nil {
		return nil, err
	}
	return ListImage(ctx, img)
}

// ListImage returns the files of img, as List does.
func ListImage(ctx context.Context, img v1.Image) ([]Listing, error) {
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	files := map[string]*Listing{}
	for i, l := range layers {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		d, err := l.Digest()
		if err != nil {
			return nil, err
		}
		if err := listLayer(files, l, i, d); err != nil {
			return nil, fmt.Errorf("reading layer %d (%s): %w", i, d, err)
		}
	}
	out := make([]Listing, 0, len(files))
	for _, f := range files {
		out = append(out, *f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// listLayer applies one layer to files: its whiteouts remove what lower
// layers put there, its entries replace them.
func listLayer(files map[string]*Listing, l v1.Layer, i int, d v1.Hash) error {
	rc, err := l.Uncompressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			// Read to the end, so that a layer whose bytes do not match
			// its digest or diff_id fails instead of being listed.
			_, err = io.Copy(io.Discard, rc)
			return err
		}
		if err != nil {
			return blobFault(rc, err)
		}
		p := path.Clean("/" + h.Name)
		dir, base := path.Dir(p), path.Base(p)
		switch {
		case base == whiteoutOpaque:
			for k, f := range files {
				if f.Layer < i && strings.HasPrefix(k, strings.TrimSuffix(dir, "/")+"/") {
					delete(files, k)
				}
			}
			continue
		case strings.HasPrefix(base, whiteoutPrefix):
			name, ok := whiteoutTarget(base)
			if !ok {
				continue // ".wh.." and ".wh...": no file
			}
			gone := path.Join(dir, name)
			for k := range files {
				if k == gone || strings.HasPrefix(k, gone+"/") {
					delete(files, k)
				}
			}
			continue
		case p == "/":
			continue
		}
		f := &Listing{Path: p, Mode: fs.FileMode(h.Mode).Perm(), UID: h.Uid, GID: h.Gid, Layer: i, Digest: d}
		if h.Mode&0o4000 != 0 {
			f.Mode |= fs.ModeSetuid
		}
		if h.Mode&0o2000 != 0 {
			f.Mode |= fs.ModeSetgid
		}
		if h.Mode&0o1000 != 0 {
			f.Mode |= fs.ModeSticky
		}
		switch h.Typeflag {
		case tar.TypeReg:
			f.Type, f.Size = TypeFile, h.Size
		case tar.TypeDir:
			f.Type = TypeDir
		case tar.TypeSymlink:
			f.Type, f.Target = TypeSymlink, h.Linkname
		case tar.TypeLink:
			f.Type, f.Target = TypeHardlink, path.Clean("/"+h.Linkname)
			if t := files[f.Target]; t != nil {
				f.Size = t.Size
			}
		default:
			f.Type = TypeOther
		}
		if old := files[p]; old != nil && old.Type == TypeDir && f.Type != TypeDir {
			for k := range files { // a file replacing a directory replaces its contents too
				if strings.HasPrefix(k, p+"/") {
					delete(files, k)
				}
			}
		}
		files[p] = f
	}
}

// String names the kind of file, as ls -l's first letter does.
func (t FileType) String() string {
	switch t {
	case TypeFile:
		return "file"
	case TypeDir:
		return "dir"
	case TypeSymlink:
		return "symlink"
	case TypeHardlink:
		return "hardlink"
	case TypeOther:
		return "other"
	}
	return fmt.Sprintf("FileType(%d)", int(t))
}
