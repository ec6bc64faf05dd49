package packer

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/scratchpack/scratchpack/internal/testenv"

	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// TestBuildIndexFixtures builds the C fixture for amd64 and arm64 (from the
// cross compiler's sysroot) into one index.
func TestBuildIndexFixtures(t *testing.T) {
	const sysroot = "/usr/aarch64-linux-gnu"
	if _, err := os.Stat(sysroot); err != nil {
		t.Skipf("SKIP (component missing): %s (Debian's libc6-dev-arm64-cross)", sysroot)
	}
	amd, arm := testenv.Fixture(t, "hello-c"), testenv.Fixture(t, "hello-c-arm64")
	work := t.TempDir()
	specs := []Spec{
		{Program: arm, Dest: "/app/hello", Root: sysroot, WorkDir: work},
		{Program: amd, Dest: "/app/hello", WorkDir: work},
	}
	ir, err := BuildIndex(bg, specs)
	if err != nil {
		t.Fatal(err)
	}
	idx, results := ir.Index, ir.Results
	if err := validate.Index(idx); err != nil {
		t.Fatalf("invalid index: %v", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i, d := range im.Manifests {
		got = append(got, d.Platform.String())
		if h := digest(t, results[i].Image); h != d.Digest {
			t.Errorf("result %d is %s, the index has %s", i, h, d.Digest)
		}
	}
	if strings.Join(got, " ") != "linux/amd64 linux/arm64" {
		t.Errorf("platforms %v, want linux/amd64 then linux/arm64", got)
	}
	// The order of specs does not change the index.
	again, err := BuildIndex(bg, []Spec{specs[1], specs[0]})
	if err != nil {
		t.Fatal(err)
	}
	if digest(t, again.Index) != digest(t, idx) {
		t.Error("the index digest depends on the order of the specs")
	}
	if _, err := BuildIndex(bg, []Spec{specs[1], specs[1]}); !errors.Is(err, ErrDuplicatePlatform) {
		t.Errorf("two programs for one platform: %v", err)
	}
}
