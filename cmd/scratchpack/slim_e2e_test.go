package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

// TestSlimRedis: scratchpack slim makes redis-server's image of a whole
// Debian 12 root at most a tenth of its size, statically, and the slim
// image, run by scratchpack run --network host, answers PING.
func TestSlimRedis(t *testing.T) {
	img := testenv.DebianImage(t, testenv.DebianServers, v1.Config{
		Entrypoint: []string{"redis-server"}, Cmd: []string{"--protected-mode", "no"},
		User: "redis", WorkingDir: "/var/lib/redis", Volumes: map[string]struct{}{"/var/lib/redis": {}},
		ExposedPorts: map[string]struct{}{"6379/tcp": {}},
	})
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in"), filepath.Join(dir, "out")
	testenv.WriteOCILayout(t, img, in, "redis")
	sbom := filepath.Join(dir, "sbom.json")
	stdout, stderr, code := run(t, nil, "slim", "--no-cache", "--json", "--smoke-args", "--version", "--sbom", sbom,
		"-o", "oci:"+out+":slim", "oci:"+in+":redis")
	t.Logf("scratchpack slim's report:\n%s", stderr)
	if code != 0 {
		t.Fatalf("scratchpack slim: exit %d", code)
	}
	if !strings.Contains(stderr, "wrote the SBOM "+sbom) {
		t.Errorf("slim --json --sbom: the SBOM written is not reported")
	}
	if !strings.Contains(stderr, `smoke run: the image's program (with ["--version"]) exited 0`) {
		t.Errorf("slim --smoke-args --version: no smoke run reported")
	}
	var doc struct{ SPDXVersion string }
	if b, err := os.ReadFile(sbom); err != nil || jsonUnmarshal(string(b), &doc) != nil || doc.SPDXVersion != "SPDX-2.3" {
		t.Errorf("slim --sbom %s: %v, %+v; want an SPDX 2.3 document", sbom, err, doc)
	}
	var res struct {
		Digest  string
		Reports []struct {
			Program  string
			Original struct{ Compressed, Files int64 }
			Slim     struct{ Compressed, Files int64 }
		}
	}
	if err := jsonUnmarshal(stdout, &res); err != nil {
		t.Fatalf("slim --json: %v\n%s", err, stdout)
	}
	if len(res.Reports) != 1 {
		t.Fatalf("slim --json: %d reports, want 1\n%s", len(res.Reports), stdout)
	}
	r := res.Reports[0]
	t.Logf("redis-server: original %d bytes compressed, %d of files; slim %d compressed, %d of files",
		r.Original.Compressed, r.Original.Files, r.Slim.Compressed, r.Slim.Files)
	if r.Slim.Compressed == 0 || r.Slim.Compressed*10 > r.Original.Compressed {
		t.Errorf("slim is %d bytes compressed, the original %d: want at most 10%%", r.Slim.Compressed, r.Original.Compressed)
	}

	port := strconv.Itoa(freeTCPPort(t))
	cmd := exec.Command(bin, "run", "--network", "host", "oci:"+out+":slim", "--",
		"--protected-mode", "no", "--port", port, "--bind", "127.0.0.1")
	var outBuf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &outBuf, &outBuf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}()
	addr := net.JoinHostPort("127.0.0.1", port)
	var last error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("scratchpack run ended before redis answered: %v\n%s", err, &outBuf)
		default:
		}
		answer, err := redisCommand(addr, "PING")
		if err == nil {
			if answer != "+PONG" {
				t.Fatalf("PING: %q, want +PONG", answer)
			}
			return
		}
		last = err
	}
	t.Fatalf("the slim redis did not answer PING on %s: %v\n%s", addr, last, &outBuf)
}

// TestSlimRefuses: what slim refuses before reading an image, with exit
// status 2.
func TestSlimRefuses(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no image", []string{"slim", "-o", "oci:" + dir + "/o"}, "slim needs an IMAGE"},
		{"no output", []string{"slim", "oci:" + dir + "/in"}, "slim needs at least one -o DEST"},
		{"two images", []string{"slim", "-o", "oci:" + dir + "/o", "oci:" + dir + "/a", "oci:" + dir + "/b"}, "slim takes one IMAGE"},
		{"scratch", []string{"slim", "-o", "oci:" + dir + "/o", "scratch"}, "scratch is empty"},
		{"arguments without --trace", []string{"slim", "-o", "oci:" + dir + "/o", "oci:" + dir + "/in", "--", "--port", "1"}, "give them with --trace"},
		{"a bad platform", []string{"slim", "--platform", "arm64", "-o", "oci:" + dir + "/o", "oci:" + dir + "/in"}, "--platform"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := run(t, nil, tc.args...)
			if code != 2 || !strings.Contains(stderr, tc.want) {
				t.Errorf("scratchpack %s: exit %d, %q; want exit 2 and %q", strings.Join(tc.args, " "), code, stderr, tc.want)
			}
		})
	}
}

// TestSlimNginxTrace: nginx-light's Debian image, configured to listen on
// 127.0.0.1:PORT, slimmed with --trace and a curl probe: the slim image,
// run by scratchpack run --network host, serves Debian's page.
func TestSlimNginxTrace(t *testing.T) {
	testenv.HostProgram(t, "/usr/bin/curl", "curl")
	testenv.HostProgram(t, "/usr/bin/strace", "strace")
	port := freeTCPPort(t)
	img := testenv.DebianImage(t, testenv.DebianServers, v1.Config{Entrypoint: []string{"nginx", "-g", "daemon off;"}})
	conf := fmt.Sprintf("user www-data;\nworker_processes 1;\npid /run/nginx.pid;\nevents { worker_connections 64; }\n"+
		"http {\n include /etc/nginx/mime.types;\n server {\n  listen 127.0.0.1:%d;\n  root /var/www/html;\n  index index.nginx-debian.html;\n }\n}\n", port)
	img, err := mutate.AppendLayers(img, testenv.Layer(t, testenv.TarEntry{
		Header: tar.Header{Name: "etc/nginx/nginx.conf", Typeflag: tar.TypeReg, Mode: 0o644}, Data: conf}))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in"), filepath.Join(dir, "out")
	testenv.WriteOCILayout(t, img, in, "nginx")
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	_, stderr, code := run(t, nil, "slim", "--no-cache", "--trace", "--trace-probe", "curl -fsS "+url, "-o", "oci:"+out+":slim", "oci:"+in+":nginx")
	t.Logf("scratchpack slim's report:\n%s", stderr)
	if code != 0 {
		t.Fatalf("scratchpack slim --trace: exit %d", code)
	}
	if !strings.Contains(stderr, "traced run: was stopped once the probe succeeded") || !strings.Contains(stderr, "/etc/nginx/nginx.conf") {
		t.Errorf("the report does not say that the trace added /etc/nginx/nginx.conf")
	}

	cmd := exec.Command(bin, "run", "--network", "host", "oci:"+out+":slim")
	var outBuf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &outBuf, &outBuf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}()
	var last error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("scratchpack run ended before nginx answered: %v\n%s", err, &outBuf)
		default:
		}
		page, err := exec.Command("curl", "-fsS", url).Output()
		if err == nil {
			if !strings.Contains(string(page), "Welcome to nginx!") {
				t.Fatalf("the slim nginx served:\n%s\nwant Debian's default page", page)
			}
			return
		}
		last = err
	}
	t.Fatalf("the slim nginx did not answer %s: %v\n%s", url, last, &outBuf)
}

// redisCommand sends one inline command to redis and returns its first line.
func redisCommand(addr, command string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := fmt.Fprintf(c, "%s\r\n", command); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}

func freeTCPPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
