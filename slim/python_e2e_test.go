package slim

import (
	"archive/tar"
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/scratchpack/scratchpack/internal/testenv"
	"github.com/scratchpack/scratchpack/runner"
	"github.com/scratchpack/scratchpack/transfer"
)

// pythonApp is a script that imports json, ssl and sqlite3 (modules in C
// with libraries of their own) and prints what they did.
const pythonApp = `#!/usr/bin/env python3
import json, sqlite3, ssl, sys
db = sqlite3.connect(":memory:")
db.execute("create table t (x)")
db.execute("insert into t values (42)")
print(json.dumps({"sqlite": db.execute("select x from t").fetchone()[0],
                  "ssl": ssl.OPENSSL_VERSION, "python": list(sys.version_info[:2])}))
`

// TestPythonTraced: a Python application image of a whole Debian root,
// whose entrypoint is a #! script through env, slimmed with a traced run,
// prints what the original prints.
func TestPythonTraced(t *testing.T) {
	testenv.HostProgram(t, "/usr/bin/strace", "strace")
	img := testenv.DebianImage(t, testenv.DebianServers, v1.Config{Entrypoint: []string{"/app/main.py"}, WorkingDir: "/app"})
	img, err := mutate.AppendLayers(img, testenv.Layer(t,
		testenv.TarEntry{Header: tar.Header{Name: "app/", Typeflag: tar.TypeDir, Mode: 0o755}},
		testenv.TarEntry{Header: tar.Header{Name: "app/main.py", Typeflag: tar.TypeReg, Mode: 0o755}, Data: pythonApp}))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	testenv.WriteOCILayout(t, img, filepath.Join(dir, "in"), "app")
	out, err := transfer.ParseDest("oci:" + filepath.Join(dir, "out") + ":slim")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), Spec{
		Image:   mustRef(t, "oci:"+filepath.Join(dir, "in")+":app"),
		WorkDir: t.TempDir(),
		Trace:   &TraceSpec{Timeout: time.Minute, Run: []runner.Option{runner.WithWorkDir(t.TempDir())}},
	}, Options{Outputs: []transfer.Ref{out}})
	if err != nil {
		t.Fatal(err)
	}
	r := res.Reports[0]
	t.Logf("original %d bytes compressed (%d of files); slim %d compressed (%d of files, %d entries): %.1f%%",
		r.Original.Compressed, r.Original.Files, r.Slim.Compressed, r.Slim.Files, r.Slim.Count, 100*r.Ratio())
	for _, g := range r.Groups {
		t.Logf("kept: %s: %d entries, %d bytes", g.Reason, g.Files, g.Bytes)
	}
	for _, n := range r.Notes {
		t.Logf("note: %s", n)
	}
	if r.Script != "/app/main.py" {
		t.Errorf("script %q, want /app/main.py", r.Script)
	}
	loaded, err := transfer.Load(context.Background(), mustRef(t, "oci:"+filepath.Join(dir, "out")+":slim"))
	if err != nil {
		t.Fatal(err)
	}
	want := runOnce(t, img)
	got := runOnce(t, loaded.(v1.Image))
	if got != want || !strings.Contains(want, `"sqlite": 42`) {
		t.Errorf("the slim image prints\n%s\nthe original\n%s", got, want)
	}
}

// runOnce runs img and returns what it printed, failing unless it exits 0.
func runOnce(t *testing.T, img v1.Image) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	res, err := runner.Run(context.Background(), img, runner.WithWorkDir(t.TempDir()), runner.WithStdio(nil, &stdout, &stderr))
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 0 {
		t.Fatalf("exit code %d\nstdout: %s\nstderr: %s", res.ExitCode, &stdout, &stderr)
	}
	return stdout.String()
}
