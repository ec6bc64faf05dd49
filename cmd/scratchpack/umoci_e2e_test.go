package main

import (
	"debug/elf"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

// TestUmociPlatformTag checks what README and pull --help say of umoci: it
// refuses the tag of an index in an oci: layout ("tag is ambiguous"), and
// unpacks one platform that pull --platform tagged in the same layout.
func TestUmociPlatformTag(t *testing.T) {
	umoci := hostTool(t, "umoci", "umoci")
	amd64, arm64 := testenv.Fixture(t, "hello-cc"), testenv.Fixture(t, "hello-cc-arm64")
	dir := t.TempDir()
	layout := filepath.Join(dir, "out")
	mustRun(t, nil, "pack", "--platform", "linux/amd64="+amd64, "--platform", "linux/arm64="+arm64,
		"--dest", "/app/hello", "-o", "oci:"+layout+":hello")
	out, err := exec.Command(umoci, "unpack", "--rootless", "--image", layout+":hello", filepath.Join(dir, "index")).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "ambiguous") {
		t.Errorf("umoci unpack of the index's tag: %v, want it refused as ambiguous, as README says:\n%s", err, out)
	}
	mustRun(t, nil, "pull", "--platform", "linux/arm64", "-o", "oci:"+layout+":hello-linux-arm64", "oci:"+layout+":hello")
	bundle := filepath.Join(dir, "bundle")
	runTool(t, umoci, "unpack", "--rootless", "--image", layout+":hello-linux-arm64", bundle)
	f, err := elf.Open(filepath.Join(bundle, "rootfs", "app", "hello"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Machine != elf.EM_AARCH64 {
		t.Errorf("umoci unpacked a %v program, want aarch64", f.Machine)
	}
}
