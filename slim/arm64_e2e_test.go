package slim

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/scratchpack/scratchpack/internal/testenv"
	"github.com/scratchpack/scratchpack/runner"
	"github.com/scratchpack/scratchpack/transfer"
)

// TestArm64RedisStatic: an arm64 image of redis-server (an arm64 Debian
// root, unpacked without emulation) slims on this machine, statically,
// its closure resolved in its own root; where qemu is registered with
// binfmt_misc, the slim image runs redis-server --version.
func TestArm64RedisStatic(t *testing.T) {
	img := testenv.DebianImage(t, testenv.DebianArm64Redis, v1.Config{Entrypoint: []string{"redis-server"}})
	dir := t.TempDir()
	testenv.WriteOCILayout(t, img, filepath.Join(dir, "in"), "redis")
	out, err := transfer.ParseDest("oci:" + filepath.Join(dir, "out") + ":slim")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), Spec{Image: mustRef(t, "oci:"+filepath.Join(dir, "in")+":redis"), WorkDir: t.TempDir()},
		Options{Outputs: []transfer.Ref{out}})
	if err != nil {
		t.Fatal(err)
	}
	r := res.Reports[0]
	t.Logf("%s: original %d bytes compressed (%d of files); slim %d compressed (%d of files, %d entries): %.1f%%",
		r.Platform, r.Original.Compressed, r.Original.Files, r.Slim.Compressed, r.Slim.Files, r.Slim.Count, 100*r.Ratio())
	for _, g := range r.Groups {
		t.Logf("kept: %s: %d entries, %d bytes: %s", g.Reason, g.Files, g.Bytes, strings.Join(g.Paths, " "))
	}
	if r.Platform != "linux/arm64/v8" {
		t.Errorf("platform %s, want linux/arm64/v8", r.Platform)
	}
	if r.Ratio() == 0 || r.Ratio() > 0.5 {
		t.Errorf("slim is %.1f%% of the original", 100*r.Ratio())
	}
	loaded, err := transfer.Load(context.Background(), mustRef(t, "oci:"+filepath.Join(dir, "out")+":slim"))
	if err != nil {
		t.Fatal(err)
	}
	slim := loaded.(v1.Image)
	if cf, err := slim.ConfigFile(); err != nil || cf.Architecture != "arm64" {
		t.Fatalf("slim image's config: %v, %v; want arm64", cf, err)
	}
	if err := testenv.QemuBinfmt(t, "aarch64"); err != nil {
		t.Skipf("SKIP part: the slim image is not run: %v", err)
	}
	var stdout strings.Builder
	run, err := runner.Run(context.Background(), slim, runner.WithWorkDir(t.TempDir()), runner.WithArgs("--version"),
		runner.WithStdio(nil, &stdout, &stdout))
	if err != nil {
		t.Fatal(err)
	}
	if run.ExitCode != 0 || !strings.Contains(stdout.String(), "Redis server v=") {
		t.Errorf("redis-server --version under qemu: exit %d, %q", run.ExitCode, stdout.String())
	}
}
