package slim

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/scratchpack/scratchpack/internal/testenv"
	"github.com/scratchpack/scratchpack/runner"
	"github.com/scratchpack/scratchpack/transfer"
)

// redisConfig is the configuration of the redis image the tests slim: all
// that slim must keep.
var redisConfig = v1.Config{
	Entrypoint:   []string{"redis-server"},
	Cmd:          []string{"--protected-mode", "no"},
	User:         "redis",
	WorkingDir:   "/var/lib/redis",
	Env:          []string{testenv.DebianPath, "REDIS_FLAVOUR=debian"},
	ExposedPorts: map[string]struct{}{"6379/tcp": {}},
	Volumes:      map[string]struct{}{"/var/lib/redis": {}, "/data": {}},
	Labels:       map[string]string{"org.opencontainers.image.title": "redis"},
	StopSignal:   "SIGTERM",
}

// TestRedisStatic: redis-server's image made of a whole Debian root,
// slimmed without a trace, is at most a tenth of the original, keeps its
// configuration, and answers PING when run as scratchpack run runs it.
func TestRedisStatic(t *testing.T) {
	img := testenv.DebianImage(t, testenv.DebianServers, redisConfig)
	dir := t.TempDir()
	testenv.WriteOCILayout(t, img, filepath.Join(dir, "in"), "redis")
	in, err := transfer.ParseRef("oci:" + filepath.Join(dir, "in") + ":redis")
	if err != nil {
		t.Fatal(err)
	}
	out, err := transfer.ParseDest("oci:" + filepath.Join(dir, "out") + ":slim")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), Spec{Image: in, Keep: []string{"/etc/nowhere"}, WorkDir: t.TempDir()},
		Options{Outputs: []transfer.Ref{out}}); !errors.Is(err, ErrNotInImage) {
		t.Fatalf("keeping a path the image lacks: %v, want ErrNotInImage", err)
	}
	res, err := Run(context.Background(), Spec{Image: in, Keep: []string{"/etc/redis"}, WorkDir: t.TempDir()}, Options{Outputs: []transfer.Ref{out}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Reports) != 1 {
		t.Fatalf("%d reports, want 1", len(res.Reports))
	}
	r := res.Reports[0]
	t.Logf("original %d bytes compressed (%d of files, %d entries); slim %d bytes compressed (%d of files, %d entries): %.1f%%",
		r.Original.Compressed, r.Original.Files, r.Original.Count, r.Slim.Compressed, r.Slim.Files, r.Slim.Count, 100*r.Ratio())
	for _, g := range r.Groups {
		t.Logf("kept: %s: %d files, %d bytes", g.Reason, g.Files, g.Bytes)
	}
	for _, n := range r.Notes {
		t.Logf("note: %s", n)
	}
	if r.Ratio() > 0.10 || r.Ratio() == 0 {
		t.Errorf("slim is %.1f%% of the original (compressed), want at most 10%%", 100*r.Ratio())
	}
	if r.Slim.Files*10 > r.Original.Files {
		t.Errorf("slim holds %d bytes of files, the original %d: want at most 10%%", r.Slim.Files, r.Original.Files)
	}
	if !keptFor(r, "kept as asked", "/etc/redis/redis.conf") {
		t.Errorf("/etc/redis/redis.conf is not kept as asked (Keep /etc/redis)")
	}
	if r.Program != "/usr/bin/redis-check-rdb" {
		t.Errorf("program %s, want /usr/bin/redis-check-rdb (what /usr/bin/redis-server links to)", r.Program)
	}
	if diff := cmp.Diff([]string{"root", "redis"}, r.Users); diff != "" {
		t.Errorf("users (-want +got):\n%s", diff)
	}
	for _, n := range r.Notes {
		if strings.Contains(n, dir) || strings.Contains(n, "/slim-") {
			t.Errorf("a note names a host path: %s", n)
		}
	}

	loaded, err := transfer.Load(context.Background(), mustRef(t, "oci:"+filepath.Join(dir, "out")+":slim"))
	if err != nil {
		t.Fatal(err)
	}
	slim := loaded.(v1.Image)
	checkConfig(t, img, slim)
	ping(t, slim)
}

// keptFor reports whether the report lists p among the files kept for reason.
func keptFor(r *Report, reason, p string) bool {
	for _, g := range r.Groups {
		if g.Reason == reason && slices.Contains(g.Paths, p) {
			return true
		}
	}
	return false
}

// checkConfig compares what slim keeps of the original's configuration,
// and its history.
func checkConfig(t *testing.T, orig, slim v1.Image) {
	t.Helper()
	ocf, err := orig.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	scf, err := slim.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ocf.Config, scf.Config); diff != "" {
		t.Errorf("slim image's config (-original +slim):\n%s", diff)
	}
	d, err := orig.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if len(scf.History) == 0 {
		t.Fatal("the slim image has no history")
	}
	for _, h := range scf.History {
		if !strings.Contains(h.CreatedBy, "slim "+d.String()) {
			t.Errorf("history %q does not name the original %s", h.CreatedBy, d)
		}
	}
}

// ping runs img (redis-server) sharing this machine's network on a free
// port, and sends it PING until it answers PONG.
func ping(t *testing.T, img v1.Image) {
	t.Helper()
	port := freePort(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	done := make(chan error, 1)
	go func() {
		res, err := runner.Run(ctx, img, runner.WithHostNetwork(), runner.WithWorkDir(t.TempDir()),
			runner.WithArgs("--protected-mode", "no", "--port", strconv.Itoa(port), "--bind", "127.0.0.1"),
			runner.WithStdio(nil, &stdout, &stderr), runner.WithGrace(2*time.Second))
		if err == nil && res.ExitCode != 0 {
			err = fmt.Errorf("exit code %d", res.ExitCode)
		}
		done <- err
	}()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	var last error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		select {
		case err := <-done:
			t.Fatalf("redis-server ended before answering: %v\nstdout: %s\nstderr: %s", err, &stdout, &stderr)
		default:
		}
		var answer string
		if answer, last = send(addr, "PING"); last == nil {
			if answer != "+PONG" {
				t.Fatalf("PING: %q, want +PONG", answer)
			}
			cancel()
			<-done
			return
		}
	}
	cancel()
	<-done
	t.Fatalf("redis-server did not answer PING on %s: %v\nstdout: %s\nstderr: %s", addr, last, &stdout, &stderr)
}

// send sends one inline command to redis and returns its first line.
func send(addr, cmd string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := fmt.Fprintf(c, "%s\r\n", cmd); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func mustRef(t *testing.T, s string) transfer.Ref {
	t.Helper()
	r, err := transfer.ParseRef(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
