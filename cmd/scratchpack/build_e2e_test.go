package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/scratchpack/scratchpack/internal/testenv"
	"github.com/scratchpack/scratchpack/transfer"
)

// TestBuildSampleConfig builds testdata/scratchpack.yaml (C++ dynamic, Go
// static with CA certificates, C for amd64 and arm64) into a real registry
// with one command, and checks every tag, digest and platform with skopeo.
func TestBuildSampleConfig(t *testing.T) {
	for _, f := range []string{"hello-cc", "hello-go", "hello-c", "hello-c-arm64"} {
		testenv.Fixture(t, f)
	}
	if _, err := os.Stat("/usr/aarch64-linux-gnu/lib/libc.so.6"); err != nil {
		t.Skip("SKIP (component missing): the arm64 sysroot /usr/aarch64-linux-gnu (libc6-dev-arm64-cross)")
	}
	sk := skopeo(t)
	reg := testenv.Registry(t)
	out := t.TempDir()
	digestFile := filepath.Join(out, "digests")
	env := []string{"REGISTRY=" + reg.Addr, "VERSION=1.0.0", "SBOM_DIR=" + out, "SOURCE_DATE_EPOCH=1700000000"}
	stdout := mustRun(t, env, "build", "--config", filepath.Join("..", "..", "testdata", "scratchpack.yaml"),
		"--json", "--digest-file", digestFile, "--jobs", "2")
	var results []buildResult
	if err := json.Unmarshal([]byte(stdout), &results); err != nil {
		t.Fatalf("build --json: %v\n%s", err, stdout)
	}
	wantPlatforms := map[string][]string{
		"hello-cc": {"linux/amd64"},
		"hello-go": {"linux/amd64"},
		"hello-c":  {"linux/amd64", "linux/arm64"},
	}
	if len(results) != 3 {
		t.Fatalf("%d results, want 3:\n%s", len(results), stdout)
	}
	digests, err := os.ReadFile(digestFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		t.Run(r.Name, func(t *testing.T) {
			if !slices.Equal(r.Platforms, wantPlatforms[r.Name]) {
				t.Errorf("platforms %v, want %v", r.Platforms, wantPlatforms[r.Name])
			}
			if !strings.Contains(string(digests), r.Digest+" "+r.Name+"\n") {
				t.Errorf("--digest-file lacks %q:\n%s", r.Digest+" "+r.Name, digests)
			}
			repo := reg.Addr + "/scratchpack/" + r.Name
			wantRefs := []string{repo + ":1.0.0@" + r.Digest, repo + ":latest@" + r.Digest}
			if !slices.Equal(r.References, wantRefs) {
				t.Errorf("references %v, want %v", r.References, wantRefs)
			}
			for _, tag := range []string{"1.0.0", "latest"} {
				ref := "docker://" + repo + ":" + tag
				raw := runTool(t, sk, "inspect", "--tls-verify=false", "--raw", ref)
				sum := sha256.Sum256([]byte(raw))
				if got := "sha256:" + hex.EncodeToString(sum[:]); got != r.Digest {
					t.Errorf("%s is %s, build said %s", ref, got, r.Digest)
				}
				var m struct {
					MediaType string `json:"mediaType"`
					Manifests []struct {
						Platform struct{ OS, Architecture string }
					} `json:"manifests"`
				}
				if err := json.Unmarshal([]byte(raw), &m); err != nil {
					t.Fatal(err)
				}
				var got []string
				if len(m.Manifests) > 0 {
					for _, d := range m.Manifests {
						got = append(got, d.Platform.OS+"/"+d.Platform.Architecture)
					}
				} else {
					var cfg struct{ Os, Architecture string }
					if err := json.Unmarshal([]byte(runTool(t, sk, "inspect", "--tls-verify=false", ref)), &cfg); err != nil {
						t.Fatal(err)
					}
					got = []string{cfg.Os + "/" + cfg.Architecture}
				}
				if !slices.Equal(got, wantPlatforms[r.Name]) {
					t.Errorf("%s: platforms %v, want %v", ref, got, wantPlatforms[r.Name])
				}
			}
			if r.Name == "hello-c" { // each platform's image, as a client on that platform pulls it
				for _, arch := range []string{"amd64", "arm64"} {
					var cfg struct{ Architecture string }
					json.Unmarshal([]byte(runTool(t, sk, "--override-arch", arch, "inspect", "--tls-verify=false", "docker://"+repo+":1.0.0")), &cfg)
					if cfg.Architecture != arch {
						t.Errorf("hello-c for %s is an %q image", arch, cfg.Architecture)
					}
				}
			}
		})
	}
	// The Go image carries the CA bundle and runs as nonroot.
	ls := mustRun(t, nil, "ls", "--json", reg.Addr+"/scratchpack/hello-go:1.0.0")
	if !strings.Contains(ls, `"path":"/etc/ssl/certs/ca-certificates.crt"`) || !strings.Contains(ls, `"path":"/etc/passwd"`) {
		t.Errorf("hello-go lacks the CA bundle or /etc/passwd:\n%s", ls)
	}
	// Every image (every platform of hello-c) has its SBOM, written and attached.
	wantSBOMs := map[string][]string{
		"hello-cc": {"hello-cc.spdx.json"},
		"hello-go": {"hello-go.spdx.json"},
		"hello-c":  {"hello-c.linux-amd64.spdx.json", "hello-c.linux-arm64.spdx.json"},
	}
	for _, r := range results {
		var got []string
		for _, f := range r.SBOM {
			got = append(got, filepath.Base(f))
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			validateSPDX(t, data)
		}
		if !slices.Equal(got, wantSBOMs[r.Name]) {
			t.Errorf("%s: SBOMs %v, want %v", r.Name, got, wantSBOMs[r.Name])
		}
		ref, err := transfer.ParseRef("docker://" + reg.Addr + "/scratchpack/" + r.Name + ":1.0.0")
		if err != nil {
			t.Fatal(err)
		}
		for _, img := range imageDigests(t, sk, ref.String()) {
			if refs, err := transfer.Referrers(context.Background(), ref, img); err != nil || len(refs) != 1 {
				t.Errorf("%s: referrers of %s: %v %v, want its SBOM", r.Name, img, refs, err)
			}
		}
	}
}

// imageDigests are the digests of the image, or of each image of the index, at ref.
func imageDigests(t *testing.T, sk, ref string) []v1.Hash {
	t.Helper()
	raw := runTool(t, sk, "inspect", "--tls-verify=false", "--raw", ref)
	var m struct {
		Manifests []struct{ Digest string }
	}
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Manifests) == 0 {
		sum := sha256.Sum256([]byte(raw))
		return []v1.Hash{{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}}
	}
	var out []v1.Hash
	for _, d := range m.Manifests {
		h, err := v1.NewHash(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, h)
	}
	return out
}

// TestBuildErrors: a bad file is exit 2 with its line; a program that
// cannot run on its base is exit 3, and the other images are still built.
func TestBuildErrors(t *testing.T) {
	prog := testenv.Fixture(t, "hello-c")
	arm := testenv.Fixture(t, "hello-c-arm64")
	dir := t.TempDir()
	write := func(s string) string {
		f := filepath.Join(dir, "scratchpack.yaml")
		if err := os.WriteFile(f, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}
	f := write("images:\n  a:\n    program: " + prog + "\n    outputs: [oci:out]\n")
	_, errOut, code := run(t, nil, "build", "--config", f)
	if code != exitBadInput || !strings.Contains(errOut, f+`:4: an image has no key "outputs"`) {
		t.Errorf("unknown key: exit %d, stderr:\n%s", code, errOut)
	}
	f = write("images:\n  a:\n    program: " + prog + "\n    output: [\"oci:${OUT}\"]\n")
	_, errOut, code = run(t, nil, "build", "--config", f)
	if code != exitBadInput || !strings.Contains(errOut, f+":4: ${OUT} is not set") {
		t.Errorf("unset variable: exit %d, stderr:\n%s", code, errOut)
	}
	f = write("images:\n  good:\n    program: " + prog + "\n    output: [oci:out:good]\n" +
		"  wrong:\n    program: " + arm + "\n    platform: linux/amd64\n    output: [oci:out:wrong]\n")
	_, errOut, code = run(t, nil, "build", "--config", f, "--json")
	if code != exitWontRun || !strings.Contains(errOut, "wrong: FAILED") || !strings.Contains(errOut, "1 of 2 images failed") {
		t.Errorf("an arm64 program for amd64: exit %d (want %d), stderr:\n%s", code, exitWontRun, errOut)
	}
	if out, _, code := testenv.RunOCI(t, filepath.Join(dir, "out"), "good"); code != 0 || out != "hello from C\n" {
		t.Errorf("the good image, built beside the failing one: %q exit %d", out, code)
	}
	if _, errOut, code := run(t, nil, "build", "--config", f, "nope"); code != exitBadInput || !strings.Contains(errOut, `no image named ["nope"]`) {
		t.Errorf("an unknown image: exit %d\n%s", code, errOut)
	}
	if _, errOut, code := run(t, nil, "build", "--config", filepath.Join(dir, "none.yaml")); code != exitBadInput {
		t.Errorf("a missing file: exit %d\n%s", code, errOut)
	}
}

// TestBuildLayersAndCache: the layer keys of a configuration reach the
// images, and two images built together with layers: libs share their C
// library layer through the cache they share.
func TestBuildLayersAndCache(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "scratchpack.yaml")
	yaml := "images:\n"
	for _, name := range []string{"hello-c", "rpath/bin/greet"} {
		yaml += "  " + filepath.Base(name) + ":\n    program: " + testenv.Fixture(t, name) +
			"\n    layers: libs\n    compression: zstd\n    output: [oci:out:" + filepath.Base(name) + "]\n"
	}
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(dir, "cache")
	mustRun(t, nil, "build", "--config", cfg, "--cache", cache)

	var first []v1.Hash
	for _, tag := range []string{"hello-c", "greet"} {
		img, err := transfer.LoadBase(context.Background(), transfer.Ref{Transport: transfer.OCI, Path: filepath.Join(dir, "out"), Tag: tag}, v1.Platform{OS: "linux", Architecture: "amd64"})
		if err != nil {
			t.Fatal(err)
		}
		m, err := img.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Layers) != 2 {
			t.Fatalf("%s: %d layers, want the C library's and the program's", tag, len(m.Layers))
		}
		for _, l := range m.Layers {
			if l.MediaType != "application/vnd.oci.image.layer.v1.tar+zstd" {
				t.Errorf("%s: layer %s is %s, want zstd", tag, l.Digest, l.MediaType)
			}
		}
		first = append(first, m.Layers[0].Digest)
	}
	if first[0] != first[1] {
		t.Errorf("C library layers %s and %s: want one, shared", first[0], first[1])
	}
	if ents, err := os.ReadDir(cache); err != nil || len(ents) == 0 {
		t.Errorf("cache %s: %v entries, error %v: build did not use it", cache, len(ents), err)
	}
	if _, errOut, code := run(t, nil, "build", "--config", cfg, "--cache", cache, "--no-cache"); code != exitBadInput || !strings.Contains(errOut, "give one") {
		t.Errorf("--cache with --no-cache: exit %d, %s", code, errOut)
	}
}
