package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

// skopeo returns the path of skopeo, skipping loudly (failing in CI) without it.
func skopeo(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("skopeo")
	if err != nil {
		if strings.EqualFold(getenv("CI"), "true") {
			t.Fatal("skopeo missing: make test installs it")
		}
		t.Skip("SKIP (component missing): skopeo")
	}
	return p
}

func runTool(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestPackTarballDockerLoad writes one FILE.tar, loads it into a real Docker
// daemon and runs it, and reads the same file with skopeo as oci-archive.
func TestPackTarballDockerLoad(t *testing.T) {
	prog := testenv.Fixture(t, "hello-cc")
	tarPath := filepath.Join(t.TempDir(), "hello.tar")
	digest := strings.TrimSpace(mustRun(t, nil, "pack", "-o", tarPath, prog))

	inspect := runTool(t, skopeo(t), "inspect", "oci-archive:"+tarPath)
	if !strings.Contains(inspect, digest) {
		t.Errorf("skopeo inspect oci-archive: does not show %s:\n%s", digest, inspect)
	}
	d := testenv.Dockerd(t)
	if out, err := d.Docker(t, "load", "-i", tarPath); err != nil {
		t.Fatalf("docker load: %v\n%s", err, out)
	}
	// A tarball without a name loads as an untagged image named by its config digest.
	id, err := d.Docker(t, "images", "-q", "--no-trunc")
	if err != nil || strings.TrimSpace(id) == "" {
		t.Fatalf("docker images after load: %q %v", id, err)
	}
	out, err := d.Docker(t, "run", "--rm", "--network", "none", strings.Fields(id)[0])
	if err != nil || out != "hello from C++\n" {
		t.Errorf("docker run: %q %v", out, err)
	}
}

// TestPackDockerArchiveAndOCIArchive checks the two archive transports with skopeo.
func TestPackDockerArchiveAndOCIArchive(t *testing.T) {
	prog := testenv.Fixture(t, "hello-c")
	dir := t.TempDir()
	da, oa := filepath.Join(dir, "d.tar"), filepath.Join(dir, "o.tar")
	digest := strings.TrimSpace(mustRun(t, nil, "pack", "-o", "docker-archive:"+da+":hello:1", "-o", "oci-archive:"+oa+":v1", prog))
	sk := skopeo(t)
	if out := runTool(t, sk, "inspect", "oci-archive:"+oa+":v1"); !strings.Contains(out, digest) {
		t.Errorf("skopeo inspect oci-archive: missing %s:\n%s", digest, out)
	}
	if out := runTool(t, sk, "inspect", "docker-archive:"+da); !strings.Contains(out, `"amd64"`) {
		t.Errorf("skopeo inspect docker-archive:\n%s", out)
	}
}

// TestPackPushWithAuth pushes to a real distribution registry with htpasswd
// authentication, reads it back by digest with skopeo, and checks that a
// wrong password gives a clear error and exit code 4.
func TestPackPushWithAuth(t *testing.T) {
	prog := testenv.Fixture(t, "hello-cc")
	reg := testenv.Registry(t, testenv.WithHtpasswd("alice", "s3cret-pass"))
	ref := reg.Addr + "/hello/cc:1.0"
	env := []string{"DOCKER_CONFIG=" + reg.DockerConfig(t)}
	digest := strings.TrimSpace(mustRun(t, env, "pack", "-o", "docker://"+ref, prog))

	sk := skopeo(t)
	creds := "--creds=alice:s3cret-pass"
	out := runTool(t, sk, "inspect", "--tls-verify=false", creds, "docker://"+ref)
	if !strings.Contains(out, digest) {
		t.Errorf("skopeo inspect of the pushed tag does not show %s:\n%s", digest, out)
	}
	layout := filepath.Join(t.TempDir(), "pulled")
	runTool(t, sk, "copy", "--src-tls-verify=false", "--src-creds=alice:s3cret-pass",
		"docker://"+reg.Addr+"/hello/cc@"+digest, "oci:"+layout+":pulled")
	if stdout, _, code := testenv.RunOCI(t, layout, "pulled"); stdout != "hello from C++\n" || code != 0 {
		t.Errorf("the image pulled by digest printed %q, exit %d", stdout, code)
	}

	bad := &testenv.RegistryServer{Addr: reg.Addr, User: "alice", Pass: "wrong"}
	_, errOut, code := run(t, []string{"DOCKER_CONFIG=" + bad.DockerConfig(t)}, "pack", "-o", "docker://"+ref, prog)
	if code != exitRegistry || !strings.Contains(errOut, reg.Addr) || strings.Contains(errOut, "wrong") {
		t.Errorf("wrong password: exit %d (want %d), stderr should name %s and not print the password:\n%s", code, exitRegistry, reg.Addr, errOut)
	}
}
