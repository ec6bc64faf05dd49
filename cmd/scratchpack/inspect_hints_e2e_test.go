package main

import (
	"strings"
	"testing"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

// TestInspectDlopenHints: inspect names what a program loads at run time,
// in its human report and as dlopen_hints in --json, and nothing for a
// program that loads nothing.
func TestInspectDlopenHints(t *testing.T) {
	prog := testenv.Fixture(t, "dlopen")
	out := mustRun(t, nil, "inspect", prog)
	for _, want := range []string{"probably loaded at run time:", "libscratchpack-plugin.so.1", "/opt/scratchpack/plugins/libcodec.so",
		"gconv", "add with --include-lib"} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect %s: no %q in\n%s", prog, want, out)
		}
	}
	var a struct {
		Hints []struct {
			Name, Family, Reason string
			FoundIn              []string `json:"found_in"`
		} `json:"dlopen_hints"`
	}
	if err := jsonUnmarshal(mustRun(t, nil, "inspect", "--json", prog), &a); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, h := range a.Hints {
		names[h.Name] = true
		if h.Reason == "" || len(h.FoundIn) == 0 {
			t.Errorf("hint without a reason or source: %+v", h)
		}
	}
	if !names["libscratchpack-plugin.so.1"] || !names["/opt/scratchpack/plugins/libcodec.so"] {
		t.Errorf("dlopen_hints: %+v", a.Hints)
	}

	plain := mustRun(t, nil, "inspect", "--json", testenv.Fixture(t, "hello-c"))
	if !strings.Contains(plain, `"dlopen_hints":[]`) {
		t.Errorf("hello-c should have an empty dlopen_hints list: %s", plain)
	}
}
