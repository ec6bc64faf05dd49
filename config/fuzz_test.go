package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse: Parse never panics, and either fails with Errors that each
// name the file, or gives every image at least one spec and one output.
// Seeds: the sample configuration, and testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join("..", "testdata", "scratchpack.yaml")); err == nil {
		f.Add(string(b))
	}
	for _, s := range []string{
		"images:\n  a:\n    program: x\n    output: [oci:o]\n",
		"images:\n  a:\n    platforms: {linux/arm64: {program: y, sysroot: /s}, linux/amd64: z}\n    output: [\"docker://${REGISTRY}/a:${VERSION:-dev}\"]\n    tags: [latest]\n",
		"x-d: &d\n  output: [oci:o]\nimages:\n  a:\n    <<: *d\n    program: x\n    env: [A=1]\n    add: [{src: a, dest: /a}, \"b:/b\"]\n",
		"a: &a [*a]\n",
		"images: {a: {program: $$x, output: [docker-daemon:a]}}\n",
	} {
		f.Add(s)
	}
	env := map[string]string{"REGISTRY": "127.0.0.1:5000", "VERSION": "1.0"}
	f.Fuzz(func(t *testing.T, data string) {
		c, err := Parse("f.yaml", []byte(data), env)
		if err != nil {
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("error %v (%T) is not Errors", err, err)
			}
			for _, e := range es {
				if !strings.HasPrefix(e.Error(), "f.yaml:") {
					t.Fatalf("error %q does not name the file", e)
				}
			}
			return
		}
		if len(c.Images) == 0 {
			t.Fatal("no error and no images")
		}
		for _, im := range c.Images {
			if im.Target == nil || len(im.Target.Specs) == 0 || len(im.Target.Outputs) == 0 {
				t.Fatalf("image %s: no error, but target %+v", im.Name, im.Target)
			}
		}
	})
}
