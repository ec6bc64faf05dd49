package packer

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/scratchpack/scratchpack/transfer"
)

// makeImage puts the layers on the base and sets the configuration; version
// is scratchpack's, for the history.
func makeImage(base v1.Image, layers []NewLayer, spec Spec, p v1.Platform, o *options) (v1.Image, error) {
	version := o.version
	cf, err := base.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading the configuration of base %s: %w", spec.Base, err)
	}
	cf = cf.DeepCopy()
	created := v1.Time{Time: spec.Created}
	var adds []mutate.Addendum
	for _, l := range layers {
		adds = append(adds, mutate.Addendum{
			Layer: l.Layer,
			History: v1.History{
				Created:   created,
				CreatedBy: fmt.Sprintf("scratchpack %s pack %s", version, path.Base(spec.Program)),
				Comment:   l.Comment,
			},
		})
	}
	img, err := mutate.Append(base, adds...)
	if err != nil {
		return nil, err
	}
	c := cf.Config
	c.Entrypoint = spec.Config.Entrypoint
	if c.Entrypoint == nil {
		c.Entrypoint = []string{spec.Dest}
	}
	c.Cmd = spec.Config.Cmd
	c.Env = mergeEnv(c.Env, spec.Config.Env)
	if spec.Config.WorkingDir != "" {
		c.WorkingDir = spec.Config.WorkingDir
	}
	c.User = userSpec(spec.Config.User)
	c.Labels = mergeMap(c.Labels, spec.Config.Labels)
	for _, port := range spec.Config.Expose {
		if c.ExposedPorts == nil {
			c.ExposedPorts = map[string]struct{}{}
		}
		if !strings.Contains(port, "/") {
			port += "/tcp"
		}
		c.ExposedPorts[port] = struct{}{}
	}
	if img, err = mutate.Config(img, c); err != nil {
		return nil, err
	}
	cf2, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf2 = cf2.DeepCopy()
	cf2.Created, cf2.OS, cf2.Architecture, cf2.Variant = created, p.OS, p.Architecture, p.Variant
	cf2.Author = ""
	for _, fn := range o.config {
		diffs := append([]v1.Hash(nil), cf2.RootFS.DiffIDs...)
		if err := fn(cf2); err != nil {
			return nil, err
		}
		if !slices.Equal(diffs, cf2.RootFS.DiffIDs) {
			return nil, errors.New("WithImageConfig: the function changed the layers' diff IDs")
		}
	}
	if img, err = mutate.ConfigFile(img, cf2); err != nil {
		return nil, err
	}
	anns := map[string]string{
		"org.opencontainers.image.created": spec.Created.Format("2006-01-02T15:04:05Z"),
		"org.opencontainers.image.title":   path.Base(spec.Dest),
	}
	// A base's name goes in only where it means the same on every machine:
	// a registry reference, or scratch. A file or layout path would make
	// the same base bytes in two places give two image digests; its
	// digest says which base it was.
	switch spec.Base.Transport {
	case transfer.Scratch, transfer.Registry:
		anns["org.opencontainers.image.base.name"] = spec.Base.String()
	}
	if spec.Base.Transport != transfer.Scratch {
		if d, err := base.Digest(); err == nil {
			anns["org.opencontainers.image.base.digest"] = d.String()
		}
	}
	for k, v := range spec.Config.Annotations {
		anns[k] = v
	}
	return mutate.Annotations(img, anns).(v1.Image), nil
}

func userSpec(u string) string {
	switch u {
	case "", "root":
		return ""
	case "nonroot":
		return fmt.Sprintf("%d:%d", nonrootUID, nonrootUID)
	}
	return u
}

// mergeEnv sets each K=V of add in env, replacing an existing K.
func mergeEnv(env, add []string) []string {
	out := append([]string(nil), env...)
	for _, kv := range add {
		k, _, _ := strings.Cut(kv, "=")
		replaced := false
		for i, old := range out {
			if ok, _, _ := strings.Cut(old, "="); ok == k {
				out[i], replaced = kv, true
			}
		}
		if !replaced {
			out = append(out, kv)
		}
	}
	if len(out) == 0 {
		out = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	}
	return out
}

func mergeMap(m, add map[string]string) map[string]string {
	if len(add) == 0 {
		return m
	}
	out := map[string]string{}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out[k] = m[k]
	}
	for k, v := range add {
		out[k] = v
	}
	return out
}
