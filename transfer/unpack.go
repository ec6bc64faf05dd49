package transfer

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"
)

// The whiteout names of the OCI image spec (layer.md, "Whiteouts").
const (
	whiteoutPrefix = ".wh."
	whiteoutOpaque = ".wh..wh..opq"
)

// maxLinkHops bounds symbolic-link resolution while unpacking, as the
// kernel's MAXSYMLINKS.
const maxLinkHops = 40

// UnpackOption configures Unpack.
type UnpackOption func(*unpackOptions)

type unpackOptions struct {
	owners  bool
	skipped func(name, why string)
}

// WithOwnership applies each entry's uid and gid (and keeps set-user-ID and
// set-group-ID bits, which only mean something together with an owner).
// It needs root. Without it every file belongs to the caller and set-id bits
// are dropped.
func WithOwnership() UnpackOption {
	return func(o *unpackOptions) { o.owners = true }
}

// WithSkipped has fn told about each layer entry that is not unpacked, and
// why: a name that leaves the root, a device node, a hard link to nothing.
func WithSkipped(fn func(name, why string)) UnpackOption {
	return func(o *unpackOptions) { o.skipped = fn }
}

// Unpack is UnpackContext without a context.
func Unpack(img v1.Image, dir string, opts ...UnpackOption) error {
	return UnpackContext(context.Background(), img, dir, opts...)
}

// UnpackContext writes the file system of img into the existing directory
// dir, applying the layers in order as a container runtime does: an entry
// replaces what lower layers (or earlier entries) put at its path, a
// whiteout .wh.NAME removes NAME, and an opaque marker .wh..wh..opq empties
// its directory of what lower layers put there.
//
// Nothing is written outside dir, whatever the layers say: names are taken
// relative to dir ("../" entries that would leave it are skipped), symbolic
// links met on the way to an entry are followed as a chroot would (an
// absolute target starts again at dir, ".." stops at dir), hard links are
// made to files inside dir only, and every file operation goes through an
// os.Root, which the kernel holds beneath dir. Device nodes and fifos are
// skipped. Permission bits are applied; ownership only WithOwnership.
func UnpackContext(ctx context.Context, img v1.Image, dir string, opts ...UnpackOption) error {
	var o unpackOptions
	for _, opt := range opts {
		opt(&o)
	}
	if o.skipped == nil {
		o.skipped = func(string, string) {}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	layers, err := img.Layers()
	if err != nil {
		return fmt.Errorf("reading the image's layers: %w", err)
	}
	u := &unpacker{ctx: ctx, root: root, o: o, dir: dir, room: freeSpace(dir)}
	for i, l := range layers {
		if err := u.layer(l); err != nil {
			d, _ := l.Digest()
			return fmt.Errorf("unpacking layer %d (%s): %w", i+1, d, err)
		}
	}
	return nil
}

// unpacker applies layers to a root.
type unpacker struct {
	ctx  context.Context
	root *os.Root
	o    unpackOptions
	// written holds the real paths (relative to the root) that the current
	// layer wrote, which its own whiteouts and opaque markers keep.
	written map[string]bool
	dir     string
	room    int64 // bytes that may still be written (see freeSpace)
}

// freeSpace is how much of the free space of dir's file system an unpack
// may fill: all but a twentieth, so that a gzip bomb stops before the disk
// is full, not when it is. Where statfs fails, no limit.
func freeSpace(dir string) int64 {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return math.MaxInt64
	}
	free := int64(st.Bavail) * st.Bsize
	return free - free/20
}

// spend takes n bytes of room for an entry, failing with ErrTooLarge when
// there is not that much.
func (u *unpacker) spend(n int64) error {
	const entry = 512 // what an inode and a directory entry cost, roughly
	n += entry
	if n > u.room {
		return fmt.Errorf("%w: the image needs more room than the %d bytes free in %s: free some there, or unpack elsewhere", ErrTooLarge, u.room, u.dir)
	}
	u.room -= n
	return nil
}

func (u *unpacker) layer(l v1.Layer) error {
	rc, err := l.Uncompressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	u.written = map[string]bool{}
	tr := tar.NewReader(rc)
	for {
		if err := u.ctx.Err(); err != nil {
			return err
		}
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("reading the layer: %w", blobFault(rc, err))
		}
		if err := u.entry(tr, h); err != nil {
			return fmt.Errorf("%q: %w", h.Name, blobFault(rc, err))
		}
	}
	// Read to the end, so that a layer whose bytes do not match its digest
	// fails verification instead of being used.
	if _, err := io.Copy(io.Discard, rc); err != nil {
		return fmt.Errorf("verifying the layer: %w", err)
	}
	return nil
}

// whiteoutTarget is the name a whiteout entry's base name .wh.NAME
// removes; ok is false for ".wh.." and ".wh...", which name the directory
// itself or its parent, and so no file a layer below could have put there.
func whiteoutTarget(base string) (string, bool) {
	name := strings.TrimPrefix(base, whiteoutPrefix)
	return name, name != "" && name != "." && name != ".."
}

// entryName turns a tar name into a clean relative name; ok is false if the
// name climbs out of the root (an absolute name is taken as relative).
func entryName(name string) (string, bool) {
	rel := path.Clean(strings.TrimLeft(name, "/"))
	if rel == ".." || strings.HasPrefix(rel, "../") {
		return "", false
	}
	return rel, true
}

func (u *unpacker) entry(r io.Reader, h *tar.Header) error {
	name, ok := entryName(h.Name)
	if !ok {
		u.o.skipped(h.Name, "its name leaves the root")
		return nil
	}
	if name == "." {
		if h.Typeflag == tar.TypeDir {
			return u.root.Chmod(".", u.dirMode(h))
		}
		return nil
	}
	dir, base := path.Split(name)
	if base == whiteoutOpaque {
		parent, err := u.resolve(dir, false)
		if err != nil {
			return nil // no directory there: nothing to hide
		}
		return u.opaque(parent)
	}
	if strings.HasPrefix(base, whiteoutPrefix) {
		if _, ok := whiteoutTarget(base); !ok {
			u.o.skipped(h.Name, "a whiteout of . or .. names no file")
			return nil
		}
		parent, err := u.resolve(dir, false)
		if err != nil {
			return nil // no directory there: nothing to remove
		}
		target := join(parent, strings.TrimPrefix(base, whiteoutPrefix))
		if u.written[target] {
			return nil // whiteouts hide lower layers only
		}
		return u.root.RemoveAll(target)
	}
	switch h.Typeflag {
	case tar.TypeDir, tar.TypeReg, tar.TypeSymlink, tar.TypeLink:
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		u.o.skipped(h.Name, "device nodes and fifos are not created; the runtime provides /dev")
		return nil
	default:
		u.o.skipped(h.Name, fmt.Sprintf("tar entry type %q is not supported", h.Typeflag))
		return nil
	}
	parent, err := u.resolve(dir, true)
	if err != nil {
		u.o.skipped(h.Name, fmt.Sprintf("its directory cannot be made: %v", err))
		return nil
	}
	target := join(parent, base)
	if target == "." {
		return nil // the name resolved to the root itself ("a/.." forms)
	}
	fi, err := u.root.Lstat(target)
	exists := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if h.Typeflag == tar.TypeDir && exists && fi.IsDir() {
		u.written[target] = true
		return u.finish(target, h, u.dirMode(h))
	}
	var src string
	if h.Typeflag == tar.TypeLink {
		// Check the link's file before removing anything: a hard link to
		// itself, or to nothing, is skipped.
		if src, err = u.linkSource(h.Linkname); err != nil {
			u.o.skipped(h.Name, fmt.Sprintf("hard link to %s: %v", h.Linkname, err))
			return nil
		}
		if src == target {
			return nil
		}
	}
	if exists {
		if err := u.root.RemoveAll(target); err != nil {
			return err
		}
	}
	u.written[target] = true
	size := int64(0)
	if h.Typeflag == tar.TypeReg {
		size = h.Size
	}
	if err := u.spend(size); err != nil {
		return err
	}
	switch h.Typeflag {
	case tar.TypeDir:
		if err := u.root.Mkdir(target, 0o700); err != nil {
			return err
		}
		return u.finish(target, h, u.dirMode(h))
	case tar.TypeSymlink:
		if err := u.root.Symlink(h.Linkname, target); err != nil {
			return err
		}
		if u.o.owners {
			return u.root.Lchown(target, h.Uid, h.Gid)
		}
		return nil
	case tar.TypeLink:
		return u.root.Link(src, target)
	}
	f, err := u.root.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
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
	return u.finish(target, h, u.fileMode(h))
}

// finish sets the owner (WithOwnership) and then the mode, since chown
// clears set-id bits.
func (u *unpacker) finish(target string, h *tar.Header, mode fs.FileMode) error {
	if u.o.owners {
		if err := u.root.Lchown(target, h.Uid, h.Gid); err != nil {
			return err
		}
	}
	return u.root.Chmod(target, mode)
}

// fileMode is the entry's permission bits, with the sticky bit, and set-id
// bits only WithOwnership.
func (u *unpacker) fileMode(h *tar.Header) fs.FileMode {
	m := h.FileInfo().Mode()
	keep := fs.ModePerm | fs.ModeSticky
	if u.o.owners {
		keep |= fs.ModeSetuid | fs.ModeSetgid
	}
	return m & keep
}

// dirMode is fileMode for a directory, which the caller must be able to
// fill: without ownership it stays writable by its owner, the caller.
func (u *unpacker) dirMode(h *tar.Header) fs.FileMode {
	m := u.fileMode(h)
	if !u.o.owners {
		m |= 0o700
	}
	return m
}

// linkSource resolves a hard link's target (a name in the archive, relative
// to the root) to an existing non-directory.
func (u *unpacker) linkSource(linkname string) (string, error) {
	name, ok := entryName(linkname)
	if !ok || name == "." {
		return "", errors.New("it is not a file inside the root")
	}
	dir, base := path.Split(name)
	parent, err := u.resolve(dir, false)
	if err != nil {
		return "", err
	}
	src := join(parent, base)
	fi, err := u.root.Lstat(src)
	if err != nil {
		return "", err
	}
	if fi.IsDir() {
		return "", errors.New("it is a directory")
	}
	return src, nil
}

// resolve follows the directory path p from the root, component by
// component, as a chroot would: symbolic links are read and followed with
// an absolute target starting again at the root, and ".." stops at the
// root. With create, missing directories are made (mode 0755) and every
// directory passed is marked as written by the current layer. The result
// names a real directory, relative to the root ("." for the root).
func (u *unpacker) resolve(p string, create bool) (string, error) {
	resolved := "."
	rest := strings.Split(p, "/")
	hops := 0
	for len(rest) > 0 {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			resolved = path.Dir(resolved)
			continue
		}
		next := join(resolved, c)
		fi, err := u.root.Lstat(next)
		if create && errors.Is(err, fs.ErrNotExist) {
			if err := u.root.Mkdir(next, 0o755); err != nil {
				return "", err
			}
			resolved = next
			u.written[next] = true
			continue
		}
		if err != nil {
			return "", err
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			if hops++; hops > maxLinkHops {
				return "", fmt.Errorf("%s: too many levels of symbolic links", p)
			}
			target, err := u.root.Readlink(next)
			if err != nil {
				return "", err
			}
			if path.IsAbs(target) {
				resolved = "."
			}
			rest = append(strings.Split(target, "/"), rest...)
		case fi.IsDir():
			resolved = next
			if create {
				// The layer puts something beneath it: an opaque marker
				// of an ancestor keeps it, and empties it of the rest.
				u.written[next] = true
			}
		default:
			return "", fmt.Errorf("%s is not a directory", next)
		}
	}
	return resolved, nil
}

// opaque removes from dir everything the current layer did not write.
func (u *unpacker) opaque(dir string) error {
	f, err := u.root.Open(dir)
	if err != nil {
		return err
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return err
	}
	for _, n := range names {
		p := join(dir, n)
		if !u.written[p] {
			if err := u.root.RemoveAll(p); err != nil {
				return err
			}
			continue
		}
		if fi, err := u.root.Lstat(p); err == nil && fi.IsDir() {
			if err := u.opaque(p); err != nil {
				return err
			}
		}
	}
	return nil
}

// join joins a resolved directory ("." for the root) and a name.
func join(dir, name string) string {
	if dir == "." || dir == "" {
		return name
	}
	return dir + "/" + name
}
