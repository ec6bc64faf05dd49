package elfdeps

import (
	"debug/elf"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestSymbolVersionsMatchDebugElf compares the direct reader of the version
// sections with debug/elf's (slow, symbol-table based) one on real files.
func TestSymbolVersionsMatchDebugElf(t *testing.T) {
	files, _ := filepath.Glob("/usr/lib/x86_64-linux-gnu/lib*.so.*")
	files = append(files, "/usr/bin/bash", "/usr/bin/git", "/usr/lib/x86_64-linux-gnu/libc.so.6")
	checked := 0
	for _, name := range files {
		f, err := elf.Open(name)
		if err != nil {
			continue
		}
		wantNeeds, err1 := f.DynamicVersionNeeds()
		wantDefs, err2 := f.DynamicVersions()
		gotNeeds, err3 := versionNeeds(f, linkedStrings{})
		gotDefs, err4 := versionDefs(f, linkedStrings{})
		f.Close()
		if err3 != nil || err4 != nil {
			t.Errorf("%s: %v %v", name, err3, err4)
			continue
		}
		if err1 == nil {
			if diff := cmp.Diff(wantNeeds, gotNeeds); diff != "" {
				t.Errorf("%s: version needs (-debug/elf +ours):\n%s", name, diff)
			}
		}
		if err2 == nil {
			for i := range wantDefs {
				wantDefs[i].Deps = nil // not read: scratchpack needs only the names
			}
			if diff := cmp.Diff(wantDefs, gotDefs); diff != "" {
				t.Errorf("%s: version definitions (-debug/elf +ours):\n%s", name, diff)
			}
		}
		checked++
		if checked >= 200 {
			break
		}
	}
	if checked == 0 {
		if _, err := os.Stat("/usr/lib/x86_64-linux-gnu"); err == nil {
			t.Fatal("compared no file")
		}
		t.Skip("SKIP: no x86-64 libraries on this machine")
	}
}
