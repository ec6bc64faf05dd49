package transfer

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/scratchpack/scratchpack/layercache"
)

// item is one image (or index) going to one local destination.
type item struct {
	a   mutate.Appendable
	dst Ref
}

// staged is one local output path, with everything going to it in this
// write, written under a temporary name.
type staged struct {
	path      string // clean
	transport Transport
	items     []item
	tmp       string // removed when write returns, renamed or not
	commit    func(context.Context) error
}

func (s *staged) String() string { return s.items[0].dst.String() }

// groupLocal gathers the local destinations of outs by path, so that every
// image and tag going to one file is written into it together. One path
// written in two formats is an error.
func groupLocal(outs []Output) ([]*staged, error) {
	var groups []*staged
	byPath := map[string]*staged{}
	for _, out := range outs {
		for _, d := range out.Dests {
			if d.Transport == Registry || d.Transport == DockerDaemon {
				continue
			}
			p := filepath.Clean(d.Path)
			s := byPath[p]
			if s == nil {
				s = &staged{path: p, transport: d.Transport}
				byPath[p] = s
				groups = append(groups, s)
			}
			if s.transport != d.Transport {
				return nil, fmt.Errorf("%w: %s and %s write one file in two formats: give them different paths", ErrBadRef, s.items[0].dst, d)
			}
			s.items = append(s.items, item{out.Image, d})
		}
	}
	return groups, nil
}

// stage writes everything of s to a temporary name beside s.path and sets
// s.commit.
func stage(s *staged, o *options) error {
	if s.transport == DockerArchive {
		return stageDockerArchive(s, o.force)
	}
	dir, err := layercache.MkdirTemp(s.path)
	if err != nil {
		return err
	}
	if s.transport == OCI {
		s.tmp = dir
	} else {
		defer os.RemoveAll(dir)
	}
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	for _, it := range s.items {
		if err := layercache.PlaceBlobs(dir, it.a, o.ahead.For(s.path)); err != nil {
			return err
		}
		if idx, ok := it.a.(v1.ImageIndex); ok {
			err = lp.WriteIndex(idx)
		} else {
			err = lp.WriteImage(it.a.(v1.Image))
		}
		if err != nil {
			return err
		}
	}
	if s.transport == OCI {
		s.commit = func(ctx context.Context) error { return commitLayout(ctx, lp, s.items, s.path, o.force) }
		return nil
	}

	// An archive: the staged layout, with a docker manifest.json for FILE.tar, in one tar.
	extra := map[string][]byte{}
	var images []namedImage
	for _, it := range s.items {
		ann := map[string]string{}
		if it.dst.Tag != "" {
			ann[annotationRefName] = it.dst.Tag
		}
		if s.transport == Tarball {
			t, ok := it.dst.Name.(name.Tag)
			if ok {
				ann[annotationContainerdName] = containerdName(t)
				if it.dst.Tag == "" {
					ann[annotationRefName] = t.TagStr()
				}
			}
			images = addNamed(images, it.a.(v1.Image), it.dst.Name)
		}
		if err := replace(lp, it.a, ann); err != nil {
			return err
		}
	}
	if s.transport == Tarball {
		if extra["manifest.json"], err = dockerManifest(images); err != nil {
			return err
		}
	}
	f, err := layercache.CreateTemp(s.path)
	if err != nil {
		return err
	}
	s.tmp = f.Name()
	s.commit = s.renameChecked(o.force)
	return closeFile(f, tarLayout(f, dir, extra))
}

// stageDockerArchive writes the images of s as one `docker save` tar, each
// image once with all its NAME:TAGs.
func stageDockerArchive(s *staged, force bool) error {
	refs := map[name.Reference]v1.Image{}
	var untagged []v1.Image
	for _, it := range s.items {
		img := it.a.(v1.Image)
		if it.dst.Name == nil {
			untagged = append(untagged, img)
			continue
		}
		refs[it.dst.Name] = img
	}
	switch {
	case len(untagged) > 1 || len(untagged) == 1 && len(refs) > 0:
		return fmt.Errorf("%w: %s: a docker archive of several images names each: give every one NAME:TAG", ErrBadRef, s)
	case len(untagged) == 1:
		refs[nil] = untagged[0]
	}
	f, err := layercache.CreateTemp(s.path)
	if err != nil {
		return err
	}
	s.tmp = f.Name()
	s.commit = s.renameChecked(force)
	return closeFile(f, tarball.MultiRefWrite(refs, f))
}

// renameChecked renames the staged file over s.path, checking once more
// that what is there may be replaced.
func (s *staged) renameChecked(force bool) func(context.Context) error {
	return func(context.Context) error {
		if err := checkOutput(s.path, s.transport, force); err != nil {
			return err
		}
		return os.Rename(s.tmp, s.path)
	}
}

// namedImage is an image of a FILE.tar and the names `docker load` gives it.
type namedImage struct {
	img   v1.Image
	names []name.Reference
}

// addNamed adds img, under n if it is not nil, to images: an image already
// there gets one more name.
func addNamed(images []namedImage, img v1.Image, n name.Reference) []namedImage {
	for i := range images {
		if images[i].img == img {
			if n != nil {
				images[i].names = append(images[i].names, n)
			}
			return images
		}
	}
	ni := namedImage{img: img}
	if n != nil {
		ni.names = []name.Reference{n}
	}
	return append(images, ni)
}

// dockerManifest is the manifest.json with which `docker load` reads an OCI
// layout, as written by `docker save` since Docker 25.
func dockerManifest(images []namedImage) ([]byte, error) {
	var out tarball.Manifest
	for _, ni := range images {
		m, err := ni.img.Manifest()
		if err != nil {
			return nil, err
		}
		blob := func(h v1.Hash) string { return "blobs/" + h.Algorithm + "/" + h.Hex }
		d := tarball.Descriptor{Config: blob(m.Config.Digest)}
		for _, l := range m.Layers {
			d.Layers = append(d.Layers, blob(l.Digest))
		}
		for _, n := range ni.names {
			t, ok := n.(name.Tag)
			if !ok {
				continue
			}
			s := t.String()
			if t.TagStr() == name.DefaultTag && !strings.HasSuffix(s, ":"+name.DefaultTag) {
				s += ":" + name.DefaultTag // docker load needs an explicit tag
			}
			d.RepoTags = append(d.RepoTags, s)
		}
		out = append(out, d)
	}
	return json.Marshal(out)
}
