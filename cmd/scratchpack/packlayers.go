package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/scratchpack/scratchpack/layercache"
	"github.com/scratchpack/scratchpack/packer"
	"github.com/scratchpack/scratchpack/transfer"
)

// layerHelp is the part of pack --help in help/pack-layers.txt.
var layerHelp = helpText("pack-layers")

// layerFlags are pack's flags about layers, compression, the cache and uploads.
func layerFlags() []cli.Flag {
	return append(cacheFlags(),
		&cli.StringFlag{Name: "compression", Value: "gzip", Usage: "compress layers with `ALGO`: gzip, zstd or none (see above)"},
		&cli.IntFlag{Name: "compression-level", Usage: "compression `LEVEL`: gzip 1-9, zstd 1-22 (1-2, 3-5, 6-9 and 10-22 each give the same output)",
			DefaultText: fmt.Sprintf("gzip %d, zstd %d", layercache.DefaultGzipLevel, layercache.DefaultZstdLevel)},
		formatFlag(),
		&cli.StringFlag{Name: "layers", Value: "one", Usage: "`HOW` to split the new files: one layer, or libs (the C library set below the program)"},
		&cli.IntFlag{Name: "upload-jobs", Value: 4, Usage: "upload `N` blobs at once when pushing"},
	)
}

// layerSpec sets spec's compression and layering from the flags.
func layerSpec(c *cli.Context, spec *packer.Spec) error {
	var err error
	if spec.Compression, err = layercache.ParseCompression(c.String("compression")); err != nil {
		return fmt.Errorf("--compression: %w", err)
	}
	spec.Level = c.Int("compression-level")
	if c.IsSet("compression-level") && spec.Level == 0 {
		return fmt.Errorf("--compression-level 0: want a level, or leave the flag out for the default")
	}
	if spec.Format, err = packer.ParseFormat(c.String("format")); err != nil {
		return fmt.Errorf("--format: %w", err)
	}
	if spec.Layers, err = packer.ParseLayering(c.String("layers")); err != nil {
		return fmt.Errorf("--layers: %w", err)
	}
	if c.Int("upload-jobs") < 1 {
		return fmt.Errorf("--upload-jobs %d: want at least 1", c.Int("upload-jobs"))
	}
	return checkCacheFlags(c)
}

// formatFlag chooses the manifest format of the images written, as
// skopeo's --format does.
func formatFlag() cli.Flag {
	return &cli.StringFlag{Name: "format", Value: "oci",
		Usage: "write images with `FORMAT` manifests: oci, or v2s2 (Docker's image manifest v2 schema 2 and manifest list; gzip or uncompressed layers only)"}
}

func checkCacheFlags(c *cli.Context) error {
	if c.Bool("no-cache") && c.IsSet("cache") {
		return fmt.Errorf("--cache and --no-cache: give one")
	}
	return nil
}

// packOptions are the packer options of the flags of pack, build and
// check: the layer cache (when cache is set), scratchpack's version for the
// image history, and how base images are read (images).
func packOptions(c *cli.Context, cache bool, images []transfer.Option) ([]packer.Option, error) {
	opts := []packer.Option{packer.WithVersion(c.App.Version), packer.WithImageOptions(images...)}
	if !cache {
		return opts, nil
	}
	co, err := cacheOption(c)
	if err != nil || co == nil {
		return opts, err
	}
	return append(opts, co), nil
}

// cacheFlags choose the layer cache; pack and build share them.
func cacheFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "cache", Usage: "keep layers in `DIR` (default $XDG_CACHE_HOME/scratchpack, else ~/.cache/scratchpack)"},
		&cli.BoolFlag{Name: "no-cache", Usage: "neither read nor write the layer cache"},
	}
}

// cacheOption opens the cache the flags name; nil with --no-cache.
func cacheOption(c *cli.Context) (packer.Option, error) {
	if c.Bool("no-cache") {
		return nil, nil
	}
	dir := c.String("cache")
	if dir == "" {
		base, err := os.UserCacheDir() // $XDG_CACHE_HOME, else $HOME/.cache
		if err != nil {
			return nil, fmt.Errorf("finding the cache directory: %w; give one with --cache DIR, or pack with --no-cache", err)
		}
		// A system user's HOME (/nonexistent) is not made for a cache.
		if home := os.Getenv("HOME"); os.Getenv("XDG_CACHE_HOME") == "" && home != "" {
			if _, err := os.Stat(home); err != nil {
				fmt.Fprintf(c.App.ErrWriter, "no layer cache: HOME=%s does not exist (give --cache DIR to keep layers between runs)\n", home)
				return nil, nil
			}
		}
		dir = filepath.Join(base, "scratchpack")
	}
	cache, err := layercache.OpenCache(dir)
	if err != nil {
		return nil, err
	}
	return packer.WithCache(cache), nil
}
