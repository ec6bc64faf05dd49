package main

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

// writeAuth writes an auth file (Docker's config.json and podman's
// auth.json have one format) with basic auth for host.
func writeAuth(t *testing.T, path, host, user, pass string) {
	t.Helper()
	b, err := json.Marshal(map[string]any{"auths": map[string]any{
		host: map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))}}})
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

// TestRegistryAuthFiles: against an htpasswd registry, with a Docker
// config.json that has credentials for another registry only, podman's
// REGISTRY_AUTH_FILE and $XDG_RUNTIME_DIR/containers/auth.json give them,
// and so does --authfile; without any, the push says it needs them.
func TestRegistryAuthFiles(t *testing.T) {
	reg := testenv.Registry(t, testenv.WithHtpasswd("alice", "s3cret"))
	prog := testenv.Fixture(t, "hello-c")
	home, dockerDir, runDir := t.TempDir(), t.TempDir(), t.TempDir()
	writeAuth(t, filepath.Join(dockerDir, "config.json"), "registry.example.com", "bob", "other")
	podmanFile := filepath.Join(t.TempDir(), "auth.json")
	writeAuth(t, podmanFile, reg.Addr, "alice", "s3cret")
	// Nothing of this machine's: a HOME, DOCKER_CONFIG and XDG_RUNTIME_DIR of the test's.
	base := []string{"HOME=" + home, "DOCKER_CONFIG=" + dockerDir, "XDG_RUNTIME_DIR=" + runDir, "XDG_CONFIG_HOME=", "REGISTRY_AUTH_FILE="}

	t.Run("no credentials", func(t *testing.T) {
		_, errOut, code := run(t, base, "pack", "-o", "docker://"+reg.Addr+"/app:1", prog)
		if code != exitRegistry {
			t.Fatalf("exit %d, want %d:\n%s", code, exitRegistry, errOut)
		}
		for _, want := range []string{reg.Addr + " needs credentials to push", filepath.Join(runDir, "containers", "auth.json"),
			filepath.Join(dockerDir, "config.json"), "--authfile"} {
			if !strings.Contains(errOut, want) {
				t.Errorf("stderr does not say %q:\n%s", want, errOut)
			}
		}
		if strings.Contains(errOut, "may not exist") {
			t.Errorf("a refused push says the image may not exist:\n%s", errOut)
		}
	})
	t.Run("REGISTRY_AUTH_FILE", func(t *testing.T) {
		mustRun(t, append(base, "REGISTRY_AUTH_FILE="+podmanFile), "pack", "-o", "docker://"+reg.Addr+"/app:1", prog)
	})
	t.Run("XDG_RUNTIME_DIR", func(t *testing.T) {
		run := t.TempDir()
		writeAuth(t, filepath.Join(run, "containers", "auth.json"), reg.Addr, "alice", "s3cret")
		mustRun(t, append(base, "XDG_RUNTIME_DIR="+run), "pack", "-o", "docker://"+reg.Addr+"/app:2", prog)
	})
	t.Run("authfile", func(t *testing.T) {
		mustRun(t, base, "pack", "--authfile", podmanFile, "-o", "docker://"+reg.Addr+"/app:3", prog)
		out := mustRun(t, base, "ls", "--authfile", podmanFile, reg.Addr+"/app:3")
		if !strings.Contains(out, "/app/hello-c") {
			t.Errorf("ls does not list /app/hello-c:\n%s", out)
		}
	})
}
