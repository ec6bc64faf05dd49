package runner

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/scratchpack/scratchpack/internal/testenv"
	"github.com/scratchpack/scratchpack/packer"
	"github.com/scratchpack/scratchpack/transfer"
)

// TestMain makes the test binary the builtin runtime's init when it is
// started as one, as scratchpack's hidden __init command does.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == InitCommand {
		os.Exit(Init())
	}
	os.Exit(m.Run())
}

func inCI() bool { return os.Getenv("CI") == "true" }

// packed is the image scratchpack packs for a fixture, on scratch.
func packed(t *testing.T, name string, cfg packer.Config) v1.Image {
	t.Helper()
	res, err := packer.Build(context.Background(), packer.Spec{
		Program: testenv.Fixture(t, name), Base: transfer.Ref{Transport: transfer.Scratch}, WorkDir: t.TempDir(), Config: cfg,
	})
	if err != nil {
		t.Fatalf("packing %s: %v", name, err)
	}
	return res.Image
}

// runtimes are the runtimes this machine can test: the builtin one (as
// root, or in a user namespace), and runc as root when it is installed.
func runtimes(t *testing.T) map[string][]Option {
	t.Helper()
	rts := map[string][]Option{"builtin": {WithRuntime(RuntimeBuiltin)}}
	if os.Geteuid() != 0 {
		t.Logf("not root: runc is not tested")
		return rts
	}
	runc, err := exec.LookPath("runc")
	if err != nil {
		for _, p := range []string{"/usr/sbin/runc", "/usr/bin/runc", "/usr/local/sbin/runc"} {
			if _, err := os.Stat(p); err == nil {
				runc = p
			}
		}
	}
	if runc == "" {
		if inCI() {
			t.Fatal("runc not found; CI installs it (scripts/install-deps.sh)")
		}
		t.Logf("SKIP part: runc not found (install the Debian package runc); only the builtin runtime is tested")
		return rts
	}
	rts["runc"] = []Option{WithRuntime(RuntimeRunc), WithRunc(runc)}
	return rts
}

// requireNamespaces skips when this process can make neither namespaces as
// root nor a user namespace.
func requireNamespaces(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if err := exec.Command("unshare", "--user", "--map-root-user", "true").Run(); err != nil {
		t.Skipf("SKIP: no root and no unprivileged user namespaces here: %v", err)
	}
}

// output runs img and returns its stdout, stderr and result.
func output(t *testing.T, img v1.Image, opts ...Option) (string, string, *Result) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	var warnings []string
	opts = append([]Option{WithStdio(nil, &stdout, &stderr), WithWorkDir(t.TempDir()),
		WithWarnings(func(s string) { warnings = append(warnings, s) })}, opts...)
	res, err := Run(context.Background(), img, opts...)
	if err != nil {
		t.Fatalf("Run: %v\nstderr: %s", err, stderr.String())
	}
	for _, w := range warnings {
		t.Logf("warning: %s", w)
	}
	return stdout.String(), stderr.String(), res
}

// ent is one entry of a layer made by withLayer.
type ent struct {
	name, data, link string
	typ              byte
	mode             int64
}

// withLayer adds a layer holding ents to img.
func withLayer(t *testing.T, img v1.Image, ents ...ent) v1.Image {
	t.Helper()
	var tes []testenv.TarEntry
	for _, e := range ents {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		mode := e.mode
		if mode == 0 {
			mode = 0o644
		}
		tes = append(tes, testenv.TarEntry{Header: tar.Header{Name: e.name, Linkname: e.link, Typeflag: typ, Mode: mode}, Data: e.data})
	}
	img, err := mutate.AppendLayers(img, testenv.Layer(t, tes...))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// withConfig changes img's configuration.
func withConfig(t *testing.T, img v1.Image, edit func(*v1.Config)) v1.Image {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg := cf.Config
	edit(&cfg)
	img, err = mutate.Config(img, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func lines(s string) []string { return strings.Split(strings.TrimSpace(s), "\n") }
