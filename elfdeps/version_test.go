package elfdeps

import (
	"debug/elf"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCompareVersions(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"2.34", "2.34", 0},
		{"2.9", "2.34", -1},
		{"2.34", "2.9", 1},
		{"2.3", "2.3.4", -1},
		{"2.3.4", "2.3", 1},
		{"2.2.5", "2.3", -1},
		{"3.4.21", "3.4.30", -1},
		{"3.4.30", "3.4.9", 1},
		{"1.3.9", "1.3.13", -1},
		{"2.0", "2", 1}, // "2" has no minor part, as the empty string has no major
		{"", "", 0},
		{"", "2.2.5", -1},
		{"2.2.5", "", 1},
		{"0", "", 1},
		{"10", "9", 1},
		{"02.34", "2.34", 0},
	}
	for _, tc := range tests {
		t.Run(tc.a+"_vs_"+tc.b, func(t *testing.T) {
			if got := CompareVersions(tc.a, tc.b); got != tc.want {
				t.Errorf("CompareVersions(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
			}
			if got := CompareVersions(tc.b, tc.a); got != -tc.want {
				t.Errorf("CompareVersions(%q, %q) = %d, want %d (antisymmetry)", tc.b, tc.a, got, -tc.want)
			}
		})
	}
}

func TestMaxVersions(t *testing.T) {
	needs := []elf.DynamicVersionNeed{
		{Name: "libc.so.6", Needs: []elf.DynamicVersionDep{{Dep: "GLIBC_2.2.5"}, {Dep: "GLIBC_2.34"}, {Dep: "GLIBC_2.9"}, {Dep: "GLIBC_PRIVATE"}}},
		{Name: "libstdc++.so.6", Needs: []elf.DynamicVersionDep{{Dep: "GLIBCXX_3.4.9"}, {Dep: "GLIBCXX_3.4.21"}, {Dep: "CXXABI_1.3.9"}, {Dep: "CXXABI_1.3"}}},
		{Name: "libgcc_s.so.1", Needs: []elf.DynamicVersionDep{{Dep: "GCC_3.0"}}},
	}
	want := map[string]string{"GLIBC": "2.34", "GLIBCXX": "3.4.21", "CXXABI": "1.3.9"}
	if diff := cmp.Diff(want, maxVersions(needs)); diff != "" {
		t.Errorf("maxVersions mismatch (-want +got):\n%s", diff)
	}
	defs := []elf.DynamicVersion{{Name: "libc.so.6"}, {Name: "GLIBC_2.2.5"}, {Name: "GLIBC_2.36"}, {Name: "GLIBC_PRIVATE"}}
	if diff := cmp.Diff(map[string]string{"GLIBC": "2.36"}, providedVersions(defs)); diff != "" {
		t.Errorf("providedVersions mismatch (-want +got):\n%s", diff)
	}
}
