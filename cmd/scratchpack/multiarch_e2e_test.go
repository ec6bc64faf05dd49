package main

import (
	"debug/elf"
	"encoding/json"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/scratchpack/scratchpack/internal/elftest"
	"github.com/scratchpack/scratchpack/internal/testenv"
)

// arm64Sysroot is Debian's aarch64 cross sysroot (libc6-arm64-cross).
const arm64Sysroot = "/usr/aarch64-linux-gnu"

// TestMultiArchIndexRunsUnderQemu packs C, C++ and Go (cgo off) hello
// programs built for amd64 and for arm64 into one index each, checks the
// index and both images, runs the amd64 image in runc, and runs the arm64
// image in runc under qemu-user where the kernel lets the test register
// qemu-aarch64 with binfmt_misc. Where it does not, the test says so loudly
// and checks the arm64 image's files and configuration only.
func TestMultiArchIndexRunsUnderQemu(t *testing.T) {
	if _, err := os.Stat(arm64Sysroot + "/lib/libc.so.6"); err != nil {
		if strings.EqualFold(getenv("CI"), "true") {
			t.Fatalf("the arm64 fixtures need %s (libc6-arm64-cross, installed by make deps): %v", arm64Sysroot, err)
		}
		t.Skipf("SKIP (component missing): %s (apt-get install libc6-arm64-cross): %v", arm64Sysroot, err)
	}
	qemuErr := testenv.QemuBinfmt(t, "aarch64")
	if qemuErr != nil {
		t.Logf("*** NOT RUNNING arm64 images: %v\n*** checking the arm64 images' files and configuration instead", qemuErr)
	}
	libstdcxx, err := filepath.EvalSymlinks(arm64Sysroot + "/lib/libstdc++.so.6")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, amd64, arm64 string
		files              []string // regular files of the arm64 image
	}{
		{"c", "hello-c", "hello-c-arm64", []string{"/app/hello", "/lib/ld-linux-aarch64.so.1", "/lib/libc.so.6"}},
		{"cc", "hello-cc", "hello-cc-arm64", []string{"/app/hello", "/lib/ld-linux-aarch64.so.1", "/lib/libc.so.6",
			"/lib/libgcc_s.so.1", "/lib/libm.so.6", "/lib/" + filepath.Base(libstdcxx)}},
		{"go", "hello-go", "hello-go-arm64", []string{"/app/hello"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			amd64, arm64 := testenv.Fixture(t, tc.amd64), testenv.Fixture(t, tc.arm64)
			want, wantCode := hostOutput(t, amd64)
			dir := t.TempDir()
			lay := filepath.Join(dir, "layout")
			out := mustRun(t, nil, "pack", "--platform", "linux/amd64="+amd64, "--platform", "linux/arm64="+arm64,
				"--dest", "/app/hello", "--json", "-o", "oci:"+lay+":hello")
			var res packIndexResult
			if err := json.Unmarshal([]byte(out), &res); err != nil {
				t.Fatalf("pack --json: %v\n%s", err, out)
			}
			idx := layoutIndex(t, lay, "hello")
			if d, _ := idx.Digest(); d.String() != res.Digest || res.MediaType != string(types.OCIImageIndex) || len(res.Manifests) != 2 {
				t.Errorf("pack --json says %s %s with %d manifests; the layout holds %s", res.Digest, res.MediaType, len(res.Manifests), d)
			}
			imgs := platformImages(t, idx)
			if diff := cmp.Diff([]string{"linux/amd64", "linux/arm64"}, sortedKeys(imgs)); diff != "" {
				t.Fatalf("index platforms (-want +got):\n%s", diff)
			}
			for platform, img := range imgs {
				cf, err := img.ConfigFile()
				if err != nil {
					t.Fatal(err)
				}
				if got := cf.Platform().String(); got != platform || !slices.Equal(cf.Config.Entrypoint, []string{"/app/hello"}) {
					t.Errorf("%s image: config platform %s, entrypoint %q", platform, got, cf.Config.Entrypoint)
				}
			}

			single := filepath.Join(dir, "single")
			testenv.WriteOCILayout(t, imgs["linux/amd64"], single, "amd64")
			testenv.WriteOCILayout(t, imgs["linux/arm64"], single, "arm64")
			rootfs := filepath.Join(testenv.UnpackOCI(t, single, "arm64"), "rootfs")
			if diff := cmp.Diff(tc.files, aarch64Files(t, rootfs)); diff != "" {
				t.Errorf("arm64 image: regular files, all aarch64 ELF (-want +got):\n%s", diff)
			}

			if got, _, code := testenv.RunOCI(t, single, "amd64"); got != want || code != wantCode {
				t.Errorf("amd64 image in runc: %q, exit %d; on the host: %q, exit %d", got, code, want, wantCode)
			}
			if qemuErr != nil {
				return
			}
			got, errOut, code := testenv.RunOCI(t, single, "arm64")
			t.Logf("arm64 image in runc under qemu-aarch64: stdout %q, exit %d", got, code)
			if got != want || code != wantCode {
				t.Errorf("arm64 image in runc under qemu: %q, exit %d, stderr %q; want %q, exit %d", got, code, errOut, want, wantCode)
			}
		})
	}
}

// TestMultiArchIndexRegistry pushes an amd64+arm64 index to a real
// registry: skopeo inspect --raw lists both platforms, and skopeo copy
// --override-arch arm64 pulls the arm64 image.
func TestMultiArchIndexRegistry(t *testing.T) {
	amd64, arm64 := testenv.Fixture(t, "hello-cc"), testenv.Fixture(t, "hello-cc-arm64")
	reg := testenv.Registry(t)
	ref := reg.Addr + "/multi/hello:1"
	digest := strings.TrimSpace(mustRun(t, nil, "pack", "--platform", "linux/arm64="+arm64, "--platform", "linux/amd64="+amd64,
		"--dest", "/app/hello", "-o", "docker://"+ref))

	sk := skopeo(t)
	raw := runTool(t, sk, "inspect", "--raw", "--tls-verify=false", "docker://"+ref)
	var im v1.IndexManifest
	if err := json.Unmarshal([]byte(raw), &im); err != nil {
		t.Fatalf("skopeo inspect --raw: %v\n%s", err, raw)
	}
	platforms := map[string]v1.Hash{}
	for _, d := range im.Manifests {
		if d.Platform != nil {
			platforms[d.Platform.String()] = d.Digest
		}
	}
	if im.MediaType != types.OCIImageIndex || len(im.Manifests) != 2 || sortedKeys(platforms)[0] != "linux/amd64" || len(platforms) != 2 || platforms["linux/arm64"] == (v1.Hash{}) {
		t.Fatalf("skopeo inspect --raw: want an OCI index of linux/amd64 and linux/arm64, got:\n%s", raw)
	}
	if out := runTool(t, sk, "inspect", "--tls-verify=false", "--override-arch", "arm64", "docker://"+ref); !strings.Contains(out, `"Architecture": "arm64"`) {
		t.Errorf("skopeo inspect --override-arch arm64:\n%s", out)
	}

	pulled := filepath.Join(t.TempDir(), "pulled")
	runTool(t, sk, "copy", "--src-tls-verify=false", "--override-arch", "arm64", "docker://"+ref, "oci:"+pulled+":arm64")
	img := layoutImage(t, pulled, "arm64")
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := img.Digest(); cf.Architecture != "arm64" || cf.OS != "linux" || d != platforms["linux/arm64"] {
		t.Errorf("skopeo copy --override-arch arm64: %s/%s image %s; want linux/arm64 %s", cf.OS, cf.Architecture, d, platforms["linux/arm64"])
	}
	if !strings.HasPrefix(digest, "sha256:") {
		t.Errorf("pack printed %q, want the index digest", digest)
	}
}

// TestMultiArchDestinationsAndErrors writes the index as an OCI archive,
// and checks the refusals: a docker archive or FILE.tar for an index, two
// programs of one platform, a program that is not for its --platform, and a
// per-platform sysroot no program uses.
func TestMultiArchDestinationsAndErrors(t *testing.T) {
	amd64, arm64 := testenv.Fixture(t, "hello-c"), testenv.Fixture(t, "hello-c-arm64")
	dir := t.TempDir()
	both := []string{"--platform", "linux/amd64=" + amd64, "--platform", "linux/arm64=" + arm64}

	archive := filepath.Join(dir, "multi.tar")
	digest := strings.TrimSpace(mustRun(t, nil, append(append([]string{"pack"}, both...), "-o", "oci-archive:"+archive+":v1")...))
	raw := runTool(t, skopeo(t), "inspect", "--raw", "oci-archive:"+archive+":v1")
	if !strings.Contains(raw, `"architecture":"arm64"`) || !strings.Contains(raw, `"architecture":"amd64"`) {
		t.Errorf("skopeo inspect --raw oci-archive: (index %s) lacks a platform:\n%s", digest, raw)
	}

	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string // in stderr
	}{
		{"docker-archive", append(both, "-o", "docker-archive:"+filepath.Join(dir, "d.tar")), exitBadInput, []string{"holds single images", "oci-archive:"}},
		{"FILE.tar", append(both, "-o", filepath.Join(dir, "x.tar")), exitBadInput, []string{"holds single images"}},
		{"same platform twice", []string{"--platform", "linux/arm64=" + arm64, "--platform", "linux/arm64=" + arm64, "-o", "oci:" + filepath.Join(dir, "l1")},
			exitBadInput, []string{"one image per platform"}},
		{"one platform for two programs", []string{"--platform", "linux/arm64=" + arm64, "--platform", "linux/arm64/v8=" + arm64, "-o", "oci:" + filepath.Join(dir, "l6")},
			exitBadInput, []string{"one image per platform"}},
		{"wrong program for its platform", []string{"--platform", "linux/amd64=" + arm64, "-o", "oci:" + filepath.Join(dir, "l2")},
			exitWontRun, []string{"exec format error"}},
		{"unused sysroot", append(both, "--sysroot", "linux/riscv64=/nowhere", "-o", "oci:"+filepath.Join(dir, "l3")),
			exitBadInput, []string{"--sysroot linux/riscv64=/nowhere: no program is for linux/riscv64"}},
		{"one plain sysroot for two platforms", append(both, "--sysroot", arm64Sysroot, "-o", "oci:"+filepath.Join(dir, "l4")),
			exitBadInput, []string{"--sysroot OS/ARCH=DIR for each platform"}},
		{"plain and per-platform --platform", []string{"--platform", "linux/amd64", "--platform", "linux/arm64=" + arm64, "-o", "oci:" + filepath.Join(dir, "l5")},
			exitBadInput, []string{"every platform names its program"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, code := run(t, nil, append([]string{"pack"}, tc.args...)...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\n%s", code, tc.code, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr does not say %q:\n%s", w, errOut)
				}
			}
		})
	}
}

// TestForeignWithoutSysroot packs and inspects crafted riscv64 and ppc64le
// programs with no --sysroot where no cross sysroot is installed: the error
// names the missing loader, the places searched and the flag to add.
func TestForeignWithoutSysroot(t *testing.T) {
	for _, tc := range []struct{ file, platform, interp, cross, pkg string }{
		{"riscv64-exec-min", "linux/riscv64", "/lib/ld-linux-riscv64-lp64d.so.1", "/usr/riscv64-linux-gnu", "libc6-riscv64-cross"},
		{"ppc64le-exec-min", "linux/ppc64le", "/lib64/ld64.so.2", "/usr/powerpc64le-linux-gnu", "libc6-ppc64el-cross"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			if _, err := os.Stat(tc.cross); err == nil {
				t.Skipf("SKIP: %s exists on this machine, so it is the default sysroot", tc.cross)
			}
			prog, err := filepath.Abs(filepath.Join("..", "..", "testdata", "malformed", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			want := []string{tc.platform, tc.interp, tc.cross, tc.pkg, "/ (this machine)", "--sysroot DIR", "--sysroot " + tc.platform + "=DIR"}
			_, errOut, code := run(t, nil, "pack", "-o", "oci:"+filepath.Join(t.TempDir(), "l"), prog)
			if code != exitBadInput {
				t.Errorf("pack: exit %d, want %d\n%s", code, exitBadInput, errOut)
			}
			out, _, code := run(t, nil, "inspect", prog)
			if code != exitWontRun {
				t.Errorf("inspect: exit %d, want %d\n%s", code, exitWontRun, out)
			}
			for _, w := range want {
				if !strings.Contains(errOut, w) || !strings.Contains(out, w) {
					t.Errorf("pack's error and inspect's report should say %q:\n%s\n%s", w, errOut, out)
				}
			}
		})
	}
}

// layoutIndex returns the index tagged tag in an OCI layout.
func layoutIndex(t *testing.T, dir, tag string) v1.ImageIndex {
	t.Helper()
	root, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	d := taggedDescriptor(t, root, tag)
	idx, err := root.ImageIndex(d.Digest)
	if err != nil {
		t.Fatalf("%s:%s is not an index: %v", dir, tag, err)
	}
	if err := validate.Index(idx); err != nil {
		t.Errorf("validate.Index: %v", err)
	}
	return idx
}

// layoutImage returns the image tagged tag in an OCI layout.
func layoutImage(t *testing.T, dir, tag string) v1.Image {
	t.Helper()
	root, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	img, err := root.Image(taggedDescriptor(t, root, tag).Digest)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func taggedDescriptor(t *testing.T, root v1.ImageIndex, tag string) v1.Descriptor {
	t.Helper()
	im, err := root.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range im.Manifests {
		if d.Annotations["org.opencontainers.image.ref.name"] == tag {
			return d
		}
	}
	t.Fatalf("no %q in the layout's index.json", tag)
	return v1.Descriptor{}
}

// platformImages returns the images of an index by platform.
func platformImages(t *testing.T, idx v1.ImageIndex) map[string]v1.Image {
	t.Helper()
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]v1.Image{}
	for _, d := range im.Manifests {
		if d.Platform == nil {
			t.Fatalf("descriptor %s has no platform", d.Digest)
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		out[d.Platform.String()] = img
	}
	return out
}

// aarch64Files lists the regular files under rootfs, sorted, and fails the
// test for any that is not an aarch64 ELF file.
func aarch64Files(t *testing.T, rootfs string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(rootfs, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(rootfs, p)
		if strings.HasPrefix(rel, "etc/") {
			return nil // /etc/passwd and /etc/group, which every image gets
		}
		files = append(files, "/"+filepath.ToSlash(rel))
		f, err := elf.Open(p)
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			return nil
		}
		defer f.Close()
		if f.Machine != elf.EM_AARCH64 {
			t.Errorf("%s is %v, not aarch64", rel, f.Machine)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	return files
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// TestEveryArchitectureWithItsSysroot inspects a crafted program of each
// architecture scratchpack knows against a crafted Debian-style sysroot of
// its own, chosen per platform with --sysroot OS/ARCH=DIR, and packs all
// of them into one index.
func TestEveryArchitectureWithItsSysroot(t *testing.T) {
	dir := t.TempDir()
	var inspectArgs, packArgs []string
	want := map[string]string{} // program → platform
	for _, name := range elftest.ArchNames() {
		a := elftest.Archs[name]
		sysroot := filepath.Join(dir, "sysroot-"+name)
		for rel, f := range map[string]elftest.File{
			a.Interp:        elftest.Library(a, path.Base(a.Interp)),
			"lib/libc.so.6": elftest.Library(a, "libc.so.6", path.Base(a.Interp)),
		} {
			if _, err := elftest.Write(sysroot, rel, f); err != nil {
				t.Fatal(err)
			}
		}
		prog, err := elftest.Write(dir, "hello-"+name, elftest.Program(a, "libc.so.6"))
		if err != nil {
			t.Fatal(err)
		}
		platform := "linux/" + a.Name
		switch name {
		case "arm":
			platform += "/v7"
		case "armel":
			platform += "/v5"
		}
		want[prog] = platform
		inspectArgs = append(inspectArgs, "--sysroot", platform+"="+sysroot)
		packArgs = append(packArgs, "--sysroot", platform+"="+sysroot, "--platform", platform+"="+prog)
	}
	progs := sortedKeys(want)
	out := mustRun(t, nil, append(append([]string{"inspect", "--json"}, inspectArgs...), progs...)...)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(progs) {
		t.Fatalf("inspect printed %d lines for %d programs:\n%s", len(lines), len(progs), out)
	}
	for i, line := range lines {
		var a struct {
			Arch, Variant, Root string
			Loader              *struct{ Path string }
			Libraries           []struct{ Path string }
			Problems            []any
		}
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			t.Fatal(err)
		}
		platform := "linux/" + a.Arch
		if a.Variant != "" {
			platform += "/" + a.Variant
		}
		if platform != want[progs[i]] || a.Loader == nil || len(a.Libraries) != 1 || a.Libraries[0].Path != "/lib/libc.so.6" || len(a.Problems) != 0 ||
			!strings.HasSuffix(a.Root, "sysroot-"+strings.TrimPrefix(filepath.Base(progs[i]), "hello-")) {
			t.Errorf("%s: inspect says %s", progs[i], line)
		}
	}

	lay := filepath.Join(dir, "layout")
	mustRun(t, nil, append(append([]string{"pack", "--dest", "/app/hello"}, packArgs...), "-o", "oci:"+lay+":all")...)
	var platforms []string
	for p := range platformImages(t, layoutIndex(t, lay, "all")) {
		platforms = append(platforms, p)
	}
	slices.Sort(platforms)
	wantPlatforms := slices.Sorted(maps.Values(want))
	if diff := cmp.Diff(wantPlatforms, platforms); diff != "" {
		t.Errorf("index platforms (-want +got):\n%s", diff)
	}
}

// TestArm64SysrootLayouts packs the arm64 C++ program with its libraries
// taken from a target root file system (Debian's multiarch directories) and
// from a toolchain-style sysroot (the loader and libc in lib/, the rest in
// usr/lib/), both made from Debian's cross sysroot's real files, and runs
// each image under qemu-user where the kernel allows it: the files must be
// where the target's loader looks, which differs between the two.
func TestArm64SysrootLayouts(t *testing.T) {
	if _, err := os.Stat(arm64Sysroot + "/lib/libc.so.6"); err != nil {
		if strings.EqualFold(getenv("CI"), "true") {
			t.Fatalf("%s is missing (libc6-arm64-cross, installed by make deps): %v", arm64Sysroot, err)
		}
		t.Skipf("SKIP (component missing): %s (apt-get install libc6-arm64-cross): %v", arm64Sysroot, err)
	}
	prog := testenv.Fixture(t, "hello-cc-arm64")
	want, _ := hostOutput(t, testenv.Fixture(t, "hello-cc"))
	qemuErr := testenv.QemuBinfmt(t, "aarch64")
	if qemuErr != nil {
		t.Logf("*** NOT RUNNING arm64 images: %v\n*** checking the images' files instead", qemuErr)
	}
	const tri = "aarch64-linux-gnu"
	for _, tc := range []struct {
		name   string
		layout map[string]string // sysroot path → file in Debian's cross sysroot
		links  map[string]string // sysroot path → link target
		files  []string          // regular files of the image
	}{
		{"target root file system",
			map[string]string{"lib/" + tri + "/ld-linux-aarch64.so.1": "ld-linux-aarch64.so.1", "lib/" + tri + "/libc.so.6": "libc.so.6",
				"lib/" + tri + "/libm.so.6": "libm.so.6", "lib/" + tri + "/libgcc_s.so.1": "libgcc_s.so.1",
				"usr/lib/" + tri + "/libstdc++.so.6": "libstdc++.so.6"},
			map[string]string{"lib/ld-linux-aarch64.so.1": tri + "/ld-linux-aarch64.so.1"},
			[]string{"/app/hello-cc-arm64", "/lib/" + tri + "/ld-linux-aarch64.so.1", "/lib/" + tri + "/libc.so.6",
				"/lib/" + tri + "/libgcc_s.so.1", "/lib/" + tri + "/libm.so.6", "/usr/lib/" + tri + "/libstdc++.so.6"}},
		{"toolchain sysroot",
			map[string]string{"lib/ld-linux-aarch64.so.1": "ld-linux-aarch64.so.1", "lib/libc.so.6": "libc.so.6",
				"usr/lib/libm.so.6": "libm.so.6", "usr/lib/libgcc_s.so.1": "libgcc_s.so.1", "usr/lib/libstdc++.so.6": "libstdc++.so.6"},
			nil,
			[]string{"/app/hello-cc-arm64", "/lib/ld-linux-aarch64.so.1", "/lib/libc.so.6",
				"/usr/lib/libgcc_s.so.1", "/usr/lib/libm.so.6", "/usr/lib/libstdc++.so.6"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sysroot := t.TempDir()
			for dst, src := range tc.layout {
				b, err := os.ReadFile(filepath.Join(arm64Sysroot, "lib", src))
				if err != nil {
					t.Fatal(err)
				}
				p := filepath.Join(sysroot, dst)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, b, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			for link, target := range tc.links {
				if err := os.Symlink(target, filepath.Join(sysroot, link)); err != nil {
					t.Fatal(err)
				}
			}
			lay := filepath.Join(t.TempDir(), "layout")
			mustRun(t, nil, "pack", "--sysroot", sysroot, "-o", "oci:"+lay+":arm64", prog)
			rootfs := filepath.Join(testenv.UnpackOCI(t, lay, "arm64"), "rootfs")
			if diff := cmp.Diff(tc.files, aarch64Files(t, rootfs)); diff != "" {
				t.Errorf("image files (-want +got):\n%s", diff)
			}
			if qemuErr != nil {
				return
			}
			if got, errOut, code := testenv.RunOCI(t, lay, "arm64"); got != want || code != 0 {
				t.Errorf("under qemu: %q, exit %d, stderr %q; want %q", got, code, errOut, want)
			}
		})
	}
}

// TestMultiArchIndexBase packs an amd64+arm64 pair onto a base that is
// itself an index (a busybox:glibc-shaped amd64 image and an arm64 image
// holding the loader and libc of Debian's cross sysroot): each platform's
// image takes glibc from its own platform's base.
func TestMultiArchIndexBase(t *testing.T) {
	amd64, arm64 := testenv.Fixture(t, "hello-c"), testenv.Fixture(t, "hello-c-arm64")
	rootfs := t.TempDir()
	for _, f := range []string{"ld-linux-aarch64.so.1", "libc.so.6"} {
		b, err := os.ReadFile(filepath.Join(arm64Sysroot, "lib", f))
		if err != nil {
			t.Skipf("SKIP: %v", err)
		}
		if err := os.MkdirAll(filepath.Join(rootfs, "lib"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(rootfs, "lib", f), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	armBase := testenv.ImageFromRootfs(t, rootfs)
	cf, err := armBase.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.Architecture = "arm64"
	if armBase, err = mutate.ConfigFile(armBase, cf); err != nil {
		t.Fatal(err)
	}
	baseIdx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex),
		mutate.IndexAddendum{Add: testenv.BusyboxGlibcImage(t), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: armBase, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}})
	baseDir := filepath.Join(t.TempDir(), "base")
	lp, err := layout.Write(baseDir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendIndex(baseIdx, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": "multi"})); err != nil {
		t.Fatal(err)
	}

	lay := filepath.Join(t.TempDir(), "layout")
	out := mustRun(t, nil, "pack", "--base", "oci:"+baseDir+":multi", "--dest", "/app/hello", "--json",
		"--platform", "linux/amd64="+amd64, "--platform", "linux/arm64="+arm64, "-o", "oci:"+lay+":hello")
	var res packIndexResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("pack --json: %v\n%s", err, out)
	}
	fromBase := map[string][]string{}
	for _, m := range res.Manifests {
		fromBase[m.Platform] = m.FromBase
		if !slices.Equal(slices.DeleteFunc(m.Files, func(f string) bool { return strings.HasPrefix(f, "/etc/") }), []string{"/app/hello"}) {
			t.Errorf("%s image adds %q; want only the program: glibc comes from the base", m.Platform, m.Files)
		}
	}
	wantFromBase := map[string][]string{
		"linux/amd64": {"/lib64/ld-linux-x86-64.so.2", "libc.so.6"},
		"linux/arm64": {"/lib/ld-linux-aarch64.so.1", "libc.so.6"},
	}
	if diff := cmp.Diff(wantFromBase, fromBase); diff != "" {
		t.Errorf("libraries taken from the base, by platform (-want +got):\n%s", diff)
	}
	imgs := platformImages(t, layoutIndex(t, lay, "hello"))
	single := filepath.Join(t.TempDir(), "single")
	testenv.WriteOCILayout(t, imgs["linux/amd64"], single, "amd64")
	testenv.WriteOCILayout(t, imgs["linux/arm64"], single, "arm64")
	if got, _, code := testenv.RunOCI(t, single, "amd64"); got != "hello from C\n" || code != 0 {
		t.Errorf("amd64 image on the amd64 base: %q, exit %d", got, code)
	}
	if err := testenv.QemuBinfmt(t, "aarch64"); err != nil {
		t.Logf("*** NOT RUNNING the arm64 image: %v", err)
		return
	}
	if got, errOut, code := testenv.RunOCI(t, single, "arm64"); got != "hello from C\n" || code != 0 {
		t.Errorf("arm64 image on the arm64 base, under qemu: %q, exit %d, stderr %q", got, code, errOut)
	}
}
