package main

import (
	"archive/tar"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

// TestLsHostileNames: names and link targets with a newline or terminal
// escape sequences are printed escaped, one line per file, so that no name
// can forge a line or reach the terminal; --json keeps them exact.
func TestLsHostileNames(t *testing.T) {
	forged := "etc/innocent\n-rw-r--r--  0:0  0  layer 0    /etc/shadow"
	ansi := "etc/\x1b[31mred\x1b[0m"
	img, err := mutate.AppendLayers(empty.Image, testenv.Layer(t,
		testenv.TarEntry{Header: tar.Header{Name: forged, Typeflag: tar.TypeReg, Mode: 0o644}, Data: "x"},
		testenv.TarEntry{Header: tar.Header{Name: ansi, Typeflag: tar.TypeReg, Mode: 0o644}},
		testenv.TarEntry{Header: tar.Header{Name: "link", Typeflag: tar.TypeSymlink, Linkname: "a\nb\x07", Mode: 0o777}},
		testenv.TarEntry{Header: tar.Header{Name: "plain", Typeflag: tar.TypeReg, Mode: 0o644}},
	))
	if err != nil {
		t.Fatal(err)
	}
	layout := filepath.Join(t.TempDir(), "layout")
	testenv.WriteOCILayout(t, img, layout, "x")
	out := mustRun(t, nil, "ls", "oci:"+layout+":x")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 4 {
		t.Errorf("%d lines for 4 files:\n%s", len(lines), out)
	}
	if strings.ContainsAny(out, "\x1b\x07") {
		t.Errorf("control characters reach the terminal: %q", out)
	}
	for _, want := range []string{`"/etc/innocent\n-rw-r--r--  0:0  0  layer 0    /etc/shadow"`, `"/etc/\x1b[31mred\x1b[0m"`, `/link -> "a\nb\a"`, "  /plain\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %s in:\n%s", want, out)
		}
	}
	var files []lsEntry
	if err := json.Unmarshal([]byte(mustRun(t, nil, "ls", "--json", "oci:"+layout+":x")), &files); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range files {
		got[f.Path] = f.Target
	}
	if _, ok := got["/"+forged]; !ok || got["/link"] != "a\nb\x07" {
		t.Errorf("--json does not keep the names exact: %q", got)
	}
}
