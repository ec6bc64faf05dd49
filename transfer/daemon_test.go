package transfer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// fakeDaemon serves POST /images/load on a unix socket the way dockerd
// does: it reads the docker-save tarball and answers with a JSON stream. It
// returns the DOCKER_HOST and a function giving the tags of the last load.
func fakeDaemon(t *testing.T, answer func(tags []string) string) (string, func() []string) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "d.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/images/load" || r.Header.Get("Content-Type") != "application/x-tar" {
			http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusBadRequest)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(string(body))), nil })
		if err != nil || len(m) != 1 {
			http.Error(w, fmt.Sprintf("not a docker save tarball: %v", err), 500)
			return
		}
		got = m[0].RepoTags
		io.WriteString(w, answer(got))
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return "unix://" + sock, func() []string { return got }
}

func loaded(tags []string) string {
	var b strings.Builder
	for _, t := range tags {
		json.NewEncoder(&b).Encode(map[string]string{"stream": "Loaded image: " + strings.TrimPrefix(t, "docker.io/library/") + "\n"})
	}
	return b.String()
}

func TestLoadDaemon(t *testing.T) {
	img := testImage(t, amd64, 3)
	host, tags := fakeDaemon(t, loaded)
	dsts := []Ref{mustParse(t, "docker-daemon:hello"), mustParse(t, "docker-daemon:docker.io/library/hello:v2")}
	if _, err := Write(bg, img, dsts, WithDockerHost(host)); err != nil {
		t.Fatal(err)
	}
	got := tags()
	sort.Strings(got) // tarball.MultiRefWrite lists them in map order
	if got, want := strings.Join(got, " "), "docker.io/library/hello:v2 hello:latest"; got != want {
		t.Errorf("the daemon got tags %q, want %q", got, want)
	}

	refuse, _ := fakeDaemon(t, func([]string) string {
		return `{"errorDetail":{"message":"no space left on device"},"error":"no space left on device"}` + "\n"
	})
	if _, err := Write(bg, img, dsts[:1], WithDockerHost(refuse)); !errors.Is(err, ErrDaemon) || !strings.Contains(err.Error(), "no space left") {
		t.Errorf("a refused load: %v", err)
	}
	silent, _ := fakeDaemon(t, func([]string) string { return "" })
	if _, err := Write(bg, img, dsts[:1], WithDockerHost(silent)); !errors.Is(err, ErrDaemon) {
		t.Errorf("a load the daemon does not confirm: %v", err)
	}
	if _, err := Write(bg, img, dsts[:1], WithDockerHost("unix://"+filepath.Join(t.TempDir(), "none.sock"))); !errors.Is(err, ErrDaemon) {
		t.Errorf("no daemon: %v", err)
	}
	idx, _ := testIndex(t)
	if _, err := WriteIndex(bg, idx, dsts[:1], WithDockerHost(host)); !errors.Is(err, ErrBadRef) {
		t.Errorf("an index to a daemon: %v", err)
	}
	if _, err := Write(bg, img, dsts[:1], WithDockerHost("tcp://192.0.2.1:2375")); err == nil || !strings.Contains(err.Error(), "unix socket") {
		t.Errorf("a tcp:// daemon: %v", err)
	}
}

func TestFamiliar(t *testing.T) {
	for in, want := range map[string]string{
		"hello:1":                  "hello:1",
		"docker.io/library/x:2":    "x:2",
		"docker.io/me/x:2":         "me/x:2",
		"127.0.0.1:5000/a/b:3":     "127.0.0.1:5000/a/b:3",
		"index.docker.io/me/app:y": "me/app:y",
	} {
		tag, err := name.NewTag(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := familiar(tag); got != want {
			t.Errorf("familiar(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestDaemonReadsZstd(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    daemonVersion
		want bool
	}{
		{"Debian's Docker 20.10", daemonVersion{Version: "20.10.24+dfsg1", APIVersion: "1.41"}, false},
		{"Docker 23.0", daemonVersion{Version: "23.0.0", APIVersion: "1.42"}, true},
		{"Docker 28", daemonVersion{Version: "28.2.2", APIVersion: "1.50"}, true},
		{"podman 4.3", daemonVersion{Version: "4.3.1", APIVersion: "1.41", Components: []struct {
			Name    string `json:"Name"`
			Version string `json:"Version"`
		}{{Name: "Podman Engine", Version: "4.3.1"}}}, true},
		{"unreadable", daemonVersion{APIVersion: "x"}, true},
		{"API 1.9", daemonVersion{APIVersion: "1.9"}, false},
	} {
		if got := tc.v.readsZstd(); got != tc.want {
			t.Errorf("%s: readsZstd() = %v, want %v", tc.name, got, tc.want)
		}
	}
}
