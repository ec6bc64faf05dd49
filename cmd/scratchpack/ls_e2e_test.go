package main

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/scratchpack/scratchpack/internal/testenv"
	"github.com/scratchpack/scratchpack/transfer"
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

// TestLsCorruptLayer: ls of a registry image whose (uncompressed) layer
// the registry serves with a byte of a file changed fails (exit 4), naming
// the image and the layer, where it listed the damaged layer's files and
// exited 0.
func TestLsCorruptLayer(t *testing.T) {
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	data := strings.Repeat("data ", 200)
	tw.WriteHeader(&tar.Header{Name: "etc/file", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(data))})
	tw.Write([]byte(data))
	tw.Close()
	layer := static.NewLayer(tb.Bytes(), types.OCIUncompressedLayer)
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	bad, err := layer.Digest()
	if err != nil {
		t.Fatal(err)
	}
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/blobs/"+bad.String()) {
			reg.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		reg.ServeHTTP(rec, r)
		b := rec.Body.Bytes()
		b[600] ^= 1 // in the file's data: the tar still reads
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(b)
	}))
	defer s.Close()
	host := strings.TrimPrefix(s.URL, "http://")
	dst, err := transfer.ParseRef("docker://" + host + "/corrupt:v1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := transfer.Write(context.Background(), img, []transfer.Ref{dst}); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, nil, "ls", host+"/corrupt:v1")
	if code != exitRegistry || !strings.Contains(errOut, "does not match its digest") || !strings.Contains(errOut, "layer 1 of docker://"+host+"/corrupt:v1") {
		t.Fatalf("exit %d, want %d naming the damaged layer; stdout %q, stderr:\n%s", code, exitRegistry, out, errOut)
	}
}
