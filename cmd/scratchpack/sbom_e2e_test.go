package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/scratchpack/scratchpack/internal/testenv"
	"github.com/scratchpack/scratchpack/transfer"
)

// spdxDoc is the part of an SPDX document the tests read.
type spdxDoc struct {
	SPDXVersion string `json:"spdxVersion"`
	Packages    []struct {
		SPDXID      string `json:"SPDXID"`
		Name        string `json:"name"`
		VersionInfo string `json:"versionInfo"`
	} `json:"packages"`
	Files []struct {
		FileName  string `json:"fileName"`
		Checksums []struct{ Algorithm, ChecksumValue string }
	} `json:"files"`
}

// dpkgVersion asks dpkg-query for an installed package's version.
func dpkgVersion(t *testing.T, pkg string) string {
	t.Helper()
	out, err := exec.Command("dpkg-query", "-W", "-f", "${Version}", pkg).Output()
	if err != nil {
		t.Fatalf("dpkg-query -W %s: %v", pkg, err)
	}
	return string(out)
}

// validateSPDX validates data against the SPDX 2.3 JSON schema in testdata.
func validateSPDX(t *testing.T, data []byte) {
	t.Helper()
	sch := testenv.SPDXSchema(t, filepath.Join("..", "..", "testdata", "spdx", "spdx-schema-v2.3.json"))
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(v); err != nil {
		t.Errorf("the SBOM does not validate against the SPDX 2.3 schema: %v", err)
	}
}

// TestPackSBOM packs the C++ program, pushes it with two tags to Debian's
// distribution registry (which has no referrers API), and checks the SBOM:
// it names libstdc++6, libgcc-s1 and libc6 with the installed versions,
// validates against the SPDX 2.3 schema, and is attached to the image (found
// through the sha256-HEX fallback tag) with the same bytes.
func TestPackSBOM(t *testing.T) {
	if _, err := exec.LookPath("dpkg-query"); err != nil {
		t.Skip("SKIP (component missing): dpkg-query: not a Debian system")
	}
	prog := testenv.Fixture(t, "hello-cc")
	reg := testenv.Registry(t)
	file := filepath.Join(t.TempDir(), "hello-cc.spdx.json")
	ref := reg.Addr + "/sbom/hello-cc"
	digest := strings.TrimSpace(mustRun(t, nil, "pack", "-o", "docker://"+ref+":1.0", "-t", "latest", "--sbom", file, prog))
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	validateSPDX(t, data)
	var doc spdxDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	versions := map[string]string{}
	for _, p := range doc.Packages {
		versions[p.Name] = p.VersionInfo
	}
	for _, pkg := range []string{"libstdc++6", "libgcc-s1", "libc6"} {
		if want := dpkgVersion(t, pkg+":amd64"); versions[pkg] != want {
			t.Errorf("SBOM: %s version %q, want the installed %q", pkg, versions[pkg], want)
		}
	}
	if versions["sbom/hello-cc"] != digest && versions[reg.Addr+"/sbom/hello-cc"] != digest {
		t.Errorf("SBOM: no image package with version %s: %v", digest, versions)
	}
	files := map[string]bool{}
	for _, f := range doc.Files {
		files[f.FileName] = len(f.Checksums) == 2
	}
	if !files["/app/hello-cc"] || !files["/usr/lib/x86_64-linux-gnu/libc.so.6"] {
		t.Errorf("SBOM files (with SHA1 and SHA256): %v", files)
	}

	// Attached: the referrers of the image, on a registry without the API.
	h, err := v1.NewHash(digest)
	if err != nil {
		t.Fatal(err)
	}
	r, err := transfer.ParseRef("docker://" + ref + ":1.0")
	if err != nil {
		t.Fatal(err)
	}
	refs, err := transfer.Referrers(context.Background(), r, h)
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) != 1 || refs[0].ArtifactType != "application/spdx+json" {
		t.Fatalf("referrers of %s: %+v, want one application/spdx+json", digest, refs)
	}
	fallback := runTool(t, skopeo(t), "inspect", "--tls-verify=false", "--raw", "docker://"+ref+":sha256-"+h.Hex)
	if !strings.Contains(fallback, refs[0].Digest.String()) {
		t.Errorf("the fallback tag sha256-%s does not list the SBOM %s:\n%s", h.Hex, refs[0].Digest, fallback)
	}
	art, err := remote.Image(mustDigest(t, ref+"@"+refs[0].Digest.String()))
	if err != nil {
		t.Fatal(err)
	}
	m, err := art.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject == nil || m.Subject.Digest != h || m.ArtifactType != "application/spdx+json" {
		t.Errorf("the artifact's subject %+v, artifactType %q", m.Subject, m.ArtifactType)
	}
	layers, _ := art.Layers()
	rc, err := layers[0].Compressed()
	if err != nil {
		t.Fatal(err)
	}
	blob, _ := io.ReadAll(rc)
	if !bytes.Equal(blob, data) {
		t.Error("the attached SBOM differs from the file")
	}
}

func mustDigest(t *testing.T, s string) name.Digest {
	t.Helper()
	d, err := name.NewDigest(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestPackSBOMGo: a Go program's SBOM names its modules from the build
// information and the Go standard library.
func TestPackSBOMGo(t *testing.T) {
	prog := testenv.Fixture(t, "hello-go")
	file := filepath.Join(t.TempDir(), "go.spdx.json")
	mustRun(t, nil, "pack", "-o", "oci:"+filepath.Join(t.TempDir(), "l"), "--sbom", file, prog)
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	validateSPDX(t, data)
	if !strings.Contains(string(data), `"referenceLocator": "pkg:golang/stdlib@go`) {
		t.Errorf("no Go standard library package in:\n%s", data)
	}
}

// TestPackSBOMArm64: libraries from a cross sysroot are credited to the
// Debian packages that installed the sysroot.
func TestPackSBOMArm64(t *testing.T) {
	if _, err := exec.LookPath("dpkg-query"); err != nil {
		t.Skip("SKIP (component missing): dpkg-query: not a Debian system")
	}
	prog := testenv.Fixture(t, "hello-c-arm64")
	file := filepath.Join(t.TempDir(), "arm.spdx.json")
	mustRun(t, nil, "pack", "--root", "/usr/aarch64-linux-gnu", "-o", "oci:"+filepath.Join(t.TempDir(), "l"), "--sbom", file, prog)
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	validateSPDX(t, data)
	var doc spdxDoc
	json.Unmarshal(data, &doc)
	want := dpkgVersion(t, "libc6-arm64-cross")
	for _, p := range doc.Packages {
		if p.Name == "libc6-arm64-cross" && p.VersionInfo == want {
			return
		}
	}
	t.Errorf("no libc6-arm64-cross %s in the SBOM:\n%s", want, data)
}
