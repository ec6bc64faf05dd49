package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/scratchpack/scratchpack/layercache"
	"github.com/scratchpack/scratchpack/packer"
	"github.com/scratchpack/scratchpack/transfer"
)

var env = map[string]string{"REGISTRY": "127.0.0.1:5000", "VERSION": "1.10", "EMPTY": ""}

func TestParseSample(t *testing.T) {
	name := filepath.Join("..", "testdata", "scratchpack.yaml")
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(name, data, env)
	if err != nil {
		t.Fatal(err)
	}
	type got struct {
		Name     string
		Programs []string
		Roots    []string
		Outputs  []string
		Index    bool
		SBOM     string
	}
	var all []got
	for _, im := range c.Images {
		g := got{Name: im.Name, Index: im.Target.Index, SBOM: im.Target.SBOM}
		for _, s := range im.Target.Specs {
			g.Programs = append(g.Programs, s.Program)
			g.Roots = append(g.Roots, s.Root)
		}
		for _, o := range im.Target.Outputs {
			g.Outputs = append(g.Outputs, o.String())
		}
		all = append(all, g)
	}
	td := filepath.Join("..", "testdata")
	want := []got{
		{Name: "hello-cc", Programs: []string{td + "/bin/hello-cc"}, Roots: []string{""}, SBOM: td + "/out/hello-cc.spdx.json",
			Outputs: []string{"docker://127.0.0.1:5000/scratchpack/hello-cc:1.10", "docker://127.0.0.1:5000/scratchpack/hello-cc:latest"}},
		{Name: "hello-go", Programs: []string{td + "/bin/hello-go"}, Roots: []string{""}, SBOM: td + "/out/hello-go.spdx.json",
			Outputs: []string{"docker://127.0.0.1:5000/scratchpack/hello-go:1.10", "docker://127.0.0.1:5000/scratchpack/hello-go:latest"}},
		{Name: "hello-c", Programs: []string{td + "/bin/hello-c", td + "/bin/hello-c-arm64"}, Roots: []string{"", "/usr/aarch64-linux-gnu"}, Index: true,
			SBOM:    td + "/out/hello-c.spdx.json",
			Outputs: []string{"docker://127.0.0.1:5000/scratchpack/hello-c:1.10", "docker://127.0.0.1:5000/scratchpack/hello-c:latest"}},
	}
	if diff := cmp.Diff(want, all); diff != "" {
		t.Errorf("targets (-want +got):\n%s", diff)
	}
	goSpec := c.Images[1].Target.Specs[0]
	wantCfg := packer.Config{
		User:   "nonroot",
		Labels: map[string]string{"org.opencontainers.image.version": "1.10", "org.opencontainers.image.source": "https://example.invalid/scratchpack"},
	}
	if diff := cmp.Diff(wantCfg, goSpec.Config, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("hello-go config (-want +got):\n%s", diff)
	}
	if goSpec.Runtime.CACerts != packer.On {
		t.Errorf("hello-go ca-certs: %v, want On", goSpec.Runtime.CACerts)
	}
	if p := c.Images[2].Target.Specs[1].Platform; p == nil || p.String() != "linux/arm64" {
		t.Errorf("hello-c second platform: %v", p)
	}
	if sel, err := c.Select("hello-c", "hello-cc"); err != nil || len(sel) != 2 || sel[0].Name != "hello-cc" {
		t.Errorf("Select: %v %v", sel, err)
	}
	if _, err := c.Select("nope"); err == nil || !strings.Contains(err.Error(), "hello-go") {
		t.Errorf("Select of an unknown image: %v", err)
	}
}

func TestParseFields(t *testing.T) {
	c, err := Parse("/etc/sp/scratchpack.yaml", []byte(`
images:
  app:
    program: ../bin/app
    platform: linux/amd64
    base: oci-archive:base.tar:glibc
    sysroot: sysroot
    library-path: [lib]
    entrypoint: /app/app --serve
    cmd: ["--port", "8080"]
    env: [B=2, A=1]
    workdir: /data
    user: "1000:1000"
    annotations: {a: b}
    expose: [8080, 53/udp]
    add: ["conf.yaml:/etc/app/conf.yaml"]
    output: [oci:out:app, "docker-daemon:app:${VERSION}"]
    tags: [dev]
    sbom: /tmp/app.spdx.json
    keep-suid: true
    runtime-extras: false
    include-lib: [libsqlite3.so.0]
    include: [/etc/app.conf]
    ca-bundle: certs/corp.pem
    tzdata: true
    compression: zstd
    compression-level: 3
    layers: libs
`), env)
	if err != nil {
		t.Fatal(err)
	}
	tg := c.Images[0].Target
	s := tg.Specs[0]
	want := packer.Spec{
		Program: "/etc/bin/app", Root: "/etc/sp/sysroot", LibraryPath: []string{"/etc/sp/lib"},
		Base:     transfer.Ref{Transport: transfer.OCIArchive, Path: "/etc/sp/base.tar", Tag: "glibc"},
		Platform: s.Platform,
		Config: packer.Config{
			Entrypoint: []string{"/app/app", "--serve"}, Cmd: []string{"--port", "8080"}, Env: []string{"A=1", "B=2"},
			WorkingDir: "/data", User: "1000:1000", Annotations: map[string]string{"a": "b"}, Expose: []string{"8080", "53/udp"},
		},
		Add:      []packer.Addition{{Src: "/etc/sp/conf.yaml", Dest: "/etc/app/conf.yaml"}},
		KeepSUID: true, Compression: layercache.Zstd, Level: 3, Layers: packer.LibsLayer,
		Runtime: packer.RuntimeSpec{
			NoExtras: true, IncludeLibs: []string{"libsqlite3.so.0"}, Include: []string{"/etc/app.conf"},
			CABundle: "/etc/sp/certs/corp.pem", TZData: packer.On,
		},
	}
	if diff := cmp.Diff(want, s, cmpopts.IgnoreUnexported(transfer.Ref{})); diff != "" {
		t.Errorf("spec (-want +got):\n%s", diff)
	}
	var outs []string
	for _, o := range tg.Outputs {
		outs = append(outs, o.String())
	}
	if diff := cmp.Diff([]string{"oci:/etc/sp/out:app", "docker-daemon:app:1.10", "docker-daemon:app:dev"}, outs); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}
}

// TestParseErrors: every problem, with its line, all at once.
func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []string // "LINE: part of the message"
	}{
		{"syntax", "images:\n  a: [\n", []string{"2: did not find expected"}},
		{"empty", "", []string{"0: the file is empty"}},
		{"not a mapping", "- a\n", []string{"1: the file must be a mapping"}},
		{"no images", "version: 1\n", []string{"1: no images"}},
		{"version", "version: 2\nimages: {a: {program: x, output: [oci:o]}}\n", []string{"1: version 2"}},
		{"unknown top key", "imagez: {}\nimages: {a: {program: x, output: [oci:o]}}\n", []string{`1: the file has no key "imagez"`}},
		{
			"unknown image key",
			"images:\n  a:\n    program: x\n    outptu: [oci:o]\n",
			[]string{`4: an image has no key "outptu"; the keys are: program, platform`},
		},
		{"wrong type", "images:\n  a:\n    program: [x]\n    output: [oci:o]\n", []string{"3: cannot unmarshal !!seq into string"}},
		{"unset variable", "images:\n  a:\n    program: x\n    output: [\"docker://${NOPE}/a\"]\n", []string{"4: ${NOPE} is not set"}},
		{"bad variable", "images:\n  a:\n    program: ${1X}\n    output: [oci:o]\n", []string{"3: \"${1X}\": ${1X} is not a variable"}},
		{"unclosed", "images:\n  a:\n    program: ${X\n    output: [oci:o]\n", []string{"3: \"${X\": ${ without a closing }"}},
		{"bad output", "images:\n  a:\n    program: x\n    output:\n      - scratch\n", []string{"5: image a: output: invalid image location \"scratch\": scratch is a base, not a destination"}},
		{"bare output", "images:\n  a:\n    program: x\n    output:\n      - out.tgz\n", []string{"5: image a: output: invalid image location \"out.tgz\": a destination needs a transport"}},
		{"bad base", "images:\n  a:\n    program: x\n    base: \"dir:/x\"\n    output: [oci:o]\n", []string{"4: image a: base: invalid image location"}},
		{"both program and platforms", "images:\n  a:\n    program: x\n    platforms: {linux/arm64: y}\n    output: [oci:o]\n", []string{"4: image a: platforms: give either"}},
		{"bad platform", "images:\n  a:\n    platforms:\n      windows/amd64: y\n    output: [oci:o]\n", []string{`4: image a: platforms: "windows/amd64": want linux/ARCH`}},
		{"platform key", "images:\n  a:\n    platforms:\n      linux/arm64: {program: y, root: /s}\n    output: [oci:o]\n", []string{`4: a platform has no key "root"`}},
		{"index to daemon", "images:\n  a:\n    platforms: {linux/arm64: y}\n    output: [docker-daemon:a]\n", []string{"4: image a: output: docker-daemon:a holds one image"}},
		{"tags without registry", "images:\n  a:\n    program: x\n    output: [oci:o]\n    tags: [v1]\n", []string{"5: image a: tags: invalid image location"}},
		{"bad add", "images:\n  a:\n    program: x\n    output: [oci:o]\n    add: [nocolon, \"a:rel\"]\n", []string{`5: add "nocolon": want SRC:DEST`}},
		{"add relative dest", "images:\n  a:\n    program: x\n    output: [oci:o]\n    add:\n      - a:rel\n", []string{"6: image a: add rel: image path \"rel\" is not absolute"}},
		{"bad user", "images:\n  a:\n    program: x\n    output: [oci:o]\n    user: bob\n", []string{`5: image a: user: "bob"`}},
		{"bad env", "images:\n  a:\n    program: x\n    output: [oci:o]\n    env: [NOEQUALS]\n", []string{`5: "NOEQUALS": want K=V`}},
		{"duplicate image", "images:\n  a: {program: x, output: [oci:o]}\n  a: {program: y, output: [oci:o]}\n", []string{`3: image "a" is defined twice (also at line 2)`}},
		{"bad name", "images:\n  \"a b\": {program: x, output: [oci:o]}\n", []string{`2: image name "a b"`}},
		{"two documents", "images: {a: {program: x, output: [oci:o]}}\n---\nimages: {}\n", []string{"2: a second YAML document"}},
		{"no program", "images:\n  a:\n    output: [oci:o]\n", []string{"2: image a: no program"}},
		{"relative include", "images:\n  a:\n    program: x\n    output: [oci:o]\n    include: [etc/x]\n", []string{`5: image a: include: image path "etc/x" is not absolute`}},
		{"bad workdir", "images:\n  a:\n    program: x\n    output: [oci:o]\n    workdir: data\n", []string{"5: image a: workdir: image path \"data\" is not absolute"}},
		{"bad port", "images:\n  a:\n    program: x\n    output: [oci:o]\n    expose: [http]\n", []string{"5: image a: expose: \"http\": want PORT[/PROTO]"}},
		{"daemon base", "images:\n  a:\n    program: x\n    output: [oci:o]\n    base: docker-daemon:x\n", []string{"5: image a: base: a Docker daemon is a destination, not a base"}},
		{"bundle without certs", "images:\n  a:\n    program: x\n    output: [oci:o]\n    ca-certs: false\n    ca-bundle: c.pem\n", []string{"6: image a: ca-bundle: a CA bundle to add, and CA certificates turned off"}},
		{"bad compression", "images:\n  a:\n    program: x\n    output: [oci:o]\n    compression: lz4\n", []string{"5: image a: compression: "}},
		{"bad layers", "images:\n  a:\n    program: x\n    output: [oci:o]\n    layers: two\n", []string{"5: image a: layers: "}},
		{"not a yes/no", "images:\n  a:\n    program: x\n    output: [oci:o]\n    tzdata: sometimes\n", []string{"5: cannot unmarshal !!str `sometimes` into bool"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(tc.yaml), env)
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("error %v (%T), want Errors", err, err)
			}
			if len(es) != len(tc.want) {
				t.Fatalf("%d errors, want %d:\n%v", len(es), len(tc.want), err)
			}
			for i, w := range tc.want {
				line, msg, _ := strings.Cut(w, ": ")
				if got := es[i].Error(); !strings.HasPrefix(got, "f.yaml:"+line+": ") && !(line == "0" && strings.HasPrefix(got, "f.yaml: ")) || !strings.Contains(got, msg) {
					t.Errorf("error %d: %q, want line %s and %q", i, got, line, msg)
				}
			}
		})
	}
}

func TestExpand(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                 "plain",
		"${VERSION}":            "1.10",
		"v${VERSION}-x":         "v1.10-x",
		"${UNSET:-dflt}":        "dflt",
		"${EMPTY:-dflt}":        "dflt",
		"${VERSION:-dflt}":      "1.10",
		"$$HOME and $HOME":      "$HOME and $HOME",
		"cost: 5$":              "cost: 5$",
		"${REGISTRY}/${EMPTY}a": "127.0.0.1:5000/a",
	} {
		got, err := expand(in, env)
		if err != nil || got != want {
			t.Errorf("expand(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	// A number that comes from a variable stays text where a string is wanted.
	c, err := Parse("f.yaml", []byte("images:\n  a:\n    program: x\n    output: [oci:o]\n    labels:\n      v: ${VERSION}\n"), env)
	if err != nil {
		t.Fatal(err)
	}
	if v := c.Images[0].Target.Specs[0].Config.Labels["v"]; v != "1.10" {
		t.Errorf("label from ${VERSION} = %q, want 1.10", v)
	}
}
