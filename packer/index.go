package packer

import (
	"context"
	"errors"
	"fmt"
	"sort"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// ErrDuplicatePlatform is wrapped when two programs of an index are for
// the same platform.
var ErrDuplicatePlatform = errors.New("two programs for one platform")

// IndexResult is a multi-platform image and how each of its images was made.
type IndexResult struct {
	Index   v1.ImageIndex
	Results []*Result // one per platform, in the index's order
}

// BuildIndex builds one image per spec with Build (each checked against its
// program's ELF header, each base resolved for that platform) and puts them
// in one OCI image index whose descriptors carry each image's platform. The
// manifests are sorted by platform, so the order of specs does not change
// the digest. Two programs of the same platform are an error.
func BuildIndex(ctx context.Context, specs []Spec, opts ...Option) (*IndexResult, error) {
	if len(specs) == 0 {
		return nil, fmt.Errorf("building an image index: no programs")
	}
	out := &IndexResult{}
	byPlatform := map[string]*Result{}
	for _, spec := range specs {
		res, err := Build(ctx, spec, opts...)
		if err != nil {
			return nil, err
		}
		p, err := imagePlatform(res.Image)
		if err != nil {
			return nil, err
		}
		if prev, ok := byPlatform[p.String()]; ok {
			return nil, fmt.Errorf("%w: %s and %s are both %s programs: an image index holds one image per platform",
				ErrDuplicatePlatform, prev.Report.Path, res.Report.Path, p)
		}
		byPlatform[p.String()] = res
		out.Results = append(out.Results, res)
	}
	sort.Slice(out.Results, func(i, j int) bool {
		pi, _ := imagePlatform(out.Results[i].Image)
		pj, _ := imagePlatform(out.Results[j].Image)
		return pi.String() < pj.String()
	})
	adds := make([]mutate.IndexAddendum, 0, len(out.Results))
	for _, res := range out.Results {
		p, err := imagePlatform(res.Image)
		if err != nil {
			return nil, err
		}
		adds = append(adds, mutate.IndexAddendum{Add: res.Image, Descriptor: v1.Descriptor{Platform: &p}})
	}
	out.Index = mutate.AppendManifests(mutate.IndexMediaType(empty.Index, indexType(specs[0].Format)), adds...)
	return out, nil
}

// imagePlatform is the platform an image's configuration names.
func imagePlatform(img v1.Image) (v1.Platform, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return v1.Platform{}, fmt.Errorf("reading the image configuration: %w", err)
	}
	p := cf.Platform()
	if p == nil {
		return v1.Platform{}, fmt.Errorf("the image configuration names no platform")
	}
	return *p, nil
}
