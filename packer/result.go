package packer

import (
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

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
