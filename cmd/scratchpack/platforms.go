package main

import (
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/urfave/cli/v2"

	"github.com/scratchpack/scratchpack/elfdeps"
	"github.com/scratchpack/scratchpack/packer"
	"github.com/scratchpack/scratchpack/transfer"
)

// platformProgram is one --platform OS/ARCH[/VARIANT]=PATH.
type platformProgram struct {
	platform v1.Platform
	program  string
}

// parsePlatforms reads the --platform values: either one OS/ARCH[/VARIANT]
// that the program must match, or OS/ARCH[/VARIANT]=PATH once per platform
// of an image index.
func parsePlatforms(vals []string) (check *v1.Platform, progs []platformProgram, err error) {
	for _, v := range vals {
		ps, prog, hasProg := strings.Cut(v, "=")
		p, err := parsePlatform(ps)
		if err != nil {
			return nil, nil, fmt.Errorf("--platform %q: %w", v, err)
		}
		switch {
		case hasProg && prog == "":
			return nil, nil, fmt.Errorf("--platform %q: no program after =; want OS/ARCH=PATH", v)
		case hasProg:
			progs = append(progs, platformProgram{*p, prog})
		case check != nil:
			return nil, nil, fmt.Errorf("--platform %q: give one OS/ARCH to check the program against, or OS/ARCH=PATH per platform to build an index", v)
		default:
			check = p
		}
	}
	seen := map[string]string{}
	for _, pp := range progs {
		if prev, ok := seen[pp.platform.String()]; ok {
			return nil, nil, fmt.Errorf("--platform %s is given twice (%s and %s): an image index holds one image per platform", pp.platform, prev, pp.program)
		}
		seen[pp.platform.String()] = pp.program
	}
	if check != nil && len(progs) > 0 {
		return nil, nil, fmt.Errorf("--platform %s: with --platform OS/ARCH=PATH every platform names its program", check)
	}
	return check, progs, nil
}

// parsePlatform parses OS/ARCH[/VARIANT]; the OS is required.
func parsePlatform(s string) (*v1.Platform, error) {
	if !strings.Contains(s, "/") {
		return nil, fmt.Errorf("want OS/ARCH[/VARIANT], e.g. linux/arm64 or linux/arm/v7")
	}
	return v1.ParsePlatform(s)
}

// sysroots are the --sysroot values: one DIR for every program, or
// OS/ARCH[/VARIANT]=DIR per platform.
type sysroots struct {
	all        string
	byPlatform []platformSysroot
}

type platformSysroot struct {
	platform v1.Platform
	dir      string
	used     bool
}

// parseSysroots reads the --sysroot values.
func parseSysroots(vals []string) (*sysroots, error) {
	s := &sysroots{}
	for _, v := range vals {
		ps, dir, ok := strings.Cut(v, "=")
		// linux/ARCH=DIR; anything else is a directory, even with "=" in it.
		if ok && strings.HasPrefix(ps, "linux/") {
			p, err := parsePlatform(ps)
			if err != nil {
				return nil, fmt.Errorf("--sysroot %q: %w", v, err)
			}
			if dir == "" {
				return nil, fmt.Errorf("--sysroot %q: no directory after =", v)
			}
			s.byPlatform = append(s.byPlatform, platformSysroot{platform: *p, dir: dir})
			continue
		}
		if s.all != "" {
			return nil, fmt.Errorf("--sysroot %q: give one DIR, or OS/ARCH=DIR per platform", v)
		}
		s.all = v
	}
	if s.all != "" && len(s.byPlatform) > 0 {
		return nil, fmt.Errorf("--sysroot %s: give one DIR for every program, or OS/ARCH=DIR per platform, not both", s.all)
	}
	return s, nil
}

// forPlatform returns the sysroot given for platform p, or "" for the
// default, and whether one was given. A sysroot without a variant applies
// to every variant.
func (s *sysroots) forPlatform(p v1.Platform) (dir string, given bool, err error) {
	if s.all != "" {
		return s.all, true, nil
	}
	var found *platformSysroot
	for i := range s.byPlatform {
		q := &s.byPlatform[i]
		if q.platform.OS != p.OS || q.platform.Architecture != p.Architecture ||
			(q.platform.Variant != "" && p.Variant != "" && q.platform.Variant != p.Variant) {
			continue
		}
		if found != nil {
			return "", false, fmt.Errorf("--sysroot: both %s and %s apply to %s", found.platform, q.platform, p)
		}
		found = q
	}
	if found == nil {
		return "", false, nil
	}
	found.used = true
	return found.dir, true, nil
}

// unused is an error naming a per-platform sysroot no program used.
func (s *sysroots) unused() error {
	for _, q := range s.byPlatform {
		if !q.used {
			return fmt.Errorf("--sysroot %s=%s: no program is for %s", q.platform, q.dir, q.platform)
		}
	}
	return nil
}

// programPlatform is the platform a program's ELF header says.
func programPlatform(file string) (v1.Platform, error) {
	rep, err := elfdeps.InspectFile(file)
	if err != nil {
		return v1.Platform{}, err
	}
	return v1.Platform{OS: "linux", Architecture: rep.Arch, Variant: rep.Variant}, nil
}

// singleDestinations refuses destinations that hold one image, for an index.
func singleDestinations(dsts []transfer.Ref) error {
	for _, d := range dsts {
		if d.Transport == transfer.DockerArchive || d.Transport == transfer.Tarball {
			kind := "docker-archive"
			if d.Transport == transfer.Tarball {
				kind = "FILE.tar (docker load's format)"
			}
			return fmt.Errorf("-o %s: a %s holds single images, not the multi-platform index that --platform OS/ARCH=PATH makes: "+
				"write oci:DIR, oci-archive:FILE or docker://REF, or pack one platform at a time", d, kind)
		}
	}
	return nil
}

// platformSpecs turns the common spec into one spec per platform, each with
// its program, requested platform and sysroot; index says whether they make
// a multi-platform index (--platform OS/ARCH=PATH) or one image.
func platformSpecs(c *cli.Context, spec packer.Spec, dsts []transfer.Ref) (specs []packer.Spec, index bool, err error) {
	_, progs, err := parsePlatforms(c.StringSlice("platform"))
	if err != nil {
		return nil, false, err
	}
	sr, err := parseSysroots(c.StringSlice("sysroot"))
	if err != nil {
		return nil, false, err
	}
	if len(progs) == 0 {
		if len(sr.byPlatform) > 0 {
			p := spec.Platform
			if p == nil {
				pp, err := programPlatform(spec.Program)
				if err != nil {
					return nil, false, err
				}
				p = &pp
			}
			if spec.Root, _, err = sr.forPlatform(*p); err != nil {
				return nil, false, err
			}
		} else {
			spec.Root = sr.all
		}
		return []packer.Spec{spec}, false, sr.unused()
	}
	if err := singleDestinations(dsts); err != nil {
		return nil, false, err
	}
	if sr.all != "" && len(progs) > 1 {
		return nil, false, fmt.Errorf("--sysroot %s: with several platforms, give --sysroot OS/ARCH=DIR for each platform that needs one", sr.all)
	}
	for _, pp := range progs {
		s := spec
		s.Program = pp.program
		p := pp.platform
		s.Platform = &p
		if s.Root, _, err = sr.forPlatform(p); err != nil {
			return nil, false, err
		}
		specs = append(specs, s)
	}
	return specs, true, sr.unused()
}
