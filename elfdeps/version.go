package elfdeps

import (
	"debug/elf"
	"strconv"
	"strings"
)

// versionFamilies are the symbol-version prefixes scratchpack reports.
var versionFamilies = []string{"GLIBCXX", "CXXABI", "GLIBC"}

// maxVersions returns, for each family in versionFamilies, the highest
// version named in the version needs ("GLIBC" → "2.34").
func maxVersions(needs []elf.DynamicVersionNeed) map[string]string {
	max := map[string]string{}
	for _, n := range needs {
		for _, d := range n.Needs {
			fam, v, ok := splitVersion(d.Dep)
			if ok && CompareVersions(v, max[fam]) > 0 {
				max[fam] = v
			}
		}
	}
	return max
}

// splitVersion splits "GLIBC_2.34" into "GLIBC" and "2.34". It rejects
// GLIBC_PRIVATE and names of other families.
func splitVersion(name string) (family, version string, ok bool) {
	for _, f := range versionFamilies {
		if v, found := strings.CutPrefix(name, f+"_"); found && v != "" && v[0] >= '0' && v[0] <= '9' {
			return f, v, true
		}
	}
	return "", "", false
}

// CompareVersions compares dotted version numbers ("2.9" < "2.34");
// the empty string is lower than any version.
func CompareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	if a == "" {
		as = nil
	}
	if b == "" {
		bs = nil
	}
	for i := 0; i < len(as) || i < len(bs); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		} else {
			x = -1
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		} else {
			y = -1
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

// providedVersions returns the highest version of each family that a library
// defines (DT_VERDEF): what a base image's libc.so.6 or libstdc++.so.6 offers.
func providedVersions(defs []elf.DynamicVersion) map[string]string {
	max := map[string]string{}
	for _, d := range defs {
		fam, v, ok := splitVersion(d.Name)
		if ok && CompareVersions(v, max[fam]) > 0 {
			max[fam] = v
		}
	}
	return max
}
