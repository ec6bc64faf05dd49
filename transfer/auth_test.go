package transfer

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

func TestAuthFiles(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  AuthEnv
		want []string
	}{
		{"defaults", AuthEnv{Home: "/home/u", UID: 1000},
			[]string{"/run/containers/1000/auth.json", "/home/u/.config/containers/auth.json", "/home/u/.docker/config.json"}},
		{"xdg", AuthEnv{Home: "/home/u", UID: 1000, XDGRuntimeDir: "/run/user/1000", XDGConfigHome: "/cfg", DockerConfig: "/dc"},
			[]string{"/run/user/1000/containers/auth.json", "/cfg/containers/auth.json", "/dc/config.json"}},
		{"REGISTRY_AUTH_FILE", AuthEnv{Home: "/home/u", RegistryAuthFile: "/a.json", XDGRuntimeDir: "/run/user/0"},
			[]string{"/a.json", "/home/u/.config/containers/auth.json", "/home/u/.docker/config.json"}},
		{"authfile", AuthEnv{Home: "/home/u", AuthFile: "/mine.json", RegistryAuthFile: "/a.json"}, []string{"/mine.json"}},
		{"no home", AuthEnv{UID: 0}, []string{"/run/containers/0/auth.json"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, AuthFiles(tc.env)); diff != "" {
				t.Errorf("AuthFiles(%+v) (-want +got):\n%s", tc.env, diff)
			}
		})
	}
}

// writeAuthFile writes a Docker or podman auth file with basic auth for
// each registry of creds (host → user:password).
func writeAuthFile(t *testing.T, path string, creds map[string]string) {
	t.Helper()
	auths := map[string]any{}
	for host, userPass := range creds {
		auths[host] = map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(userPass))}
	}
	b, err := json.Marshal(map[string]any{"auths": auths})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestPodmanAuthBesideDocker: with a Docker config.json that has no entry
// for the registry, podman's auth file still gives its credentials, as
// skopeo finds them; go-containerregistry's keychain stops at Docker's file.
func TestPodmanAuthBesideDocker(t *testing.T) {
	reg := testenv.Registry(t, testenv.WithHtpasswd("alice", "s3cret"))
	home, dockerDir := t.TempDir(), t.TempDir()
	writeAuthFile(t, filepath.Join(dockerDir, "config.json"), map[string]string{"registry.example.com": "bob:other"})
	podmanFile := filepath.Join(t.TempDir(), "auth.json")
	writeAuthFile(t, podmanFile, map[string]string{reg.Addr: "alice:s3cret"})
	ref := mustParse(t, "docker://"+reg.Addr+"/app:v1")
	img := testImage(t, amd64, 1)

	t.Run("default keychain", func(t *testing.T) {
		t.Setenv("HOME", home)
		t.Setenv("DOCKER_CONFIG", dockerDir)
		t.Setenv("REGISTRY_AUTH_FILE", podmanFile)
		if _, err := Write(bg, img, []Ref{ref}, fastRetry); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("go-containerregistry's keychain: err = %v, want ErrUnauthorized (it reads only Docker's file)", err)
		}
	})
	for _, tc := range []struct {
		name string
		env  AuthEnv
	}{
		{"REGISTRY_AUTH_FILE", AuthEnv{Home: home, DockerConfig: dockerDir, RegistryAuthFile: podmanFile}},
		{"XDG_RUNTIME_DIR", func() AuthEnv {
			run := t.TempDir()
			writeAuthFile(t, filepath.Join(run, "containers", "auth.json"), map[string]string{reg.Addr: "alice:s3cret"})
			return AuthEnv{Home: home, DockerConfig: dockerDir, XDGRuntimeDir: run}
		}()},
		{"authfile", AuthEnv{Home: home, DockerConfig: dockerDir, AuthFile: podmanFile}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Write(bg, img, []Ref{ref}, WithAuthFiles(AuthFiles(tc.env)...), fastRetry); err != nil {
				t.Fatal(err)
			}
		})
	}

	t.Run("first file with an entry wins", func(t *testing.T) {
		wrong := filepath.Join(t.TempDir(), "auth.json")
		writeAuthFile(t, wrong, map[string]string{reg.Addr: "alice:wrong"})
		_, err := Write(bg, img, []Ref{ref}, WithAuthFiles(wrong, podmanFile), fastRetry)
		if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), wrong) || !strings.Contains(err.Error(), `(user "alice") were refused`) {
			t.Fatalf("err = %v, want ErrUnauthorized naming %s and the user", err, wrong)
		}
	})
}

// TestPushWithoutCredentials: a push refused for want of credentials says
// so, and where they were looked for; a read says the image may not exist.
func TestPushWithoutCredentials(t *testing.T) {
	reg := testenv.Registry(t, testenv.WithHtpasswd("alice", "s3cret"))
	files := AuthFiles(AuthEnv{Home: t.TempDir(), UID: 12345, XDGRuntimeDir: t.TempDir()})
	ref := mustParse(t, "docker://"+reg.Addr+"/app:v1")
	_, err := Write(bg, testImage(t, amd64, 1), []Ref{ref}, WithAuthFiles(files...), fastRetry)
	if !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("err = %v, want ErrUnauthorized", err)
	}
	for _, want := range append([]string{reg.Addr + " needs credentials to push", "docker login " + reg.Addr, "podman login " + reg.Addr}, files...) {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "may not exist") {
		t.Errorf("error %q says the image may not exist: it was a push", err)
	}
	_, err = load(t, ref, amd64, WithAuthFiles(files...), fastRetry)
	if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "may not exist") {
		t.Errorf("reading: err = %v, want ErrUnauthorized saying the image may not exist", err)
	}
}

func TestAuthFileErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "auth.json")
	if err := os.WriteFile(bad, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	k := &authFiles{files: []string{filepath.Join(t.TempDir(), "missing.json"), bad}}
	if _, err := k.Resolve(mustParse(t, "docker://127.0.0.1:5000/app").Name.Context()); err == nil || !strings.Contains(err.Error(), bad) {
		t.Fatalf("Resolve: err = %v, want one naming %s", err, bad)
	}
	k = &authFiles{files: []string{filepath.Join(t.TempDir(), "missing.json")}}
	if a, err := k.Resolve(mustParse(t, "docker://127.0.0.1:5000/app").Name.Context()); err != nil || a != authn.Anonymous {
		t.Fatalf("Resolve with no file = %v, %v; want anonymous", a, err)
	}
}
