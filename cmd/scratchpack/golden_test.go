package main

import (
	"archive/tar"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

// update rewrites the golden files: go test ./cmd/... -run TestGolden -update,
// then review the diff, so that every change of wording is a deliberate one.
var update = flag.Bool("update", false, "rewrite testdata/golden/*.txt from what the commands print")

// TestGolden runs the commands whose output people read (the inspect, pack
// and check reports, ls, and the errors of bad input) and compares what
// they print with testdata/golden. What differs between machines and
// checkouts is replaced first: the checkout and temporary paths, digests,
// and sizes (which follow the host's libraries).
func TestGolden(t *testing.T) {
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	bb := filepath.Join(tmp, "busybox")
	testenv.WriteOCILayout(t, testenv.BusyboxGlibcImage(t), bb, "glibc")
	small := filepath.Join(tmp, "small")
	testenv.WriteOCILayout(t, smallImage(t), small, "v1")
	amb := filepath.Join(tmp, "ambiguous")
	for _, fx := range []string{"hello-c", "exit3"} {
		mustRun(t, nil, "pack", "-o", "oci:"+amb, testenv.Fixture(t, fx))
	}
	fx := func(name string) string { return testenv.Fixture(t, name) }
	out := func(name string) string { return filepath.Join(tmp, "out", name) }
	if err := os.MkdirAll(filepath.Join(tmp, "out"), 0o755); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		args []string
	}{
		{"inspect-hello-cc", []string{"inspect", fx("hello-cc")}},
		{"inspect-hello-go", []string{"inspect", fx("hello-go")}},
		{"inspect-dlopen", []string{"inspect", fx("dlopen")}},
		{"inspect-nss", []string{"inspect", fx("nss")}},
		{"inspect-arm64", []string{"inspect", fx("hello-cc-arm64")}},
		{"inspect-not-elf", []string{"inspect", repo + "/README.md"}},
		{"pack-hello-cc", []string{"pack", "--no-cache", "-o", "oci:" + out("cc"), fx("hello-cc")}},
		{"pack-nss-nonroot", []string{"pack", "--no-cache", "--user", "nonroot", "-o", "oci:" + out("nss"), fx("nss")}},
		{"pack-on-busybox", []string{"pack", "--no-cache", "--base", "oci:" + bb + ":glibc", "-o", "oci:" + out("bb"), fx("hello-cc")}},
		{"pack-musl-on-busybox", []string{"pack", "--no-cache", "--base", "oci:" + bb + ":glibc", "-o", "oci:" + out("musl"), fx("hello-musl")}},
		{"check-runs", []string{"check", "--base", "oci:" + bb + ":glibc", fx("hello-c")}},
		{"check-missing-libraries", []string{"check", "--base", "oci:" + bb + ":glibc", fx("hello-cc")}},
		{"check-other-libc", []string{"check", "--base", "oci:" + bb + ":glibc", fx("hello-musl")}},
		{"ls", []string{"ls", "oci:" + small + ":v1"}},
		{"error-bad-flag", []string{"pack", "--bogus", "x"}},
		{"error-bare-destination", []string{"pack", "-o", "out.tgz", fx("hello-c")}},
		{"error-missing-directory", []string{"pack", "-o", "oci-archive:" + tmp + "/no/such/x.tar", fx("hello-c")}},
		{"error-two-programs", []string{"pack", "-o", "oci:" + out("x"), fx("hello-c"), "--version"}},
		{"error-run-arguments", []string{"run", "oci:" + small + ":v1", "a", "b"}},
		{"error-ambiguous-layout", []string{"ls", "oci:" + amb}},
		{"error-unknown-command", []string{"frobnicate"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := run(t, []string{"SOURCE_DATE_EPOCH=0"}, tc.args...)
			got := normalize("$ scratchpack "+strings.Join(tc.args, " ")+"\n"+
				"exit "+strconv.Itoa(code)+"\n--- stdout\n"+stdout+"--- stderr\n"+stderr, repo, tmp)
			file := filepath.Join("testdata", "golden", tc.name+".txt")
			if *update {
				if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run go test ./cmd/scratchpack -run TestGolden -update to write it)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("%s differs (-want +got); if the change is meant, run go test ./cmd/scratchpack -run TestGolden -update and review the diff:\n%s", file, diff)
			}
		})
	}
}

var (
	digestRE    = regexp.MustCompile(`sha256:([0-9a-f]{64}|[0-9a-f]{12}\b)`)
	sizeRE      = regexp.MustCompile(`( +|\()[0-9]+(\.[0-9])? (B|kB|MB|GB)\b`)
	goVersionRE = regexp.MustCompile(`\bGo 1\.[0-9]+(\.[0-9]+)?`)
)

// normalize replaces what differs between machines and runs: paths,
// digests, sizes (alignment included) and the Go toolchain's version.
func normalize(s, repo, tmp string) string {
	s = strings.ReplaceAll(s, tmp, "<tmp>")
	s = strings.ReplaceAll(s, repo, "<repo>")
	s = digestRE.ReplaceAllString(s, "sha256:<digest>")
	s = goVersionRE.ReplaceAllString(s, "Go <version>")
	return sizeRE.ReplaceAllStringFunc(s, func(m string) string {
		if m[0] == '(' {
			return "(<size>"
		}
		return " <size>"
	})
}

// smallImage is an image of a few hand-made files, the same on every machine.
func smallImage(t *testing.T) v1.Image {
	t.Helper()
	layer := testenv.Layer(t,
		testenv.TarEntry{Header: tar.Header{Name: "app/", Typeflag: tar.TypeDir, Mode: 0o755}},
		testenv.TarEntry{Header: tar.Header{Name: "app/tool", Typeflag: tar.TypeReg, Mode: 0o755}, Data: "#!/bin/sh\necho hi\n"},
		testenv.TarEntry{Header: tar.Header{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o755}},
		testenv.TarEntry{Header: tar.Header{Name: "etc/app.conf", Typeflag: tar.TypeReg, Mode: 0o644}, Data: "answer = 42\n"},
		testenv.TarEntry{Header: tar.Header{Name: "bin", Typeflag: tar.TypeSymlink, Linkname: "app", Mode: 0o777}},
	)
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestCLIReference: docs/cli.md is every command's --help, as the app
// prints it, so README can link it and neither can drift. make docs (or
// go test ./cmd/scratchpack -run TestCLIReference -update) rewrites it.
func TestCLIReference(t *testing.T) {
	var b strings.Builder
	b.WriteString("# scratchpack command reference\n\n" +
		"Generated from the CLI itself by `make docs` (`scratchpack COMMAND --help` prints the same); do not edit.\n")
	section := func(title string, args ...string) {
		stdout, stderr, code := runInProcess(t, nil, args...)
		if code != 0 || stderr != "" {
			t.Fatalf("scratchpack %s: exit %d, %s", strings.Join(args, " "), code, stderr)
		}
		b.WriteString("\n## " + title + "\n\n```text\n" + stdout + "```\n")
	}
	section("scratchpack", "--help")
	for _, c := range userCommands(t) {
		if c.Name != "help" {
			section("scratchpack "+c.Name, c.Name, "--help")
		}
	}
	file := filepath.Join("..", "..", "docs", "cli.md")
	if *update {
		if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil || string(want) != b.String() {
		t.Errorf("docs/cli.md is not what the CLI prints (%v): run make docs and commit it", err)
	}
}
