package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/scratchpack/scratchpack/packer"
)

// TestEntryLinesGroups: more than groupMin entries added for one reason are
// one line naming the directory they share, written once with its slash,
// including the root when they share nothing more.
func TestEntryLinesGroups(t *testing.T) {
	var entries []*packer.Entry
	add := func(dir, why string, n int) {
		for i := range n {
			entries = append(entries, &packer.Entry{Path: fmt.Sprintf("%s/f%d", dir, i), Type: packer.TypeFile, Size: 10, Why: why})
		}
	}
	add("/usr/share/zoneinfo/Europe", "zones", 5)
	add("/usr/share/zoneinfo/Asia", "zones", 5)
	add("/lib/x86_64-linux-gnu", "libs", 5)
	add("/lib64", "libs", 4)
	entries = append(entries, &packer.Entry{Path: "/app/prog", Type: packer.TypeFile, Size: 1, Why: "the program"})

	got := strings.Join(entryLines(entries), "\n")
	for _, want := range []string{"/usr/share/zoneinfo/ (10 files)", "  / (9 files)", "/app/prog"} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "//") {
		t.Errorf("report has a doubled slash:\n%s", got)
	}
}
