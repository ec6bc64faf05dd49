package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

// TestPackNamedTarball: -t NAME:TAG names a FILE.tar as `docker save` names
// its images (manifest.json RepoTags): Docker loads it under that name and
// runs it by name, podman loads it under that name, and skopeo finds it by
// name in the docker-archive; an
// oci-archive: gets the name as its org.opencontainers.image.ref.name, and
// docker-archive:FILE:NAME:TAG names one too.
func TestPackNamedTarball(t *testing.T) {
	prog := testenv.Fixture(t, "hello-cc")
	dir := t.TempDir()
	tarPath, da, oa := filepath.Join(dir, "app.tar"), filepath.Join(dir, "d.tar"), filepath.Join(dir, "o.tar")
	out, errOut, code := run(t, nil, "pack", "-o", tarPath, "-o", "oci-archive:"+oa, "-t", "repo/app:1", prog)
	if code != 0 {
		t.Fatalf("pack: exit %d\n%s", code, errOut)
	}
	digest := strings.TrimSpace(out)
	if !strings.Contains(errOut, "wrote "+tarPath+" (named repo/app:1)") {
		t.Errorf("stderr does not say the name of %s:\n%s", tarPath, errOut)
	}
	mustRun(t, nil, "pack", "-o", "docker-archive:"+da+":repo/app:2", prog)

	sk := skopeo(t)
	for _, ref := range []string{"docker-archive:" + tarPath + ":repo/app:1", "oci-archive:" + oa + ":repo/app:1",
		"docker-archive:" + da + ":repo/app:2"} {
		if out := runTool(t, sk, "inspect", ref); !strings.Contains(out, `"docker.io/repo/app"`) && !strings.Contains(out, digest) {
			t.Errorf("skopeo inspect %s shows neither the name nor %s:\n%s", ref, digest, out)
		}
	}

	// podman (private storage) loads it under that name too.
	podman := hostTool(t, "podman", "podman")
	store := t.TempDir()
	pargs := []string{"--root", filepath.Join(store, "root"), "--runroot", filepath.Join(store, "run"),
		"--storage-driver", "vfs", "--events-backend", "file"}
	if out := runTool(t, podman, append(pargs, "load", "-i", tarPath)...); !strings.Contains(out, "Loaded image: docker.io/repo/app:1") {
		t.Errorf("podman load of %s does not name it docker.io/repo/app:1:\n%s", tarPath, out)
	}

	d := testenv.Dockerd(t)
	if out, err := d.Docker(t, "load", "-i", tarPath); err != nil || !strings.Contains(out, "Loaded image: repo/app:1") {
		t.Fatalf("docker load of %s: %v\n%s", tarPath, err, out)
	}
	if out, err := d.Docker(t, "run", "--rm", "--network", "none", "repo/app:1"); err != nil || out != "hello from C++\n" {
		t.Errorf("docker run repo/app:1: %q %v", out, err)
	}

	// A name needs a file to name; a tag alone does not name a file.
	_, errOut, code = run(t, nil, "pack", "-o", filepath.Join(dir, "x.tar"), "-t", "1", prog)
	if code != exitBadInput || !strings.Contains(errOut, "NAME:TAG") {
		t.Errorf("-o x.tar -t 1: exit %d (want %d) saying files are named by NAME:TAG:\n%s", code, exitBadInput, errOut)
	}
}
