package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

// TestPackNeverDestroys: pack -o oci-archive:PATH where PATH is a device
// node (made here with mknod, never the real /dev/null), a fifo or a file
// that is not an image archive exits 2 and leaves it as it was; --force
// replaces the file, and only the file.
func TestPackNeverDestroys(t *testing.T) {
	hello := testenv.Fixture(t, "hello-c")
	dir := t.TempDir()
	null := filepath.Join(dir, "null")
	if os.Geteuid() == 0 {
		if err := unix.Mknod(null, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
			t.Fatal(err)
		}
	} else if os.Getenv("CI") == "true" {
		t.Fatal("CI runs as root: mknod needs it")
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	notes := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notes, []byte("my notes"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path string
		force      bool // --force replaces it
		check      func() bool
	}{
		{"character device", null, false, func() bool {
			var st unix.Stat_t
			return unix.Lstat(null, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == unix.Mkdev(1, 3)
		}},
		{"fifo", fifo, false, func() bool { fi, err := os.Lstat(fifo); return err == nil && fi.Mode()&os.ModeNamedPipe != 0 }},
		{"notes.txt", notes, true, func() bool { b, err := os.ReadFile(notes); return err == nil && string(b) == "my notes" }},
	} {
		if tc.name == "character device" && os.Geteuid() != 0 {
			continue
		}
		for _, prefix := range []string{"oci-archive:", "docker-archive:"} {
			t.Run(tc.name+"/"+prefix, func(t *testing.T) {
				_, errOut, code := run(t, nil, "pack", "-o", prefix+tc.path, hello)
				if code != exitBadInput || !strings.Contains(errOut, "left alone") || !tc.check() {
					t.Fatalf("exit %d, want %d; still there: %v; stderr:\n%s", code, exitBadInput, tc.check(), errOut)
				}
				if tc.force != strings.Contains(errOut, "--force") {
					t.Errorf("the error does not say whether --force would help:\n%s", errOut)
				}
				_, errOut, code = run(t, nil, "pack", "--force", "-o", prefix+tc.path, hello)
				if tc.force {
					if code != 0 {
						t.Fatalf("pack --force: exit %d\n%s", code, errOut)
					}
					if err := os.WriteFile(notes, []byte("my notes"), 0o644); err != nil {
						t.Fatal(err)
					}
				} else if code != exitBadInput || !tc.check() {
					t.Fatalf("pack --force: exit %d, want %d; still there: %v\n%s", code, exitBadInput, tc.check(), errOut)
				}
			})
		}
	}
}

// TestPackTwoTagsOneArchive: two tags into one OCI archive, and two names
// into one docker archive, are all there.
func TestPackTwoTagsOneArchive(t *testing.T) {
	sk := skopeo(t)
	hello := testenv.Fixture(t, "hello-c")
	dir := t.TempDir()
	oci, dock := filepath.Join(dir, "m.tar"), filepath.Join(dir, "d.tar")
	digest := strings.TrimSpace(mustRun(t, nil, "pack", "-o", "oci-archive:"+oci+":a", "-o", "oci-archive:"+oci+":b",
		"-o", "docker-archive:"+dock+":app:a", "-o", "docker-archive:"+dock+":app:b", hello))
	for _, ref := range []string{"oci-archive:" + oci + ":a", "oci-archive:" + oci + ":b"} {
		var m struct{ Digest string }
		if err := json.Unmarshal([]byte(runTool(t, sk, "inspect", ref)), &m); err != nil {
			t.Fatal(err)
		}
		if m.Digest != digest {
			t.Errorf("%s is %s, want %s", ref, m.Digest, digest)
		}
	}
	for _, ref := range []string{"docker-archive:" + dock + ":app:a", "docker-archive:" + dock + ":app:b"} {
		runTool(t, sk, "inspect", ref)
	}
}

// TestBuildThreeImagesOneArchive: build of three images into one OCI
// archive (one tag each) and one docker archive keeps all three.
func TestBuildThreeImagesOneArchive(t *testing.T) {
	sk := skopeo(t)
	dir := t.TempDir()
	oci, dock := filepath.Join(dir, "shared.tar"), filepath.Join(dir, "shared-docker.tar")
	cfg := "version: 1\nimages:\n"
	for _, im := range []struct{ name, fixture string }{{"one", "hello-c"}, {"two", "hello-cc"}, {"three", "exit3"}} {
		cfg += "  " + im.name + ":\n    program: " + testenv.Fixture(t, im.fixture) + "\n" +
			"    output: [\"oci-archive:" + oci + ":" + im.name + "\", \"docker-archive:" + dock + ":app:" + im.name + "\"]\n"
	}
	file := filepath.Join(dir, "scratchpack.yaml")
	if err := os.WriteFile(file, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	var results []buildResult
	if err := json.Unmarshal([]byte(mustRun(t, nil, "build", "--config", file, "--json", "--jobs", "3")), &results); err != nil {
		t.Fatal(err)
	}
	if len(results) != 3 {
		t.Fatalf("%d results, want 3", len(results))
	}
	for _, r := range results {
		var m struct{ Digest string }
		if err := json.Unmarshal([]byte(runTool(t, sk, "inspect", "oci-archive:"+oci+":"+r.Name)), &m); err != nil {
			t.Fatal(err)
		}
		if m.Digest != r.Digest {
			t.Errorf("oci-archive %s:%s is %s, build said %s", oci, r.Name, m.Digest, r.Digest)
		}
		runTool(t, sk, "inspect", "docker-archive:"+dock+":app:"+r.Name)
	}
}

// TestSBOMThroughLinksAndDevices: --sbom and build's --digest-file written
// to a device (as /dev/stdout is) or a symbolic link write through it, and
// never rename a regular file over it.
func TestSBOMThroughLinksAndDevices(t *testing.T) {
	hello := testenv.Fixture(t, "hello-c")
	dir := t.TempDir()
	target := filepath.Join(dir, "target.json")
	if err := os.WriteFile(target, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.json")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	mustRun(t, nil, "pack", "--sbom", link, "-o", "oci:"+filepath.Join(dir, "out"), hello)
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("%s is no longer a symbolic link: %v %v", link, fi.Mode(), err)
	}
	if b, err := os.ReadFile(target); err != nil || !strings.Contains(string(b), "spdxVersion") {
		t.Errorf("the SBOM did not reach %s through the link: %v", target, err)
	}
	if os.Geteuid() != 0 {
		return
	}
	null := filepath.Join(dir, "null")
	if err := unix.Mknod(null, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
		t.Fatal(err)
	}
	mustRun(t, nil, "pack", "--sbom", null, "-o", "oci:"+filepath.Join(dir, "out2"), hello)
	var st unix.Stat_t
	if err := unix.Lstat(null, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR {
		t.Errorf("%s is no longer a character device (mode %o, %v)", null, st.Mode, err)
	}
}
