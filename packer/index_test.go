package packer

import (
	"context"
	"errors"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/scratchpack/scratchpack/internal/elftest"
	"github.com/scratchpack/scratchpack/transfer"
)

// craftedSysroot writes a Debian-style cross sysroot for arch under dir (the
// loader at its PT_INTERP path, libc.so.6 and libm.so.6 in /lib) and a
// program needing libm, and returns the sysroot and the program.
func craftedSysroot(t *testing.T, dir, arch string) (sysroot, program string) {
	t.Helper()
	a := elftest.Archs[arch]
	sysroot = filepath.Join(dir, "usr", a.Triplet)
	for rel, f := range map[string]elftest.File{
		"lib/" + path.Base(a.Interp): elftest.Library(a, path.Base(a.Interp)),
		"lib/libc.so.6":              elftest.Library(a, "libc.so.6", path.Base(a.Interp)),
		"lib/libm.so.6":              elftest.Library(a, "libm.so.6", "libc.so.6"),
	} {
		if _, err := elftest.Write(sysroot, rel, f); err != nil {
			t.Fatal(err)
		}
	}
	if path.Dir(a.Interp) == "/lib64" { // as libc6-ppc64el-cross: lib64/ld64.so.2 -> ../lib/ld64.so.2
		if err := os.MkdirAll(filepath.Join(sysroot, "lib64"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("../lib/"+path.Base(a.Interp), filepath.Join(sysroot, "lib64", path.Base(a.Interp))); err != nil {
			t.Fatal(err)
		}
	}
	program, err := elftest.Write(dir, "hello-"+arch, elftest.Program(a, "libm.so.6"))
	if err != nil {
		t.Fatal(err)
	}
	return sysroot, program
}

// TestBuildIndexForeign packs crafted riscv64, s390x (big-endian) and armhf
// programs, each with a sysroot of its own, into one index.
func TestBuildIndexForeign(t *testing.T) {
	dir := t.TempDir()
	var specs []Spec
	want := map[string][]string{}
	for _, arch := range []string{"riscv64", "s390x", "arm", "ppc64le"} {
		sysroot, prog := craftedSysroot(t, dir, arch)
		specs = append(specs, Spec{Program: prog, Dest: "/app/hello", Root: sysroot, Base: transfer.Ref{Transport: transfer.Scratch}, WorkDir: t.TempDir()})
		a := elftest.Archs[arch]
		// The files land where the target's loader looks: the
		// interpreter at its PT_INTERP path, the libraries in /lib.
		want[arch] = []string{"/app/hello", "/lib/" + path.Base(a.Interp), "/lib/libc.so.6", "/lib/libm.so.6"}
	}
	build := func(specs []Spec) *IndexResult {
		res, err := BuildIndex(context.Background(), specs)
		if err != nil {
			t.Fatal(err)
		}
		if err := validate.Index(res.Index); err != nil {
			t.Fatalf("validate.Index: %v", err)
		}
		return res
	}
	res := build(specs)
	im, err := res.Index.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if mt, _ := res.Index.MediaType(); mt != types.OCIImageIndex {
		t.Errorf("index media type %s, want %s", mt, types.OCIImageIndex)
	}
	var platforms []string
	for i, d := range im.Manifests {
		platforms = append(platforms, d.Platform.String())
		if d.MediaType != types.OCIManifestSchema1 {
			t.Errorf("manifest %d: media type %s", i, d.MediaType)
		}
		img, err := res.Index.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cf.Platform().String() != d.Platform.String() {
			t.Errorf("descriptor says %s, config says %s", d.Platform, cf.Platform())
		}
		var files []string
		for _, e := range res.Results[i].Files.Entries() {
			if e.Type == TypeFile && !strings.HasPrefix(e.Path, "/etc/") { // /etc/passwd, /etc/group: every image gets them
				files = append(files, e.Path)
			}
		}
		arch := res.Results[i].Report.Arch
		if diff := cmp.Diff(sorted(want[arch]), sorted(files)); diff != "" {
			t.Errorf("%s image files (-want +got):\n%s", arch, diff)
		}
		if arch == "ppc64le" {
			e := res.Results[i].Files.Get("/lib64/ld64.so.2")
			if e == nil || e.Type != TypeSymlink || e.Target != "../lib/ld64.so.2" {
				t.Errorf("ppc64le image: /lib64/ld64.so.2 is %+v, want the link to ../lib/ld64.so.2", e)
			}
		}
	}
	if diff := cmp.Diff([]string{"linux/arm/v7", "linux/ppc64le", "linux/riscv64", "linux/s390x"}, platforms); diff != "" {
		t.Errorf("index platforms (-want +got):\n%s", diff)
	}

	// The order of the programs does not change the index.
	reversed := []Spec{specs[3], specs[2], specs[1], specs[0]}
	if a, b := digest(t, res.Index), digest(t, build(reversed).Index); a != b {
		t.Errorf("index digest depends on the order of programs: %s, %s", a, b)
	}

	t.Run("two programs of one platform", func(t *testing.T) {
		_, err := BuildIndex(context.Background(), []Spec{specs[0], specs[0]})
		if err == nil || !strings.Contains(err.Error(), "one image per platform") {
			t.Errorf("BuildIndex = %v, want an error about one image per platform", err)
		}
	})
	t.Run("requested platform must match the program", func(t *testing.T) {
		s := specs[0]
		s.Platform = &v1.Platform{OS: "linux", Architecture: "arm64"}
		_, err := BuildIndex(context.Background(), []Spec{s})
		var wr *WontRunError
		if !errors.As(err, &wr) {
			t.Errorf("BuildIndex = %v, want a *WontRunError", err)
		}
	})
}

func sorted(s []string) []string { return slices.Sorted(slices.Values(s)) }
