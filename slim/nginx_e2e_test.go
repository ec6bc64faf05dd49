package slim

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/scratchpack/scratchpack/internal/testenv"
	"github.com/scratchpack/scratchpack/runner"
	"github.com/scratchpack/scratchpack/transfer"
)

// nginxConf is Debian's nginx-light configured to listen on 127.0.0.1:PORT
// in the foreground, serving Debian's default page.
const nginxConf = `user www-data;
worker_processes 1;
pid /run/nginx.pid;
include /etc/nginx/modules-enabled/*.conf;
events { worker_connections 64; }
http {
	include /etc/nginx/mime.types;
	default_type application/octet-stream;
	access_log /var/log/nginx/access.log;
	error_log /var/log/nginx/error.log;
	server {
		listen 127.0.0.1:%d;
		root /var/www/html;
		index index.html index.nginx-debian.html;
	}
}
`

// TestNginxTraced: nginx-light's image of a whole Debian root, slimmed
// with a traced run that a curl on this machine exercises, serves the
// same page; static analysis alone cannot know its configuration.
func TestNginxTraced(t *testing.T) {
	testenv.HostProgram(t, "/usr/bin/curl", "curl")
	testenv.HostProgram(t, "/usr/bin/strace", "strace")
	port := freePort(t)
	img := testenv.DebianImage(t, testenv.DebianServers, v1.Config{
		Entrypoint: []string{"nginx", "-g", "daemon off;"}, StopSignal: "SIGQUIT",
		ExposedPorts: map[string]struct{}{strconv.Itoa(port) + "/tcp": {}},
	})
	img, err := mutate.AppendLayers(img, testenv.Layer(t, testenv.TarEntry{
		Header: tar.Header{Name: "etc/nginx/nginx.conf", Typeflag: tar.TypeReg, Mode: 0o644}, Data: fmt.Sprintf(nginxConf, port)}))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	testenv.WriteOCILayout(t, img, filepath.Join(dir, "in"), "nginx")
	out, err := transfer.ParseDest("oci:" + filepath.Join(dir, "out") + ":slim")
	if err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	res, err := Run(context.Background(), Spec{
		Image:   mustRef(t, "oci:"+filepath.Join(dir, "in")+":nginx"),
		WorkDir: t.TempDir(),
		Trace:   &TraceSpec{Probe: "curl -fsS " + url, Timeout: time.Minute, Run: []runner.Option{runner.WithWorkDir(t.TempDir())}},
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
	t.Logf("traced: %s", strings.Join(r.Traced, " "))
	for _, n := range r.Notes {
		t.Logf("note: %s", n)
	}
	if len(r.Traced) == 0 {
		t.Error("the trace added nothing")
	}

	loaded, err := transfer.Load(context.Background(), mustRef(t, "oci:"+filepath.Join(dir, "out")+":slim"))
	if err != nil {
		t.Fatal(err)
	}
	page := serve(t, loaded.(v1.Image), url)
	if !strings.Contains(page, "Welcome to nginx!") {
		t.Errorf("the slim nginx served:\n%s\nwant Debian's default page", page)
	}
}

// serve runs img (a server) on this machine's network until url answers,
// and returns the answer.
func serve(t *testing.T, img v1.Image, url string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var output bytes.Buffer
	done := make(chan error, 1)
	go func() {
		res, err := runner.Run(ctx, img, runner.WithHostNetwork(), runner.WithWorkDir(t.TempDir()),
			runner.WithStdio(nil, &output, &output), runner.WithGrace(2*time.Second))
		if err == nil && res.ExitCode != 0 {
			err = fmt.Errorf("exit code %d", res.ExitCode)
		}
		done <- err
	}()
	var last error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		select {
		case err := <-done:
			t.Fatalf("the server ended before answering: %v\n%s", err, &output)
		default:
		}
		resp, err := http.Get(url)
		if err != nil {
			last = err
			continue
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("%s: %s", resp.Status, body)
		}
		cancel()
		<-done
		if err != nil {
			t.Fatalf("GET %s: %v\n%s", url, err, &output)
		}
		return string(body)
	}
	cancel()
	<-done
	t.Fatalf("the server did not answer %s: %v\n%s", url, last, &output)
	return ""
}
