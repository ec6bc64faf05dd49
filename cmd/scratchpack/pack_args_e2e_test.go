package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

// TestPackFlagsAnywhere: flags may follow PROGRAM; only what follows -- is
// the image's command.
func TestPackFlagsAnywhere(t *testing.T) {
	prog := testenv.Fixture(t, "hello-c")
	dir := t.TempDir()
	a, b, c := filepath.Join(dir, "a"), filepath.Join(dir, "b"), filepath.Join(dir, "c")
	mustRun(t, nil, "pack", "-o", "oci:"+a, prog, "-o", "oci:"+b)
	mustRun(t, nil, "pack", prog, "-o", "oci:"+c, "--", "-o", "x")
	for _, tc := range []struct {
		dir  string
		want []string
	}{{a, nil}, {b, nil}, {c, []string{"-o", "x"}}} {
		cmd := imageCmd(t, tc.dir)
		if strings.Join(cmd, " ") != strings.Join(tc.want, " ") {
			t.Errorf("%s: Cmd %q, want %q", tc.dir, cmd, tc.want)
		}
	}

	_, errOut, code := run(t, nil, "pack", "-o", "oci:"+filepath.Join(dir, "d"), prog, "a", "b")
	if code != exitBadInput || !strings.Contains(errOut, "-- a b") {
		t.Errorf("pack PROGRAM a b: exit %d, stderr %q; want %d and where the command goes", code, errOut, exitBadInput)
	}
}

// imageCmd is the Cmd of the one image in the layout dir.
func imageCmd(t *testing.T, dir string) []string {
	t.Helper()
	lp, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	ii, err := lp.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, err := ii.IndexManifest()
	if err != nil || len(im.Manifests) != 1 {
		t.Fatalf("%s: %v, %d manifests", dir, err, len(im.Manifests))
	}
	img, err := ii.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	return cf.Config.Cmd
}

// TestPackBadDestinations: destinations that cannot be written are refused
// before anything is built, with exit 2, and nothing is pushed: a bare name
// is not a push.
func TestPackBadDestinations(t *testing.T) {
	prog := testenv.Fixture(t, "hello-c")
	dir := t.TempDir()
	for _, tc := range []struct {
		dest, want string
	}{
		{"out.tgz", "needs a transport"},
		{"some/dir/", "needs a transport"},
		{"127.0.0.1:1/app:1", "needs a transport"},
		{"oci-archive:" + filepath.Join(dir, "no", "such", "x.tar"), "does not exist: create it first"},
		{"oci:" + filepath.Join(dir, "no", "such"), "does not exist: create it first"},
		{filepath.Join(dir, "no", "x.tar"), "does not exist: create it first"},
		{"docker-archive:" + dir, "is a directory"},
	} {
		t.Run(tc.dest, func(t *testing.T) {
			stdout, errOut, code := run(t, []string{"TMPDIR=" + dir}, "pack", "-o", tc.dest, prog)
			if code != exitBadInput || !strings.Contains(errOut, tc.want) || stdout != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d and %q", code, stdout, errOut, exitBadInput, tc.want)
			}
			if strings.Contains(errOut, "packed ") || strings.Contains(errOut, "pushing") {
				t.Errorf("built or pushed before refusing:\n%s", errOut)
			}
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}
}

// TestAmbiguousLayout: three untagged packs into one layout leave three
// images; reading the layout without saying which is an error that lists
// them, and @DIGEST picks one.
func TestAmbiguousLayout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "layout")
	var digests []string
	for _, name := range []string{"hello-c", "exit3", "hello-go"} {
		digests = append(digests, strings.TrimSpace(mustRun(t, nil, "pack", "-o", "oci:"+dir, testenv.Fixture(t, name))))
	}
	_, errOut, code := run(t, nil, "ls", "oci:"+dir)
	if code != exitBadInput {
		t.Errorf("ls of an ambiguous layout: exit %d, want %d; stderr %s", code, exitBadInput, errOut)
	}
	for _, d := range digests {
		if !strings.Contains(errOut, "@"+d) {
			t.Errorf("the error does not list %s:\n%s", d, errOut)
		}
	}
	out := mustRun(t, nil, "ls", "oci:"+dir+"@"+digests[1])
	if !strings.Contains(out, "/app/exit3") {
		t.Errorf("ls oci:DIR@DIGEST lists another image:\n%s", out)
	}
}
