package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// libraries are the packages below the CLI: they say what is wrong in their
// own terms, and the CLI (hints.go) or the configuration file adds which of
// its flags or keys is the way out.
var libraries = []string{"elfdeps", "packer", "transfer", "layercache", "runner", "sbom", "release", "slim"}

// TestLibrariesNameNoFlags: no string in the libraries names one of the
// CLI's flags (a string that is exactly a flag is an argument to another
// program, such as runc's --root, and is let through).
func TestLibrariesNameNoFlags(t *testing.T) {
	names := map[string]bool{}
	for _, c := range newApp(nil, nil).Commands {
		for _, f := range c.Flags {
			for _, n := range f.Names() {
				if len(n) > 1 {
					names[n] = true
				}
			}
		}
	}
	var alts []string
	for n := range names {
		alts = append(alts, regexp.QuoteMeta(n))
	}
	flag := regexp.MustCompile(`(^|[^-\w])--(` + strings.Join(alts, "|") + `)($|[^-\w])`)
	checked := 0
	for _, pkg := range libraries {
		files, _ := filepath.Glob(filepath.Join("..", "..", pkg, "*.go"))
		for _, file := range files {
			if strings.HasSuffix(file, "_test.go") {
				continue
			}
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, file, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			checked++
			ast.Inspect(f, func(n ast.Node) bool {
				lit, ok := n.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					return true
				}
				s, err := strconv.Unquote(lit.Value)
				if err != nil || names[strings.TrimPrefix(s, "--")] {
					return true
				}
				if m := flag.FindStringSubmatch(s); m != nil {
					t.Errorf("%s: %q names the CLI's --%s", fset.Position(lit.Pos()), s, m[2])
				}
				return true
			})
		}
	}
	if checked < 50 {
		t.Fatalf("checked %d files: the library folders moved?", checked)
	}
}
