package packer

import (
	"context"
	"errors"
	"fmt"
	"sort"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// BuildIndex builds one image per spec, each for the platform of its
// program, and puts them in an OCI image index, ordered by platform so that
// the index digest does not depend on the order of specs. Two specs for the
// same platform are an error. The results are in the order of the index.
// As with Build, the caller removes the specs' WorkDir when done.
func BuildIndex(ctx context.Context, specs []Spec, opts ...Option) (v1.ImageIndex, []*Result, error) {
	if len(specs) == 0 {
		return nil, nil, errors.New("building an index: no programs given")
	}
	var results []*Result
	platforms := map[string]string{}
	for _, spec := range specs {
		res, err := Build(ctx, spec, opts...)
		if err != nil {
			return nil, nil, err
		}
		p, err := ResultPlatform(res)
		if err != nil {
			return nil, nil, err
		}
		if other, ok := platforms[p.String()]; ok {
			return nil, nil, fmt.Errorf("%s and %s are both for %s: an index holds one image per platform", other, spec.Program, p)
		}
		platforms[p.String()] = spec.Program
		results = append(results, res)
	}
	sort.SliceStable(results, func(i, j int) bool {
		pi, _ := ResultPlatform(results[i])
		pj, _ := ResultPlatform(results[j])
		return pi.String() < pj.String()
	})
	idx, err := MakeIndex(results)
	if err != nil {
		return nil, nil, err
	}
	return idx, results, nil
}

// MakeIndex puts the images of results, in that order, into an OCI image
// index whose descriptors carry each image's platform.
func MakeIndex(results []*Result) (v1.ImageIndex, error) {
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, res := range results {
		p, err := ResultPlatform(res)
		if err != nil {
			return nil, err
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        res.Image,
			Descriptor: v1.Descriptor{Platform: &p},
		})
	}
	return idx, nil
}

// ResultPlatform is the platform of a built image, from its configuration.
func ResultPlatform(res *Result) (v1.Platform, error) {
	cf, err := res.Image.ConfigFile()
	if err != nil {
		return v1.Platform{}, fmt.Errorf("reading the configuration of the image of %s: %w", res.Report.Path, err)
	}
	p := cf.Platform()
	if p == nil {
		return v1.Platform{}, fmt.Errorf("the image of %s names no platform", res.Report.Path)
	}
	return *p, nil
}
