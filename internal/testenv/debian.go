package testenv

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// DebianSpec says which Debian 12 (bookworm) root DebianRoot makes.
type DebianSpec struct {
	// Arch is the Debian architecture: "amd64", "arm64", "armhf", "i386",
	// "ppc64el", "riscv64" or "s390x".
	Arch string
	// Variant is mmdebstrap's --variant: "apt" (Essential, apt and
	// Packages, installed), "extract" (Packages and their dependencies
	// unpacked, no maintainer script run: the way to other architectures
	// without emulation), or "essential", "minbase", "required", ...
	Variant string
	// Packages are mmdebstrap's --include: the packages to add, with their
	// dependencies. Order and repeats do not matter.
	Packages []string
}

// DebianServers is the amd64 root of the slim tests: redis, nginx (light),
// python3 and curl installed with apt. ~230 MB; ~30 s to build on a
// 2-core machine with a fast mirror, once.
var DebianServers = DebianSpec{
	Arch:     "amd64",
	Variant:  "apt",
	Packages: []string{"curl", "nginx-light", "python3", "redis-server"},
}

// DebianArm64Redis is an arm64 root holding redis-server and its libraries,
// unpacked without emulation (--variant=extract). ~56 MB; ~7 s once.
var DebianArm64Redis = DebianSpec{
	Arch:     "arm64",
	Variant:  "extract",
	Packages: []string{"redis-server"},
}

// debianSuite is the release every root is made of.
const debianSuite = "bookworm"

// debianRecipe changes when the way roots are made changes (options,
// filtering), so that older cached roots are not used.
const debianRecipe = 1

// debianEpoch is mmdebstrap's SOURCE_DATE_EPOCH (files it creates get this
// mtime; Debian 12.0's release day) and the images' creation time.
var debianEpoch = time.Date(2023, time.June, 10, 0, 0, 0, 0, time.UTC)

// debianCacheDir holds the cached roots: testdata/out/debian of this
// module, which is git-ignored and removed by make clean.
var debianCacheDir = func() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", "out", "debian")
}()

// debianArch is what an image config and qemu call a Debian architecture.
type debianArch struct {
	goarch, variant string // OCI platform
	qemu            string // qemu-user-static's name, for QemuBinfmt
}

var debianArches = map[string]debianArch{
	"amd64":   {goarch: "amd64", qemu: "x86_64"},
	"arm64":   {goarch: "arm64", variant: "v8", qemu: "aarch64"},
	"armhf":   {goarch: "arm", variant: "v7", qemu: "arm"},
	"i386":    {goarch: "386", qemu: "i386"},
	"ppc64el": {goarch: "ppc64le", qemu: "ppc64le"},
	"riscv64": {goarch: "riscv64", qemu: "riscv64"},
	"s390x":   {goarch: "s390x", qemu: "s390x"},
}

// mmdebstrapVariants are the --variant values DebianSpec accepts.
var mmdebstrapVariants = []string{
	"extract", "custom", "essential", "apt", "required", "minbase",
	"buildd", "important", "debootstrap", "standard",
}

// debianRoot is a validated DebianSpec with what its cache key covers.
type debianRoot struct {
	spec    DebianSpec
	arch    debianArch
	sources []aptSource
	name    string // file name in debianCacheDir, without ".tar"
}

// key is what the cache key hashes, also written next to the root as
// NAME.json for people.
type debianKey struct {
	Recipe   int         `json:"recipe"`
	Suite    string      `json:"suite"`
	Arch     string      `json:"arch"`
	Variant  string      `json:"variant"`
	Packages []string    `json:"packages"`
	Sources  []aptSource `json:"sources"`
}

// resolveDebian validates spec, sorts its packages, and names its root
// after a hash of the spec and this machine's apt sources.
func resolveDebian(spec DebianSpec) (*debianRoot, error) {
	arch, ok := debianArches[spec.Arch]
	if !ok {
		return nil, fmt.Errorf("DebianSpec.Arch %q: want one of amd64, arm64, armhf, i386, ppc64el, riscv64, s390x", spec.Arch)
	}
	if !slices.Contains(mmdebstrapVariants, spec.Variant) {
		return nil, fmt.Errorf("DebianSpec.Variant %q: want one of %s", spec.Variant, strings.Join(mmdebstrapVariants, ", "))
	}
	pkgs := slices.Clone(spec.Packages)
	if spec.Variant == "extract" {
		// Merged /usr as in every bookworm image: the merged-usr hook
		// makes /bin, /lib, ... links before anything is unpacked, and
		// usr-is-merged satisfies init-system-helpers' dependency, which
		// apt would otherwise meet with usrmerge and all of perl.
		pkgs = append(pkgs, "usr-is-merged")
	}
	for _, p := range pkgs {
		if p == "" || strings.ContainsAny(p, ", \t\n") {
			return nil, fmt.Errorf("DebianSpec.Packages: %q is not a package name", p)
		}
	}
	slices.Sort(pkgs)
	pkgs = slices.Compact(pkgs)
	spec.Packages = pkgs

	sources, err := bookwormSources()
	if err != nil {
		return nil, err
	}
	key, err := json.Marshal(debianKey{debianRecipe, debianSuite, spec.Arch, spec.Variant, pkgs, sources})
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(key)
	return &debianRoot{
		spec:    spec,
		arch:    arch,
		sources: sources,
		name:    fmt.Sprintf("%s-%s-%s-%s", debianSuite, spec.Arch, spec.Variant, hex.EncodeToString(sum[:6])),
	}, nil
}

// tarPath is where the root's tar is cached.
func (r *debianRoot) tarPath() string { return filepath.Join(debianCacheDir, r.name+".tar") }

// DebianRoot returns the path of a tar of a real Debian 12 (bookworm) root
// file system made by mmdebstrap from Debian's archive, through the apt
// sources of this machine (its /etc/apt/sources.list.d/*.sources that name
// bookworm, so the versions are this machine's; deb.debian.org when none
// do). The tar is what mmdebstrap writes (entries "./…", owners and modes
// as dpkg set them, hard links, file capabilities as PAX records) less what
// no image holds: the device nodes and links under /dev (the directory
// stays), /etc/resolv.conf and /etc/hostname, which mmdebstrap copies from
// this machine.
//
// The tar is cached in testdata/out/debian under a name that hashes the
// spec and the apt sources, so a machine pays for each root once (make
// clean removes them). Callers across goroutines and processes may ask for
// the same root at once: one builds it under a lock, the others wait and
// use it, and nobody ever sees a partial tar. The caller must not change it.
//
// Building needs root (mmdebstrap --mode=root, which sets real owners) and
// network access to the mirror: without root the test is skipped loudly;
// without mmdebstrap it is skipped, or fails with CI=true. A root of another
// architecture with a variant other than "extract" runs its maintainer
// scripts under qemu (QemuBinfmt).
func DebianRoot(t testing.TB, spec DebianSpec) string {
	t.Helper()
	r, err := resolveDebian(spec)
	if err != nil {
		t.Fatalf("testenv.DebianRoot: %v", err)
	}
	path := r.tarPath()
	if _, err := os.Stat(path); err == nil {
		return path
	}
	requireRoot(t, "building a Debian root with mmdebstrap --mode=root")
	bin := tool(t, "mmdebstrap", "mmdebstrap")
	if r.arch.goarch != runtime.GOARCH && spec.Variant != "extract" {
		if err := QemuBinfmt(t, r.arch.qemu); err != nil {
			t.Fatalf("testenv.DebianRoot: the %s variant runs %s maintainer scripts, which needs qemu through binfmt_misc: %v (or use Variant \"extract\")", spec.Variant, spec.Arch, err)
		}
	}
	start := time.Now()
	built, err := cacheFile(path, func(f *os.File) error {
		// DebianImage's compressed layer of an earlier tar at this path
		// (removed by hand) would not match the new one.
		for _, p := range []string{path + ".gz", path + ".gz.json"} {
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
		return r.build(bin, f)
	})
	if err != nil {
		t.Fatalf("testenv.DebianRoot: making %s: %v", path, err)
	}
	if built {
		fi, _ := os.Stat(path)
		t.Logf("testenv.DebianRoot: built %s (%d MB) in %v", path, fi.Size()>>20, time.Since(start).Round(time.Millisecond))
	}
	return path
}

// DebianRootDir returns a directory holding DebianRoot(t, spec) unpacked by
// GNU tar as root, with the tar's owners, modes (setuid too), hard links
// and file capabilities. Each call unpacks a new copy in t.TempDir (~1-3 s
// for the servers' root), removed when the test ends: tests run programs in
// it, write to it, chroot into it, and none can spoil another's copy or the
// cache. It skips the test loudly when not running as root.
func DebianRootDir(t testing.TB, spec DebianSpec) string {
	t.Helper()
	requireRoot(t, "unpacking a Debian root with its owners")
	tarball := DebianRoot(t, spec)
	bin := tool(t, "tar", "tar")
	dir := filepath.Join(t.TempDir(), "root")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatalf("testenv.DebianRootDir: %v", err)
	}
	cmd := exec.Command(bin, "--extract", "--file", tarball, "--directory", dir,
		"--same-owner", "--same-permissions", "--numeric-owner", "--xattrs", "--xattrs-include=*")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("testenv.DebianRootDir: unpacking %s: %v: %s", tarball, err, out)
	}
	return dir
}
