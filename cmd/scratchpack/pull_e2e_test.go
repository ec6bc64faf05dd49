package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

// hostTool returns the path of a tool the test needs, skipping loudly
// without it (failing in CI, where make test installs it).
func hostTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if getenv("CI") == "true" {
			t.Fatalf("%s missing: make test installs %s", name, pkg)
		}
		t.Skipf("SKIP (component missing): %s (Debian package %s)", name, pkg)
	}
	return p
}

// multiPlatformBase pushes an index of the busybox:glibc-shaped base for
// amd64 and a stand-in arm64 image, and returns its reference.
func multiPlatformBase(t *testing.T, reg *testenv.RegistryServer) string {
	t.Helper()
	amd := testenv.BusyboxGlibcImage(t)
	cf, err := amd.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.Variant = "arm64", "v8"
	arm, err := mutate.ConfigFile(amd, cf)
	if err != nil {
		t.Fatal(err)
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, a := range []struct {
		img v1.Image
		p   v1.Platform
	}{{amd, v1.Platform{OS: "linux", Architecture: "amd64"}}, {arm, v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}}} {
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: a.img, Descriptor: v1.Descriptor{Platform: &a.p}})
	}
	ref := reg.Addr + "/base/busybox:glibc"
	n, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(n, idx, remote.WithContext(context.Background())); err != nil {
		t.Fatal(err)
	}
	return ref
}

// TestPullThenPackAirGapped saves a two-platform base from a registry with
// pull, then packs on it inside a network namespace that has only loopback
// (unshare -n: the registry cannot be reached), under strace, and checks
// that not one connection to a network address was even attempted.
func TestPullThenPackAirGapped(t *testing.T) {
	prog := testenv.Fixture(t, "hello-cc")
	unshare := hostTool(t, "unshare", "util-linux")
	strace := hostTool(t, "strace", "strace")
	if os.Geteuid() != 0 {
		t.Skip("SKIP (requires root): unshare -n needs root")
	}
	reg := testenv.Registry(t)
	base := multiPlatformBase(t, reg)
	dir := t.TempDir()
	archive := filepath.Join(dir, "busybox.tar")
	digest := strings.TrimSpace(mustRun(t, nil, "pull", base, "-o", "oci-archive:"+archive))
	if !strings.Contains(runTool(t, skopeo(t), "inspect", "--tls-verify=false", "--raw", "docker://"+base), `"manifests"`) {
		t.Fatal("the pushed base is not an index")
	}
	// Every platform was saved: each is listed from the file.
	for _, p := range []string{"linux/amd64", "linux/arm64"} {
		if out := mustRun(t, nil, "ls", "--platform", p, "oci-archive:"+archive); !strings.Contains(out, "/bin/busybox") {
			t.Errorf("ls --platform %s of the pulled archive:\n%s", p, out)
		}
	}
	// skopeo reads the same index from the file as from the registry.
	raw := runTool(t, skopeo(t), "inspect", "--raw", "oci-archive:"+archive)
	if sum := sha256.Sum256([]byte(raw)); "sha256:"+hex.EncodeToString(sum[:]) != digest || strings.Count(raw, `"platform"`) != 2 {
		t.Errorf("skopeo inspect --raw of the archive is not the two-platform index %s:\n%s", digest, raw)
	}

	// In the namespace the registry is unreachable: pull fails there, and
	// strace sees it try (so the check below would see a connection).
	inet := regexp.MustCompile(`connect\(.*AF_INET6?`)
	pullTrace := filepath.Join(dir, "pull.log")
	cmd := exec.Command(unshare, "-n", strace, "-f", "-qq", "-e", "trace=connect", "-o", pullTrace,
		bin, "pull", base, "-o", "oci-archive:"+filepath.Join(dir, "again.tar"))
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), reg.Addr) {
		t.Fatalf("pull inside unshare -n should fail to reach %s: %v\n%s", reg.Addr, err, out)
	}
	if log, _ := os.ReadFile(pullTrace); !inet.Match(log) {
		t.Fatalf("strace saw no connect() from the pull that must try one:\n%s", log)
	}

	layout := filepath.Join(dir, "out")
	trace := filepath.Join(dir, "strace.log")
	cmd = exec.Command(unshare, "-n", strace, "-f", "-qq", "-e", "trace=connect", "-o", trace,
		bin, "pack", "--base", "oci-archive:"+archive, "-o", "oci:"+layout+":app", prog)
	// A proxy that does not exist: were any request made, it would fail.
	cmd.Env = append(os.Environ(), "HTTPS_PROXY=http://127.0.0.1:9", "HTTP_PROXY=http://127.0.0.1:9")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pack --base oci-archive: inside unshare -n: %v\n%s", err, out)
	}
	log, err := os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	if tries := inet.FindAllString(string(log), -1); len(tries) > 0 {
		t.Errorf("pack on an oci-archive: base tried to connect: %v", tries)
	}
	// ls tells which layer each file came from: the base's, or the program's.
	var files []lsEntry
	if err := jsonUnmarshal(mustRun(t, nil, "ls", "--json", "oci:"+layout+":app"), &files); err != nil {
		t.Fatal(err)
	}
	layers := map[string]int{}
	for _, f := range files {
		layers[f.Path] = f.Layer
	}
	if l, ok := layers["/bin/busybox"]; !ok || l != 0 || layers["/app/hello-cc"] != 1 {
		t.Errorf("ls: /bin/busybox in layer %d (%t), /app/hello-cc in layer %d; want 0 and 1", l, ok, layers["/app/hello-cc"])
	}
	if out, _, code := testenv.RunOCI(t, layout, "app"); out != "hello from C++\n" || code != 0 {
		t.Errorf("the image packed without a network printed %q, exit %d", out, code)
	}
}

// TestPullPlatform: pull --platform saves one platform's image of an index,
// which docker archives need; without it, a docker archive is refused with
// what to do.
func TestPullPlatform(t *testing.T) {
	reg := testenv.Registry(t)
	ref := multiPlatformBase(t, reg)
	dir := t.TempDir()
	_, errOut, code := run(t, nil, "pull", ref, "-o", "docker-archive:"+filepath.Join(dir, "all.tar"))
	if code != exitBadInput || !strings.Contains(errOut, "choose one platform") {
		t.Errorf("pull of an index to a docker archive: exit %d, stderr %q; want %d and a way out", code, errOut, exitBadInput)
	}
	archive := filepath.Join(dir, "arm64.tar")
	mustRun(t, nil, "pull", "--platform", "linux/arm64", ref, "-o", "docker-archive:"+archive+":bb:arm64")
	out := mustRun(t, nil, "ls", "--platform", "linux/arm64", "docker-archive:"+archive)
	if !strings.Contains(out, "/bin/busybox") {
		t.Errorf("ls of the saved arm64 image:\n%s", out)
	}
	if _, errOut, code := run(t, nil, "ls", "docker-archive:"+archive); code != exitWontRun || !strings.Contains(errOut, "arm64") {
		t.Errorf("the saved image is not (only) arm64: ls for amd64 gave exit %d, %s", code, errOut)
	}
}
