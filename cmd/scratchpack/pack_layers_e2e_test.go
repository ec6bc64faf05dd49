package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

// packJSONOut runs pack --json with args and decodes the result.
func packJSONOut(t *testing.T, env []string, args ...string) (packResult, string) {
	t.Helper()
	out, errOut, code := run(t, env, append([]string{"pack", "--json"}, args...)...)
	if code != 0 {
		t.Fatalf("scratchpack pack --json %s: exit %d\n%s", strings.Join(args, " "), code, errOut)
	}
	var res packResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("pack --json output %q: %v", out, err)
	}
	return res, errOut
}

// TestPackLibsLayer packs fixtures with --layers=libs, runs each in runc (so
// the two layers together hold every file the loader needs), and checks
// that programs needing the same glibc libraries get the same C library
// layer.
func TestPackLibsLayer(t *testing.T) {
	libsLayer := map[string]string{}
	for _, tc := range []struct {
		name   string
		layers int
	}{
		{"hello-c", 2}, {"rpath/bin/greet", 2}, {"hello-cc", 2}, {"hello-musl", 2}, {"hello-go", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prog := testenv.Fixture(t, tc.name)
			wantOut, wantCode := hostOutput(t, prog)
			layout := filepath.Join(t.TempDir(), "layout")
			res, _ := packJSONOut(t, nil, "--no-cache", "--layers=libs", "-o", "oci:"+layout+":test", prog)
			if len(res.Layers) != tc.layers {
				t.Fatalf("%d layers %+v, want %d", len(res.Layers), res.Layers, tc.layers)
			}
			if tc.layers == 2 {
				libsLayer[tc.name] = res.Layers[0].Digest
				if !strings.Contains(res.Layers[0].Holds, "C library") {
					t.Errorf("first layer holds %q, want the C library", res.Layers[0].Holds)
				}
			}
			out, errOut, code := testenv.RunOCI(t, layout, "test")
			if out != wantOut || code != wantCode {
				t.Errorf("in runc: exit %d, stdout %q, stderr %q; on the host: exit %d, stdout %q", code, out, errOut, wantCode, wantOut)
			}
			again, _ := packJSONOut(t, []string{"TMPDIR=" + t.TempDir()}, "--no-cache", "--layers=libs", "-o", "oci:"+layout+":again", prog)
			if again.Digest != res.Digest {
				t.Errorf("packed twice: %s and %s", res.Digest, again.Digest)
			}
		})
	}
	// hello-c and greet need libc only: one layer for both. hello-cc also
	// needs libm: another.
	if c, g := libsLayer["hello-c"], libsLayer["rpath/bin/greet"]; c == "" || c != g {
		t.Errorf("C library layers of hello-c %q and greet %q: want the same", c, g)
	}
	if c, cc := libsLayer["hello-c"], libsLayer["hello-cc"]; c == cc {
		t.Errorf("hello-cc (libc and libm) has the C library layer of hello-c (libc only): %s", c)
	}
}

// settled waits, if needed, until path was last changed more than the
// cache's racy window (2s) ago, so that a layer holding it is cached.
func settled(t *testing.T, path string) {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	changed := time.Unix(st.Ctim.Unix())
	if wait := 3*time.Second - time.Since(changed); wait > 0 {
		time.Sleep(wait)
	}
}

// TestPackCache packs the same program four times with one cache: the
// second pack takes the layer from the cache; a byte flipped in the cached
// blob is detected and the layer rebuilt, identical; --no-cache neither reads
// nor writes the cache. XDG_CACHE_HOME sets the default cache directory.
func TestPackCache(t *testing.T) {
	prog := testenv.Fixture(t, "hello-cc")
	settled(t, prog)
	xdg := t.TempDir()
	env := []string{"XDG_CACHE_HOME=" + xdg}
	cacheDir := filepath.Join(xdg, "scratchpack")
	pack := func(args ...string) (packResult, string) {
		t.Helper()
		return packJSONOut(t, env, append(append([]string{"--layers=libs"}, args...), "-o", "oci:"+filepath.Join(t.TempDir(), "l"), prog)...)
	}
	first, _ := pack()
	if len(first.Layers) != 2 || first.Layers[0].Cached || first.Layers[1].Cached {
		t.Fatalf("first pack with an empty cache: layers %+v", first.Layers)
	}
	second, errOut := pack()
	if second.Digest != first.Digest || !second.Layers[0].Cached || !second.Layers[1].Cached {
		t.Errorf("second pack: digest %s (first %s), layers %+v; want both from the cache", second.Digest, first.Digest, second.Layers)
	}
	if !strings.Contains(errOut, "from the cache") {
		t.Errorf("the report does not say the layers came from the cache:\n%s", errOut)
	}

	// Flip a byte of the program layer's blob, in place.
	blob := filepath.Join(cacheDir, "blobs", "sha256", strings.TrimPrefix(first.Layers[1].Digest, "sha256:"))
	b, err := os.ReadFile(blob)
	if err != nil {
		t.Fatalf("the layer is not in the cache at %s: %v", blob, err)
	}
	b[len(b)/3] ^= 1
	if err := os.WriteFile(blob, b, 0o644); err != nil {
		t.Fatal(err)
	}
	third, errOut := pack()
	if third.Digest != first.Digest || !third.Layers[0].Cached || third.Layers[1].Cached {
		t.Errorf("after corrupting the program layer: digest %s (first %s), layers %+v; want it rebuilt, the C library layer cached",
			third.Digest, first.Digest, third.Layers)
	}
	if !strings.Contains(errOut, "rebuilt a corrupt cache entry") || !strings.Contains(errOut, blob) {
		t.Errorf("the report does not tell of the corrupt entry %s:\n%s", blob, errOut)
	}
	if fourth, _ := pack(); !fourth.Layers[1].Cached {
		t.Errorf("after the rebuild the layer is not cached: %+v", fourth.Layers)
	}

	entries := func() int {
		es, _ := filepath.Glob(filepath.Join(cacheDir, "layers", "*.json"))
		return len(es)
	}
	before := entries()
	noCache, _ := pack("--no-cache", "--compression", "zstd")
	if noCache.Layers[0].Cached || entries() != before {
		t.Errorf("--no-cache: layers %+v, cache entries %d → %d; want nothing read or written", noCache.Layers, before, entries())
	}
	other, _ := pack("--cache", filepath.Join(t.TempDir(), "c"))
	if other.Digest != first.Digest || other.Layers[0].Cached {
		t.Errorf("--cache DIR (empty): digest %s, layers %+v", other.Digest, other.Layers)
	}
}

// TestPackCacheFullDisk: a cache without room for the layer gives exit 4
// naming the cache, the problem and --no-cache, and leaves no file in it.
func TestPackCacheFullDisk(t *testing.T) {
	prog := testenv.Fixture(t, "hello-cc")
	cache := filepath.Join(tmpfs(t, 512<<10), "cache")
	_, errOut, code := run(t, nil, "pack", "--cache", cache, "-o", "oci:"+filepath.Join(t.TempDir(), "l"), prog)
	for _, want := range []string{cache, "no space left on device", "--no-cache"} {
		if code != exitRegistry || !strings.Contains(errOut, want) {
			t.Errorf("exit %d, want %d saying %q:\n%s", code, exitRegistry, want, errOut)
		}
	}
	err := filepath.WalkDir(cache, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			t.Errorf("left %s in the cache", p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestPackCacheTwoProcesses runs two packs at once on one empty cache: both
// succeed with the same digest, and the cache they leave serves a third.
func TestPackCacheTwoProcesses(t *testing.T) {
	prog := testenv.Fixture(t, "hello-cc")
	settled(t, prog)
	cache := filepath.Join(t.TempDir(), "cache")
	var wg sync.WaitGroup
	outs, stderrs := make([]string, 2), make([]bytes.Buffer, 2)
	errs := make([]error, 2)
	for i := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(bin, "pack", "--cache", cache, "--layers=libs", "-o", "oci:"+filepath.Join(t.TempDir(), "l"), prog)
			cmd.Stderr = &stderrs[i]
			out, err := cmd.Output()
			outs[i], errs[i] = strings.TrimSpace(string(out)), err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("pack %d: %v\n%s", i, err, stderrs[i].String())
		}
	}
	if outs[0] != outs[1] {
		t.Errorf("two packs at once: %s and %s", outs[0], outs[1])
	}
	third, _ := packJSONOut(t, nil, "--cache", cache, "--layers=libs", "-o", "oci:"+filepath.Join(t.TempDir(), "l"), prog)
	if third.Digest != outs[0] || !third.Layers[0].Cached || !third.Layers[1].Cached {
		t.Errorf("after two packs at once: digest %s (%s), layers %+v; want both from the cache", third.Digest, outs[0], third.Layers)
	}
}

// TestPackZstd writes a zstd image and reads it with other tools: the zstd
// command (the reference decoder) gets the diff_id back from the blob,
// skopeo copies it (decompressing it to recompress with gzip), and podman
// loads and runs it.
func TestPackZstd(t *testing.T) {
	prog := testenv.Fixture(t, "hello-cc")
	dir := t.TempDir()
	layout, archive := filepath.Join(dir, "layout"), filepath.Join(dir, "z.tar")
	res, _ := packJSONOut(t, nil, "--no-cache", "--compression", "zstd", "-o", "oci:"+layout+":z", "-o", "oci-archive:"+archive+":z", prog)
	if len(res.Layers) != 1 || res.Layers[0].MediaType != "application/vnd.oci.image.layer.v1.tar+zstd" {
		t.Fatalf("layers %+v: want one, application/vnd.oci.image.layer.v1.tar+zstd", res.Layers)
	}
	sk := skopeo(t)
	var m struct {
		Layers []struct{ MediaType, Digest string }
	}
	if err := json.Unmarshal([]byte(runTool(t, sk, "inspect", "--raw", "oci:"+layout+":z")), &m); err != nil || len(m.Layers) != 1 {
		t.Fatalf("skopeo inspect --raw: %+v %v", m, err)
	}
	if m.Layers[0].MediaType != res.Layers[0].MediaType || m.Layers[0].Digest != res.Layers[0].Digest {
		t.Errorf("skopeo sees layer %+v, pack wrote %+v", m.Layers[0], res.Layers[0])
	}

	zstd, err := exec.LookPath("zstd")
	if err != nil {
		if getenv("CI") == "true" {
			t.Fatal("zstd missing: make test installs it")
		}
		t.Skip("SKIP (component missing): zstd")
	}
	blob := filepath.Join(layout, "blobs", "sha256", strings.TrimPrefix(res.Layers[0].Digest, "sha256:"))
	tarBytes, err := exec.Command(zstd, "-d", "-c", blob).Output()
	if err != nil {
		t.Fatalf("zstd -d %s: %v", blob, err)
	}
	if sum := sha256.Sum256(tarBytes); "sha256:"+hex.EncodeToString(sum[:]) != res.Layers[0].DiffID {
		t.Errorf("zstd -d gives a tar with sha256:%x; the layer's diff_id is %s", sum, res.Layers[0].DiffID)
	}

	// skopeo reads the zstd blob (checking its digest) and writes it as gzip:
	// the gzip blob must hold the same tar.
	gz := filepath.Join(dir, "gz")
	runTool(t, sk, "copy", "--dest-compress-format", "gzip", "--dest-compress", "oci:"+layout+":z", "dir:"+gz)
	raw, err := os.ReadFile(filepath.Join(gz, "manifest.json"))
	if err != nil || json.Unmarshal(raw, &m) != nil || len(m.Layers) != 1 {
		t.Fatalf("skopeo's dir: manifest %s: %v", raw, err)
	}
	f, err := os.Open(filepath.Join(gz, strings.TrimPrefix(m.Layers[0].Digest, "sha256:")))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	if _, err := io.Copy(h, zr); err != nil {
		t.Fatal(err)
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != res.Layers[0].DiffID {
		t.Errorf("skopeo's gzip copy holds a tar with %s; the layer's diff_id is %s", got, res.Layers[0].DiffID)
	}
	if got := testenv.PodmanRun(t, archive); got != "hello from C++\n" {
		t.Errorf("podman run of the zstd image: %q", got)
	}
}

// TestPackCompressionDocker gives a real Docker daemon images in each
// compression, each of a different program so that the daemon has never
// seen its layer (a layer it already has is not decompressed again, which
// once made a zstd image "load" only because its uncompressed twin had):
// gzip and uncompressed images load and run; zstd ones load, pull and run
// only where the daemon reads zstd (Docker 23.0, Engine API 1.42), and pack
// refuses to write them to an older daemon, saying why. What pack --help
// says about Docker.
func TestPackCompressionDocker(t *testing.T) {
	dir := t.TempDir()
	reg := testenv.Registry(t)
	d := testenv.Dockerd(t)
	out, err := d.Docker(t, "version", "--format", "{{.Server.Version}} {{.Server.APIVersion}}")
	if err != nil {
		t.Fatalf("docker version: %v", err)
	}
	version, api, _ := strings.Cut(strings.TrimSpace(out), " ")
	readsZstd := !olderAPI(api, "1.42")
	t.Logf("Docker %s, Engine API %s: reads zstd: %v", version, api, readsZstd)

	archive := func(compression, fixture, ref string) string {
		file := filepath.Join(dir, compression+"-"+strings.ReplaceAll(fixture, "/", "-")+".tar")
		mustRun(t, nil, "pack", "--no-cache", "--compression", compression, "-o", "docker-archive:"+file+":"+ref, testenv.Fixture(t, fixture))
		return file
	}
	for _, tc := range []struct {
		name, image, load string
		works             bool
	}{
		{"gzip, docker load", "spk/gzip:1", archive("gzip", "hello-cc", "spk/gzip:1"), true},
		{"uncompressed, docker load", "spk/none:1", archive("none", "hello-c", "spk/none:1"), true},
		{"zstd, docker load", "spk/zstd:1", archive("zstd", "hello-go", "spk/zstd:1"), readsZstd},
		{"zstd, docker pull", reg.Addr + "/spk/zstd:pushed", "", readsZstd},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.load != "" {
				out, err = d.Docker(t, "load", "-i", tc.load)
			} else {
				mustRun(t, nil, "pack", "--no-cache", "--compression", "zstd", "-o", "docker://"+tc.image, testenv.Fixture(t, "hello-musl-static"))
				out, err = d.Docker(t, "pull", tc.image)
			}
			if err == nil {
				out, err = d.Docker(t, "run", "--rm", "--network", "none", tc.image)
			}
			switch {
			case tc.works && err != nil:
				t.Errorf("Docker %s: %v\n%s", version, err, out)
			case !tc.works && err == nil:
				t.Errorf("Docker %s read a zstd image: pack --help and README say it cannot: make them say it can", version)
			}
		})
	}

	// docker-daemon: asks the daemon what it is before sending zstd layers.
	_, errOut, code := run(t, []string{"DOCKER_HOST=" + d.Host}, "pack", "--no-cache", "--compression", "zstd",
		"-o", "docker-daemon:spk/zstd-daemon:1", testenv.Fixture(t, "hello-musl"))
	switch {
	case readsZstd && code != 0:
		t.Errorf("docker-daemon: with zstd: exit %d\n%s", code, errOut)
	case !readsZstd && (code != exitBadInput || !strings.Contains(errOut, "cannot decompress zstd layers") || !strings.Contains(errOut, version)):
		t.Errorf("docker-daemon: with zstd to Docker %s: exit %d, stderr %q; want %d and why", version, code, errOut, exitBadInput)
	case !readsZstd:
		if out, err := d.Docker(t, "image", "ls", "-q", "spk/zstd-daemon:1"); err != nil || strings.TrimSpace(out) != "" {
			t.Errorf("refused, yet the daemon has the image: %q %v", out, err)
		}
	}
}

// olderAPI reports whether Docker Engine API version a is older than b.
func olderAPI(a, b string) bool {
	var amaj, amin, bmaj, bmin int
	fmt.Sscanf(a, "%d.%d", &amaj, &amin)
	fmt.Sscanf(b, "%d.%d", &bmaj, &bmin)
	return amaj < bmaj || amaj == bmaj && amin < bmin
}
