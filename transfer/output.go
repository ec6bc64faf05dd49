package transfer

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/scratchpack/scratchpack/layercache"
)

// Write writes img to every destination in dsts and returns its manifest
// digest. Local destinations are written under temporary names beside them
// and renamed into place only after every destination, registries included,
// was written: on an error or a cancellation of ctx nothing is left at a
// destination and an existing one is unchanged (only a failing rename, at the
// very end, can leave some destinations written and others not). Copies of
// blobs are not interrupted by ctx; pushes are. An oci: layout that exists is
// added to under an exclusive flock on its directory, replacing the
// descriptor with the same TAG; blobs no longer referenced stay, as skopeo
// leaves them.
func Write(ctx context.Context, img v1.Image, dsts []Ref, opts ...Option) (v1.Hash, error) {
	return writeOne(ctx, img, dsts, opts)
}

// WriteIndex is Write for a multi-platform index. Docker archives and FILE.tar
// hold single images, so they are refused.
func WriteIndex(ctx context.Context, idx v1.ImageIndex, dsts []Ref, opts ...Option) (v1.Hash, error) {
	return writeOne(ctx, idx, dsts, opts)
}

func writeOne(ctx context.Context, a mutate.Appendable, dsts []Ref, opts []Option) (v1.Hash, error) {
	hs, err := write(ctx, []Output{{Image: a, Dests: dsts}}, opts)
	if err != nil {
		return v1.Hash{}, err
	}
	return hs[0], nil
}

// Output is one image or index, and where WriteAll puts it.
type Output struct {
	Image mutate.Appendable // a v1.Image or a v1.ImageIndex
	Dests []Ref
}

// WriteAll writes each output's image or index to its destinations, as
// Write does, all at once: every image and tag that goes to one archive is
// written into it together (an OCI archive gets one index entry per tag,
// a docker archive one RepoTags entry), where writing them one by one would
// leave only the last. It returns the digest of each output's image.
func WriteAll(ctx context.Context, outs []Output, opts ...Option) ([]v1.Hash, error) {
	return write(ctx, outs, opts)
}

// write writes outs; each Image is a v1.Image or a v1.ImageIndex.
func write(ctx context.Context, outs []Output, opts []Option) ([]v1.Hash, error) {
	o, err := makeOptions(opts...)
	if err != nil {
		return nil, err
	}
	if o.progress != nil {
		defer close(o.progress)
	}
	hs := make([]v1.Hash, len(outs))
	for i, out := range outs {
		if len(out.Dests) == 0 {
			return nil, errors.New("writing image: no destination")
		}
		if hs[i], err = out.Image.Digest(); err != nil {
			return nil, fmt.Errorf("writing image: %w", err)
		}
		for _, d := range out.Dests {
			if err := checkDest(out.Image, d); err != nil {
				return nil, fmt.Errorf("writing %s: %w", d, err)
			}
		}
	}
	all, err := groupLocal(outs)
	if err != nil {
		return nil, err
	}
	for _, s := range all {
		if err := checkOutput(s.path, s.transport, o.force); err != nil {
			return nil, fmt.Errorf("writing %s: %w", s, err)
		}
	}
	defer func() {
		for _, s := range all {
			if s.tmp != "" {
				_ = os.RemoveAll(s.tmp)
			}
		}
	}()
	for _, s := range all {
		if err := stage(s, o); err != nil {
			return nil, fmt.Errorf("writing %s: %w", s, err)
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	for _, out := range outs {
		if err := pushAll(ctx, out.Image, out.Dests, o); err != nil {
			return nil, err
		}
	}
	for _, s := range all {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := s.commit(ctx); err != nil {
			return nil, fmt.Errorf("writing %s: %w", s, err)
		}
	}
	return hs, nil
}

func checkDest(a mutate.Appendable, d Ref) error {
	_, isIndex := a.(v1.ImageIndex)
	switch d.Transport {
	case Registry:
		if d.Name == nil {
			return fmt.Errorf("%w: registry destination without a name", ErrBadRef)
		}
		return nil
	case DockerDaemon:
		if _, ok := d.Name.(name.Tag); !ok {
			return fmt.Errorf("%w: a docker-daemon: destination needs NAME[:TAG]", ErrBadRef)
		}
		if isIndex {
			return fmt.Errorf("%w: a Docker daemon loads single images, not an index: choose one platform, or push the index with docker://", ErrBadRef)
		}
		return nil
	case Scratch:
		return fmt.Errorf("%w: scratch is a base, not a destination", ErrBadRef)
	case OCI, OCIArchive, DockerArchive, Tarball:
	default:
		return fmt.Errorf("%w: unknown transport %v", ErrBadRef, d.Transport)
	}
	if d.Path == "" {
		return fmt.Errorf("%w: no path", ErrBadRef)
	}
	if d.Transport == DockerArchive || d.Transport == Tarball {
		if isIndex {
			return fmt.Errorf("%w: a %s holds single images, not an index: choose one platform, or use oci-archive:", ErrBadRef, d.Transport)
		}
		if _, ok := d.Name.(name.Tag); d.Name != nil && !ok {
			return fmt.Errorf("%w: %s: a %s names its image NAME:TAG, not by digest", ErrBadRef, d.Name, d.Transport)
		}
	}
	return nil
}

// closeFile closes f, a file just written, and returns err or the close's
// error. It does not fsync: the rename that follows is what keeps an
// interrupted pack from leaving half a file, and, as with docker save, skopeo
// and crane, the kernel writes the file back on its own (an fsync cost 10 ms,
// a fifth of a small pack).
func closeFile(f *os.File, err error) error {
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// replace points lp's index.json at a, with the annotations ann, in place
// of the descriptor with the same ref.name (or, without one, the same
// digest). It is layout.ReplaceImage without writing the blobs again, which
// would open every layer once more.
func replace(lp layout.Path, a mutate.Appendable, ann map[string]string) error {
	h, err := a.Digest()
	if err != nil {
		return err
	}
	tag := ann[annotationRefName]
	same := func(d v1.Descriptor) bool {
		if tag != "" {
			return d.Annotations[annotationRefName] == tag
		}
		return d.Digest == h && d.Annotations[annotationRefName] == ""
	}
	ii, err := lp.ImageIndex()
	if err != nil {
		return err
	}
	add := mutate.IndexAddendum{Add: a, Descriptor: v1.Descriptor{Annotations: ann}}
	raw, err := mutate.AppendManifests(mutate.RemoveManifests(ii, same), add).RawManifest()
	if err != nil {
		return err
	}
	return lp.WriteFile("index.json", raw, 0o666)
}

// commitLayout makes the staged layout the layout dir, or adds it to dir if
// dir exists: blobs are content-addressed and moved in first, then index.json
// is replaced in one rename, all under an exclusive lock on dir. Each item
// replaces the descriptor with its tag.
func commitLayout(ctx context.Context, staging layout.Path, items []item, dir string, force bool) error {
	annotate := func() error {
		for _, it := range items {
			ann := map[string]string{}
			if it.dst.Tag != "" {
				ann[annotationRefName] = it.dst.Tag
			}
			if err := replace(staging, it.a, ann); err != nil {
				return err
			}
		}
		return nil
	}
	if err := annotate(); err != nil {
		return err
	}
	if err := checkOutput(dir, OCI, force); err != nil {
		return err
	}
	err := os.Rename(string(staging), dir) // refused if dir exists, even empty
	if !errors.Is(err, fs.ErrExist) {
		return err
	}
	unlock, err := layercache.LockDir(ctx, dir)
	if err != nil {
		return err
	}
	defer unlock()
	index := filepath.Join(dir, "index.json")
	raw, err := os.ReadFile(index)
	switch {
	case err == nil:
		err = os.WriteFile(filepath.Join(string(staging), "index.json"), raw, 0o666)
		if err == nil {
			err = annotate()
		}
	case errors.Is(err, fs.ErrNotExist):
		if entries, rerr := os.ReadDir(dir); rerr != nil || len(entries) > 0 {
			return fmt.Errorf("%s exists and is not an OCI image layout (no index.json): choose another directory or remove it", dir)
		}
		err = nil // an empty directory: fill it
	}
	if err == nil {
		err = ctx.Err()
	}
	if err == nil {
		err = moveBlobs(string(staging), dir)
	}
	if err != nil {
		return err
	}
	return os.Rename(filepath.Join(string(staging), "index.json"), index)
}

// moveBlobs moves every file of the layout src but index.json into the layout
// dst, keeping those dst has whole: with the same size and, for a blob, the
// digest that is its name (a blob damaged in dst is replaced, not reused).
func moveBlobs(src, dst string) error {
	return filepath.WalkDir(src, func(p string, de fs.DirEntry, err error) error {
		if err != nil || de.IsDir() || p == filepath.Join(src, "index.json") {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		to := filepath.Join(dst, rel)
		if have, err := os.Stat(to); err == nil {
			if want, err := de.Info(); err == nil && want.Size() == have.Size() && wholeBlob(to, rel) {
				return nil
			}
		}
		if err := os.MkdirAll(filepath.Dir(to), 0o777); err != nil {
			return err
		}
		return os.Rename(p, to)
	})
}

// tarLayout writes the files under dir, and extra, as a reproducible tar:
// entries sorted by name, owned by 0:0, modes 0755 and 0644, mtime 0.
func tarLayout(w io.Writer, dir string, extra map[string][]byte) error {
	files := map[string]string{}
	for n := range extra {
		files[n] = ""
	}
	err := filepath.WalkDir(dir, func(p string, de fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if de.IsDir() {
			rel += "/"
		}
		files[filepath.ToSlash(rel)] = p
		return err
	})
	if err != nil {
		return err
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	tw := tar.NewWriter(w)
	for _, n := range names {
		h := &tar.Header{Name: n, Typeflag: tar.TypeReg, Mode: 0o644, ModTime: time.Unix(0, 0)}
		if strings.HasSuffix(n, "/") {
			h.Typeflag, h.Mode = tar.TypeDir, 0o755
			if err := tw.WriteHeader(h); err != nil {
				return err
			}
			continue
		}
		if b, ok := extra[n]; ok {
			h.Size = int64(len(b))
			if err := tw.WriteHeader(h); err != nil {
				return err
			}
			if _, err := tw.Write(b); err != nil {
				return err
			}
		} else if err := tarFile(tw, h, files[n]); err != nil {
			return err
		}
	}
	return tw.Close()
}

// tarFile writes the file at path to tw with the header h.
func tarFile(tw *tar.Writer, h *tar.Header, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	h.Size = fi.Size()
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}

// wholeBlob reports whether the file p, at rel in a layout, is what its name
// says: blobs/sha256/HEX must hash to HEX. Other files are taken as they are.
func wholeBlob(p, rel string) bool {
	dir, hexName := filepath.Split(filepath.ToSlash(rel))
	if dir != "blobs/sha256/" {
		return true
	}
	got, err := layercache.FileDigest(p)
	return err == nil && got == hexName
}
