package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

// TestInspectEveryFile: inspect reports every file it is given, good or
// bad, and only then exits with the worst status.
func TestInspectEveryFile(t *testing.T) {
	good := testenv.Fixture(t, "hello-c")
	out, errOut, code := run(t, nil, "inspect", "/nonexistent", good, "/etc/passwd")
	if code != exitBadInput {
		t.Errorf("exit %d, want %d", code, exitBadInput)
	}
	if !strings.HasPrefix(out, good+": dynamic amd64") {
		t.Errorf("stdout does not report %s:\n%s", good, out)
	}
	for _, bad := range []string{"/nonexistent", "/etc/passwd"} {
		if !strings.Contains(errOut, "scratchpack: "+bad+": ") {
			t.Errorf("stderr does not name %s:\n%s", bad, errOut)
		}
	}
}

// TestInspectLdsoResolver: the loader's flat list is shown as the same tree
// the builtin resolver shows, each library under what needs it.
func TestInspectLdsoResolver(t *testing.T) {
	prog := testenv.Fixture(t, "hello-cc")
	var builtin, ldso analysis
	if err := jsonUnmarshal(mustRun(t, nil, "inspect", "--json", prog), &builtin); err != nil {
		t.Fatal(err)
	}
	if err := jsonUnmarshal(mustRun(t, nil, "inspect", "--json", "--resolver", "ldso", prog), &ldso); err != nil {
		t.Fatal(err)
	}
	neededBy := func(a analysis) map[string]string {
		m := map[string]string{}
		for _, l := range a.Libraries {
			m[l.Soname] = strings.Join(l.NeededBy, ",")
		}
		return m
	}
	b, l := neededBy(builtin), neededBy(ldso)
	if len(l) != 4 {
		t.Fatalf("ldso resolver: %d libraries, want 4: %v", len(l), l)
	}
	for soname, by := range l {
		if by == "" || !strings.HasPrefix(by, strings.Split(b[soname], ",")[0]) {
			t.Errorf("%s: needed by %q with ldso, %q with builtin", soname, by, b[soname])
		}
	}
	text := mustRun(t, nil, "inspect", "--resolver", "ldso", prog)
	for soname := range l {
		if !strings.Contains(text, "\n  "+soname) && !strings.Contains(text, "\n    "+soname) {
			t.Errorf("inspect --resolver ldso shows no line for %s:\n%s", soname, text)
		}
	}
}

// TestClosedStdout: a reader that stops reading (scratchpack ls | head) is
// a normal end of a listing: exit 0, not death by SIGPIPE.
func TestClosedStdout(t *testing.T) {
	archive := filepath.Join(t.TempDir(), "img.tar")
	mustRun(t, nil, "pack", "-o", archive, testenv.Fixture(t, "hello-cc"))
	for _, args := range [][]string{{"ls", archive}, {"ls", "--json", archive}, {"inspect", testenv.Fixture(t, "hello-cc")}} {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		r.Close() // nobody reads: the first write fails with EPIPE
		cmd := exec.Command(bin, args...)
		var stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = w, &stderr
		err = cmd.Run()
		w.Close()
		if err != nil {
			t.Errorf("scratchpack %s | (closed): %v; stderr %q", strings.Join(args, " "), err, stderr.String())
		}
	}
}
