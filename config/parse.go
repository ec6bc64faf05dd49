package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"

	"gopkg.in/yaml.v3"
)

// DefaultFile is the configuration file build reads without --config.
const DefaultFile = "scratchpack.yaml"

// maxSize bounds the files Parse reads: a configuration is a few kilobytes.
const maxSize = 4 << 20

// Parse reads a configuration file: name is where data came from (for
// messages, and as the directory relative paths in it are taken from), env
// the variables that ${VAR} in values may name. Every problem comes back at
// once, as Errors, each with the file and line.
func Parse(name string, data []byte, env map[string]string) (*Config, error) {
	fail := func(line int, format string, args ...any) (*Config, error) {
		return nil, Errors{{File: name, Line: line, Msg: fmt.Sprintf(format, args...)}}
	}
	if len(data) > maxSize {
		return fail(0, "%d bytes is too big for a configuration file (at most %d)", len(data), maxSize)
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
		return fail(0, "the file is empty: it needs an images: mapping (see scratchpack build --help)")
	} else if err != nil {
		return nil, fileErrors(name, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, fileErrors(name, err)
		}
		return fail(extra.Line, "a second YAML document (after ---): a file holds one configuration")
	}
	var msgs []string
	expandTree(&doc, env, &msgs, 0)
	if len(msgs) > 0 {
		return nil, fileErrors(name, &yaml.TypeError{Errors: msgs})
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	c := &Config{}
	if err := root.Decode(c); err != nil {
		return nil, sorted(fileErrors(name, err))
	}
	switch {
	case c.Version != 0 && c.Version != 1:
		return fail(1, "version %d: this scratchpack reads version 1", c.Version)
	case len(c.Images) == 0:
		return fail(root.Line, "no images: add an images: mapping of names to programs (see scratchpack build --help)")
	}
	dir := filepath.Dir(name)
	var errs Errors
	seen := map[string]int{}
	for _, im := range c.Images {
		if l, dup := seen[im.Name]; dup {
			errs = append(errs, &Error{File: name, Line: im.Line, Msg: fmt.Sprintf("image %q is defined twice (also at line %d)", im.Name, l)})
			continue
		}
		seen[im.Name] = im.Line
		t, es := target(im, dir)
		for _, e := range es {
			e.File = name
		}
		errs = append(errs, es...)
		im.Target = t
	}
	if len(errs) > 0 {
		return nil, sorted(errs)
	}
	return c, nil
}

func sorted(es Errors) Errors {
	sort.SliceStable(es, func(i, j int) bool { return es[i].Line < es[j].Line })
	return es
}

// Select returns the images named, in the file's order, or all of them
// when names is empty. An unknown name is an error.
func (c *Config) Select(names ...string) ([]*Image, error) {
	if len(names) == 0 {
		return c.Images, nil
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	var out []*Image
	for _, im := range c.Images {
		if want[im.Name] {
			out = append(out, im)
			delete(want, im.Name)
		}
	}
	if len(want) > 0 {
		var all, unknown []string
		for _, im := range c.Images {
			all = append(all, im.Name)
		}
		for n := range want {
			unknown = append(unknown, n)
		}
		sort.Strings(unknown)
		return nil, fmt.Errorf("no image named %q in the configuration; it has: %q", unknown, all)
	}
	return out, nil
}
