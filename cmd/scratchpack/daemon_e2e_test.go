package main

import (
	"strings"
	"testing"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

// TestPackDockerDaemon loads the image straight into Debian's dockerd over
// its socket (DOCKER_HOST), under two tags, and runs it there.
func TestPackDockerDaemon(t *testing.T) {
	prog := testenv.Fixture(t, "hello-cc")
	d := testenv.Dockerd(t)
	env := []string{"DOCKER_HOST=" + d.Host}
	id := strings.TrimSpace(mustRun(t, env, "pack", "-o", "docker-daemon:scratchpack/hello-cc:e2e", "-t", "second", prog))
	if !strings.HasPrefix(id, "sha256:") {
		t.Fatalf("pack printed %q", id)
	}
	// For a daemon alone, stdout is the image ID, which Docker knows the image by.
	if out, err := d.Docker(t, "run", "--rm", "--network", "none", id); err != nil || out != "hello from C++\n" {
		t.Errorf("docker run %s (what pack printed): %q %v", id, out, err)
	}
	res, _ := packJSONOut(t, env, "-o", "docker-daemon:scratchpack/hello-cc:json", prog)
	if out, err := d.Docker(t, "image", "inspect", "--format", "{{.Id}}", "scratchpack/hello-cc:json"); err != nil || strings.TrimSpace(out) != res.ImageID {
		t.Errorf("docker's image ID %q (%v), pack --json's image_id %q", out, err, res.ImageID)
	}
	for _, ref := range []string{"scratchpack/hello-cc:e2e", "scratchpack/hello-cc:second"} {
		out, err := d.Docker(t, "run", "--rm", "--network", "none", ref)
		if err != nil || out != "hello from C++\n" {
			t.Errorf("docker run %s: %q %v", ref, out, err)
		}
	}
	// No daemon there: exit 4, naming the socket.
	_, errOut, code := run(t, []string{"DOCKER_HOST=unix:///nonexistent/docker.sock"}, "pack", "-o", "docker-daemon:x", prog)
	if code != exitRegistry || !strings.Contains(errOut, "/nonexistent/docker.sock") {
		t.Errorf("no daemon: exit %d (want %d)\n%s", code, exitRegistry, errOut)
	}
}
