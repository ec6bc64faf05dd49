package packer

import (
	"fmt"
	"path"
)

// Layering says how the files Build adds are split into layers.
type Layering int

// The layerings. The zero value is OneLayer.
const (
	// OneLayer puts every file in one layer.
	OneLayer Layering = iota
	// LibsLayer puts the C library set (the loader, glibc's own libraries
	// and the links to them) in a layer below the program's. That layer
	// depends only on those files, so images of different programs built on
	// one machine share it in registries and in runtimes' stores.
	LibsLayer
)

var layeringNames = map[Layering]string{OneLayer: "one", LibsLayer: "libs"}

func (l Layering) String() string {
	if s, ok := layeringNames[l]; ok {
		return s
	}
	return fmt.Sprintf("Layering(%d)", int(l))
}

// ParseLayering parses "one" or "libs".
func ParseLayering(s string) (Layering, error) {
	for l, n := range layeringNames {
		if n == s {
			return l, nil
		}
	}
	return 0, fmt.Errorf("unknown layering %q: want one or libs", s)
}

// layerGroup is the files of one new layer and what its history says.
type layerGroup struct {
	files   *FileSet
	comment string
}

const (
	programComment = "the program and the files its loader needs"
	libsComment    = "the C library and its loader"
)

// split divides set into the layers l asks for, bottom first; a layer that
// would be empty is left out. Each layer holds the parent directories of its
// files, so that it unpacks alone; the directories are the same (0755) in
// both.
func (l Layering) split(set *FileSet) ([]layerGroup, error) {
	if l == OneLayer {
		return []layerGroup{{set, programComment}}, nil
	}
	if l != LibsLayer {
		return nil, fmt.Errorf("unknown layering %v", l)
	}
	parents := map[string]bool{}
	for p := range set.entries {
		parents[path.Dir(p)] = true
	}
	libs, rest := NewFileSet(), NewFileSet()
	for _, e := range set.Entries() {
		switch {
		case e.Shared:
			if err := libs.Add(*e); err != nil {
				return nil, err
			}
		case e.Type == TypeDir && e.Why == "" && parents[e.Path]:
			// A parent directory, which Add makes again where it is needed.
		default:
			if err := rest.Add(*e); err != nil {
				return nil, err
			}
		}
	}
	var out []layerGroup
	if len(libs.entries) > 0 {
		out = append(out, layerGroup{libs, libsComment})
	}
	if len(rest.entries) > 0 || len(out) == 0 {
		out = append(out, layerGroup{rest, programComment})
	}
	return out, nil
}

// makeLayers writes (or takes from the cache) the layers of set that spec
// asks for.
func makeLayers(set *FileSet, spec Spec, o *options) ([]NewLayer, error) {
	var err error
	if err != nil {
		return nil, err
	}
	groups, err := spec.Layers.split(set)
	if err != nil {
		return nil, err
	}
	lo := LayerOptions{Dir: spec.WorkDir, MTime: spec.Created, Compression: spec.Compression, Level: spec.Level}
	var out []NewLayer
	for _, g := range groups {
		l, rebuilt, err := makeLayer(g.files, lo, o.cache, o.now)
		if err != nil {
			return nil, fmt.Errorf("writing the layer of %s: %w", g.comment, err)
		}
		out = append(out, NewLayer{Layer: l, Files: g.files, Comment: g.comment, Cached: l.Cached(), Rebuilt: rebuilt})
	}
	return out, nil
}
