package config

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/scratchpack/scratchpack/layercache"
	"github.com/scratchpack/scratchpack/packer"
	"github.com/scratchpack/scratchpack/transfer"
)

// Target is what to build for one image: packer specs (one per platform)
// and where to write the result. Created and WorkDir are left for the
// caller to set.
type Target struct {
	Name    string
	Specs   []packer.Spec  // one per platform, in the order the file lists them
	Index   bool           // platforms: was used: the images go into an index
	Outputs []transfer.Ref // the destinations, then the same under each of tags
	SBOM    string         // where to write the SPDX document; "" for none
}

var imageName = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
})

// target checks an image's settings and turns them into a Target. Relative
// paths are taken from dir, the configuration file's directory.
func target(im *Image, dir string) (*Target, Errors) {
	var errs Errors
	bad := func(key, format string, args ...any) {
		line := im.lines[key]
		if line == 0 {
			line = im.Line
		}
		errs = append(errs, &Error{Line: line, Msg: fmt.Sprintf("image %s: %s: %s", im.Name, key, fmt.Sprintf(format, args...))})
	}
	t := &Target{Name: im.Name, SBOM: local(dir, im.SBOM), Index: len(im.Platforms.Keys) > 0}
	if !imageName().MatchString(im.Name) {
		errs = append(errs, &Error{Line: im.Line, Msg: fmt.Sprintf("image name %q: use letters, digits, . _ and -", im.Name)})
	}

	spec := packer.Spec{
		Dest:        im.Dest,
		Root:        local(dir, im.Sysroot),
		LibraryPath: locals(dir, im.LibraryPath),
		Base:        transfer.Ref{Transport: transfer.Scratch},
		Config: packer.Config{
			Entrypoint:  im.Entrypoint,
			Cmd:         im.Cmd,
			Env:         im.Env.Pairs(),
			WorkingDir:  im.Workdir,
			User:        im.User,
			Labels:      im.Labels.Map(),
			Annotations: im.Annotations.Map(),
			Expose:      im.Expose,
		},
		KeepSUID: im.KeepSUID,
		Runtime: packer.RuntimeSpec{
			NoExtras:    im.RuntimeExtras != nil && !*im.RuntimeExtras,
			IncludeLibs: im.IncludeLib,
			Include:     im.Include,
			CACerts:     switchOf(im.CACerts),
			CABundle:    local(dir, im.CABundle),
			TZData:      switchOf(im.TZData),
		},
	}
	if im.Compression != "" {
		c, err := layercache.ParseCompression(im.Compression)
		if err != nil {
			bad("compression", "%v", err)
		}
		spec.Compression = c
	}
	spec.Level = im.CompressionLevel
	if im.Layers != "" {
		l, err := packer.ParseLayering(im.Layers)
		if err != nil {
			bad("layers", "%v", err)
		}
		spec.Layers = l
	}
	if im.Base != "" {
		base, err := transfer.ParseRef(im.Base)
		if err != nil {
			bad("base", "%v", err)
		}
		spec.Base = withLocalPath(dir, base)
	}
	for _, a := range im.Add {
		spec.Add = append(spec.Add, packer.Addition{Src: local(dir, a.Src), Dest: a.Dest})
	}
	// The settings packer itself checks, each reported at its key.
	spec.Program = "-" // each platform's program is checked below
	for _, se := range packer.SpecErrors(spec.Validate()) {
		key, i := keyOf(se.Field)
		if key == "add" && i >= 0 && i < len(im.Add) {
			errs = append(errs, &Error{Line: im.Add[i].line, Msg: fmt.Sprintf("image %s: add %s: %v", im.Name, im.Add[i].Dest, se.Err)})
			continue
		}
		bad(key, "%v", se.Err)
	}
	spec.Program = ""

	switch {
	case im.Program != "" && len(im.Platforms.Keys) > 0:
		bad("platforms", "give either program (one platform) or platforms (one program each), not both")
	case im.Program != "":
		s := spec
		s.Program = local(dir, im.Program)
		if im.Platform != "" {
			p, err := parsePlatform(im.Platform)
			if err != nil {
				bad("platform", "%v", err)
			}
			s.Platform = p
		}
		t.Specs = append(t.Specs, s)
	case len(im.Platforms.Keys) > 0:
		if im.Platform != "" {
			bad("platform", "platform goes with program; with platforms each key is the platform")
		}
		for _, k := range im.Platforms.Keys {
			pp := im.Platforms.Progs[k]
			p, err := parsePlatform(k)
			if err != nil {
				errs = append(errs, &Error{Line: pp.line, Msg: fmt.Sprintf("image %s: platforms: %v", im.Name, err)})
			}
			if pp.Program == "" {
				errs = append(errs, &Error{Line: pp.line, Msg: fmt.Sprintf("image %s: platform %s: no program", im.Name, k)})
			}
			s := spec
			s.Program, s.Platform = local(dir, pp.Program), p
			if pp.Sysroot != "" {
				s.Root = local(dir, pp.Sysroot)
			}
			if len(pp.LibraryPath) > 0 {
				s.LibraryPath = locals(dir, pp.LibraryPath)
			}
			t.Specs = append(t.Specs, s)
		}
	default:
		errs = append(errs, &Error{Line: im.Line, Msg: fmt.Sprintf("image %s: no program: set program: PATH, or platforms: {linux/amd64: PATH, ...}", im.Name)})
	}

	if len(im.Output) == 0 {
		errs = append(errs, &Error{Line: im.Line, Msg: fmt.Sprintf("image %s: no output: add output: [docker://REGISTRY/REPO:TAG, oci:DIR, ...]", im.Name)})
	}
	for _, o := range im.Output {
		r, err := transfer.ParseDest(o)
		switch {
		case err != nil:
			bad("output", "%v", err)
			continue
		case t.Index && (r.Transport == transfer.DockerArchive || r.Transport == transfer.Tarball || r.Transport == transfer.DockerDaemon):
			bad("output", "%s holds one image, and this one has platforms: push it (docker://) or write oci: or oci-archive:", o)
			continue
		}
		t.Outputs = append(t.Outputs, withLocalPath(dir, r))
	}
	if len(im.Tags) > 0 && len(t.Outputs) > 0 {
		outs, err := transfer.WithTags(t.Outputs, im.Tags)
		if err != nil {
			bad("tags", "%v", err)
		} else {
			t.Outputs = outs
		}
	}
	return t, errs
}

func parsePlatform(s string) (*v1.Platform, error) {
	p, err := v1.ParsePlatform(s)
	if err != nil {
		return nil, fmt.Errorf("%q: %v", s, err)
	}
	if p.OS != "linux" || p.Architecture == "" {
		return nil, fmt.Errorf("%q: want linux/ARCH[/VARIANT], e.g. linux/arm64", s)
	}
	return p, nil
}

// checkUser accepts what pack's --user does.
// specKeys are the keys of the Spec fields packer.Spec.Validate names.
var specKeys = map[string]string{
	"Dest": "dest", "Config.WorkingDir": "workdir", "Config.User": "user", "Config.Env": "env",
	"Config.Labels": "labels", "Config.Annotations": "annotations", "Config.Expose": "expose",
	"Add": "add", "Runtime.Include": "include", "Runtime.CABundle": "ca-bundle", "Base": "base",
	"Level": "compression-level", "Program": "program",
}

// keyOf is the configuration key of a Spec field ("Add[2].Dest" is add,
// item 2), and the item's index, or -1.
func keyOf(field string) (string, int) {
	name, rest, _ := strings.Cut(field, "[")
	i := -1
	if idx, _, ok := strings.Cut(rest, "]"); ok {
		if n, err := strconv.Atoi(idx); err == nil {
			i = n
		}
	}
	if k, ok := specKeys[name]; ok {
		return k, i
	}
	return strings.ToLower(name), i
}

// local takes a relative path from dir.
func local(dir, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

func locals(dir string, ps []string) []string {
	var out []string
	for _, p := range ps {
		out = append(out, local(dir, p))
	}
	return out
}

// withLocalPath takes a layout's or archive's relative path from dir.
func withLocalPath(dir string, r transfer.Ref) transfer.Ref {
	switch r.Transport {
	case transfer.OCI, transfer.OCIArchive, transfer.DockerArchive, transfer.Tarball:
		r.Path = local(dir, r.Path)
	}
	return r
}

// switchOf is the packer.Switch of an optional yes/no key: left out, the
// analysis decides.
func switchOf(b *bool) packer.Switch {
	switch {
	case b == nil:
		return packer.Auto
	case *b:
		return packer.On
	}
	return packer.Off
}
