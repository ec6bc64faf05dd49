package config

import (
	"reflect"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Config is a scratchpack.yaml file: the images it describes, in the order
// the file lists them.
type Config struct {
	Version int      `yaml:"version"` // 1, or left out
	Images  []*Image `yaml:"-"`       // from the "images" mapping, keyed by name
}

// Image is one entry of "images": a program (or one per platform) and how
// to package it. Keys are named as pack's flags.
type Image struct {
	Name string `yaml:"-"`
	Line int    `yaml:"-"` // where its entry starts

	Program     string     `yaml:"program"`   // the program, for one platform
	Platform    string     `yaml:"platform"`  // with program: the platform it must be for
	Platforms   Platforms  `yaml:"platforms"` // instead of program: one per platform, built into an index
	Base        string     `yaml:"base"`
	Dest        string     `yaml:"dest"`
	Sysroot     string     `yaml:"sysroot"` // as pack --sysroot: where libraries come from
	LibraryPath []string   `yaml:"library-path"`
	Entrypoint  Words      `yaml:"entrypoint"`
	Cmd         Words      `yaml:"cmd"`
	Env         KeyValues  `yaml:"env"`
	Workdir     string     `yaml:"workdir"`
	User        string     `yaml:"user"`
	Labels      KeyValues  `yaml:"labels"`
	Annotations KeyValues  `yaml:"annotations"`
	Expose      []string   `yaml:"expose"`
	Add         []Addition `yaml:"add"`
	Output      []string   `yaml:"output"` // destinations, as pack -o
	Tags        []string   `yaml:"tags"`   // more tags for docker:// and docker-daemon: outputs
	SBOM        string     `yaml:"sbom"`   // write an SPDX document here (and attach it to pushed images)
	KeepSUID    bool       `yaml:"keep-suid"`

	// Layers, as pack's flags.
	Compression      string `yaml:"compression"` // gzip (default), zstd or none
	CompressionLevel int    `yaml:"compression-level"`
	Layers           string `yaml:"layers"` // one (default) or libs

	// Run-time needs, as pack's flags: runtime-extras: false is
	// --no-runtime-extras; ca-certs and tzdata force them on or off.
	RuntimeExtras *bool    `yaml:"runtime-extras"`
	IncludeLib    []string `yaml:"include-lib"`
	Include       []string `yaml:"include"`
	CACerts       *bool    `yaml:"ca-certs"`
	CABundle      string   `yaml:"ca-bundle"`
	TZData        *bool    `yaml:"tzdata"`
	Target        *Target  `yaml:"-"` // what to build, set by Parse
	lines         map[string]int
}

// PlatformProgram is the program for one platform, and where its libraries
// come from.
type PlatformProgram struct {
	Program     string   `yaml:"program"`
	Sysroot     string   `yaml:"sysroot"` // e.g. /usr/aarch64-linux-gnu; default the image's sysroot, else pack's default
	LibraryPath []string `yaml:"library-path"`
	line        int
}

// Platforms maps OS/ARCH[/VARIANT] to a program: a path, or a mapping with
// program, sysroot and library-path.
type Platforms struct {
	Keys  []string // in file order
	Progs map[string]PlatformProgram
	lines map[string]int
}

// Addition is an extra file: "SRC:DEST", or a mapping with src and dest.
type Addition struct {
	Src  string `yaml:"src"`
	Dest string `yaml:"dest"`
	line int
}

// Words is a command line: a list of strings, or one string split at spaces.
type Words []string

// KeyValues is a mapping of strings, or a list of K=V.
type KeyValues struct {
	Keys   []string // sorted: an image must not depend on the order of a map
	Values map[string]string
}

// UnmarshalYAML reads the top level: version and images.
func (c *Config) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return lineError(n, "the file must be a mapping with an images: key")
	}
	// x-* keys are free, for YAML anchors that images merge in (<<: *defaults).
	top := &yaml.Node{Kind: yaml.MappingNode}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if !strings.HasPrefix(n.Content[i].Value, "x-") {
			top.Content = append(top.Content, n.Content[i], n.Content[i+1])
		}
	}
	errs := []error{strictKeys(top, "the file", []string{"version", "images", "x-..."})}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "version":
			errs = append(errs, v.Decode(&c.Version))
		case "images":
			errs = append(errs, c.decodeImages(v))
		}
	}
	return joinErrors(errs...)
}

func (c *Config) decodeImages(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return lineError(n, "images must be a mapping of image names to their settings")
	}
	var errs []error
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		im := &Image{Name: k.Value, Line: k.Line}
		if err := v.Decode(im); err != nil {
			errs = append(errs, err)
			continue
		}
		im.Name, im.Line = k.Value, k.Line
		c.Images = append(c.Images, im)
	}
	return joinErrors(errs...)
}

// UnmarshalYAML decodes an image, refusing keys it does not know.
func (im *Image) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return lineError(n, "an image must be a mapping (program:, output:, ...)")
	}
	type plain Image
	err := joinErrors(strictKeys(n, "an image", yamlKeys(plain{})), n.Decode((*plain)(im)))
	im.lines = keyLines(n)
	im.Line = n.Line
	return err
}

// UnmarshalYAML decodes the platforms mapping.
func (p *Platforms) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return lineError(n, "platforms must map OS/ARCH to a program, e.g. linux/arm64: bin/app-arm64")
	}
	p.Progs, p.lines = map[string]PlatformProgram{}, map[string]int{}
	var errs []error
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		var pp PlatformProgram
		switch v.Kind {
		case yaml.ScalarNode:
			pp.Program = v.Value
		case yaml.MappingNode:
			type plain PlatformProgram
			errs = append(errs, strictKeys(v, "a platform", yamlKeys(plain{})), v.Decode((*plain)(&pp)))
		default:
			errs = append(errs, lineError(v, "platform %s: want a program path, or a mapping with program and sysroot", k.Value))
			continue
		}
		pp.line = k.Line
		if _, dup := p.Progs[k.Value]; !dup {
			p.Keys = append(p.Keys, k.Value)
		}
		p.Progs[k.Value], p.lines[k.Value] = pp, k.Line
	}
	return joinErrors(errs...)
}

// UnmarshalYAML decodes "SRC:DEST" or {src, dest}.
func (a *Addition) UnmarshalYAML(n *yaml.Node) error {
	a.line = n.Line
	switch n.Kind {
	case yaml.ScalarNode:
		src, dest, ok := strings.Cut(n.Value, ":")
		if !ok || src == "" || dest == "" {
			return lineError(n, "add %q: want SRC:DEST, e.g. ./config.yaml:/etc/app/config.yaml", n.Value)
		}
		a.Src, a.Dest = src, dest
		return nil
	case yaml.MappingNode:
		type plain Addition
		err := joinErrors(strictKeys(n, "an add entry", []string{"src", "dest"}), n.Decode((*plain)(a)))
		a.line = n.Line
		if err == nil && (a.Src == "" || a.Dest == "") {
			return lineError(n, "add: both src and dest are needed")
		}
		return err
	}
	return lineError(n, "add: want SRC:DEST, or a mapping with src and dest")
}

// UnmarshalYAML decodes a list of strings, or a string split at spaces.
func (w *Words) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*w = strings.Fields(n.Value)
		return nil
	}
	var list []string
	if err := n.Decode(&list); err != nil {
		return err
	}
	*w = list
	return nil
}

// UnmarshalYAML decodes a mapping, or a list of K=V.
func (kv *KeyValues) UnmarshalYAML(n *yaml.Node) error {
	kv.Values = map[string]string{}
	switch n.Kind {
	case yaml.MappingNode:
		m := map[string]string{}
		if err := n.Decode(&m); err != nil {
			return err
		}
		kv.Values = m
	case yaml.SequenceNode:
		var errs []error
		for _, c := range n.Content {
			var s string
			if err := c.Decode(&s); err != nil {
				errs = append(errs, err)
				continue
			}
			k, v, ok := strings.Cut(s, "=")
			if !ok || k == "" {
				errs = append(errs, lineError(c, "%q: want K=V", s))
				continue
			}
			kv.Values[k] = v
		}
		if err := joinErrors(errs...); err != nil {
			return err
		}
	default:
		return lineError(n, "want a mapping of K: V, or a list of K=V")
	}
	for k := range kv.Values {
		if k == "" {
			return lineError(n, "an empty key")
		}
		kv.Keys = append(kv.Keys, k)
	}
	sort.Strings(kv.Keys)
	return nil
}

// Pairs returns K=V strings, sorted by key.
func (kv KeyValues) Pairs() []string {
	var out []string
	for _, k := range kv.Keys {
		out = append(out, k+"="+kv.Values[k])
	}
	return out
}

// Map returns the values, nil if there are none.
func (kv KeyValues) Map() map[string]string {
	if len(kv.Keys) == 0 {
		return nil
	}
	return kv.Values
}

// strictKeys reports each key of the mapping n that is not in known, with
// its line. YAML merge keys (<<) are allowed.
func strictKeys(n *yaml.Node, what string, known []string) error {
	var errs []error
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if k.Tag == "!!merge" {
			continue
		}
		ok := false
		for _, s := range known {
			ok = ok || s == k.Value
		}
		if !ok {
			errs = append(errs, lineError(k, "%s has no key %q; the keys are: %s", what, k.Value, strings.Join(known, ", ")))
		}
	}
	return joinErrors(errs...)
}

// yamlKeys lists the yaml keys of the struct v.
func yamlKeys(v any) []string {
	t := reflect.TypeOf(v)
	var keys []string
	for i := 0; i < t.NumField(); i++ {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if tag != "" && tag != "-" {
			keys = append(keys, tag)
		}
	}
	return keys
}

// keyLines maps each key of the mapping n to the line of its value.
func keyLines(n *yaml.Node) map[string]int {
	m := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		m[n.Content[i].Value] = n.Content[i+1].Line
	}
	return m
}
