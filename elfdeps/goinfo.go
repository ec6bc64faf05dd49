package elfdeps

import (
	"debug/buildinfo"
	"errors"
	"io"
	"strings"
)

// GoInfo is what a Go program's build information says.
type GoInfo struct {
	Version string   `json:"version"`           // go1.26.8
	Path    string   `json:"path"`              // the main package path
	Module  string   `json:"module"`            // the main module path
	CGO     bool     `json:"cgo"`               // CGO_ENABLED=1 at build time
	GOARM   string   `json:"goarm,omitempty"`   // GOARM at build time (arm only): "7", "6,softfloat"
	Deps    []Module `json:"modules,omitempty"` // the modules linked in
	// Uses are the packages and functions linked in that need files at run
	// time: GoUsesTLS, GoUsesNet, GoUsesLoadLocation, GoUsesTZData, GoUsesUser.
	Uses []string `json:"uses,omitempty"`
}

// Module is one Go module linked into a program.
type Module struct {
	Path    string `json:"path"`
	Version string `json:"version"`
	Sum     string `json:"sum,omitempty"`
}

// readGoInfo returns the build information of a Go program, or nil, nil for
// a file that is not a Go program.
func readGoInfo(r io.ReaderAt) (*GoInfo, error) {
	bi, err := buildinfo.Read(r)
	if err != nil {
		if isNotGo(err) {
			return nil, nil
		}
		return nil, err
	}
	g := &GoInfo{Version: bi.GoVersion, Path: bi.Path, Module: bi.Main.Path}
	for _, s := range bi.Settings {
		switch s.Key {
		case "CGO_ENABLED":
			g.CGO = s.Value == "1"
		case "GOARM":
			g.GOARM = s.Value
		}
	}
	for _, d := range bi.Deps {
		if d.Replace != nil {
			d = d.Replace
		}
		g.Deps = append(g.Deps, Module{Path: d.Path, Version: d.Version, Sum: d.Sum})
	}
	return g, nil
}

// isNotGo tells "this is not a Go program" from a broken Go program.
// debug/buildinfo does not export its sentinels, so match their text.
func isNotGo(err error) bool {
	s := err.Error()
	return errors.Is(err, io.EOF) || strings.Contains(s, "not a Go executable") ||
		strings.Contains(s, "unrecognized file format")
}
