package config_test

import (
	"fmt"

	"github.com/scratchpack/scratchpack/config"
)

func ExampleParse() {
	file := []byte(`
images:
  hello:
    program: bin/hello
    output: ["docker://${REGISTRY}/hello:${VERSION:-dev}"]
    tags: [latest]
`)
	c, err := config.Parse("release/scratchpack.yaml", file, map[string]string{"REGISTRY": "127.0.0.1:5000"})
	if err != nil {
		fmt.Println(err)
		return
	}
	t := c.Images[0].Target
	fmt.Println(t.Name, t.Specs[0].Program)
	for _, o := range t.Outputs {
		fmt.Println(o)
	}

	_, err = config.Parse("release/scratchpack.yaml", []byte("images:\n  hello:\n    progam: bin/hello\n"), nil)
	fmt.Println(err)
	// Output:
	// hello release/bin/hello
	// docker://127.0.0.1:5000/hello:dev
	// docker://127.0.0.1:5000/hello:latest
	// release/scratchpack.yaml:3: an image has no key "progam"; the keys are: program, platform, platforms, base, dest, sysroot, library-path, entrypoint, cmd, env, workdir, user, labels, annotations, expose, add, output, tags, sbom, keep-suid, compression, compression-level, layers, runtime-extras, include-lib, include, ca-certs, ca-bundle, tzdata
}
