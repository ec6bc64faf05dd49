package elfdeps

import (
	"debug/elf"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/scratchpack/scratchpack/internal/elftest"
)

// TestFindSysroot chooses where a program's libraries come from, on a
// pretend amd64 host whose file system is a temporary directory.
func TestFindSysroot(t *testing.T) {
	inspect := func(t *testing.T, f elftest.File) *Report {
		p, err := elftest.Write(t.TempDir(), "prog", f)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := InspectFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	rv := elftest.Archs["riscv64"]
	tests := []struct {
		name  string
		files map[string]elftest.File // in the pretend host
		prog  elftest.File
		want  string // "" for a *SysrootError
	}{
		{"program of this machine", nil, elftest.Program(elftest.Archs["amd64"], "libc.so.6"), "/"},
		{"static foreign program", nil, elftest.File{Arch: rv, Type: elf.ET_EXEC}, "/"},
		{"Debian cross sysroot", map[string]elftest.File{"usr/riscv64-linux-gnu" + rv.Interp: elftest.Library(rv, "ld")},
			elftest.Program(rv, "libc.so.6"), "/usr/riscv64-linux-gnu"},
		{"multiarch loader on this machine", map[string]elftest.File{rv.Interp: elftest.Library(rv, "ld")},
			elftest.Program(rv, "libc.so.6"), "/"},
		{"cross sysroot with another architecture's loader", map[string]elftest.File{
			"usr/riscv64-linux-gnu" + rv.Interp: elftest.Library(elftest.Archs["arm64"], "ld")},
			elftest.Program(rv, "libc.so.6"), ""},
		{"nothing", nil, elftest.Program(rv, "libc.so.6"), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			host := t.TempDir()
			for rel, f := range tc.files {
				if _, err := elftest.Write(host, rel, f); err != nil {
					t.Fatal(err)
				}
			}
			rep := inspect(t, tc.prog)
			got, err := findSysroot(rep, "amd64", host)
			if tc.want != "" {
				if err != nil || got != tc.want {
					t.Errorf("findSysroot = %q, %v; want %q", got, err, tc.want)
				}
				return
			}
			var se *SysrootError
			if !errors.As(err, &se) {
				t.Fatalf("findSysroot = %q, %v; want a *SysrootError", got, err)
			}
			if diff := cmp.Diff([]string{"/usr/riscv64-linux-gnu", "/"}, se.Searched); diff != "" {
				t.Errorf("Searched (-want +got):\n%s", diff)
			}
			for _, s := range []string{rep.Path, "linux/riscv64", rv.Interp, "/usr/riscv64-linux-gnu", "libc6-riscv64-cross", "Give a sysroot", "linux/riscv64=DIR"} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not name %q", err, s)
				}
			}
		})
	}
}
