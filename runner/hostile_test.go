package runner

import (
	"archive/tar"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

// hostileImage is busybox with layers written to reach outside the root:
// ../ names, absolute links to outside (one on the way to a file, one as
// the working directory, and /proc and /dev as links), a hard link to an
// outside file, and a whiteout. Its program writes through all of them.
func hostileImage(t *testing.T, outside string) v1.Image {
	t.Helper()
	img := withLayer(t, testenv.BusyboxGlibcImage(t),
		ent{name: "../../../../../../" + strings.TrimPrefix(outside, "/") + "/dotdot", data: "escaped"},
		ent{name: "evil", typ: tar.TypeSymlink, link: outside},
		ent{name: "rel", typ: tar.TypeSymlink, link: "../../../../../../../../" + strings.TrimPrefix(outside, "/")},
		ent{name: "proc", typ: tar.TypeSymlink, link: outside},
		ent{name: "dev", typ: tar.TypeSymlink, link: outside},
		ent{name: "work", typ: tar.TypeSymlink, link: outside + "/work"},
		ent{name: "gone", data: "whited out"},
	)
	img = withLayer(t, img,
		ent{name: "evil/through-link", data: "written through a link"},
		ent{name: "rel/through-rel", data: "written through a relative link"},
		ent{name: "hard", typ: tar.TypeLink, link: outside + "/canary"},
		ent{name: ".wh.gone"},
	)
	return withConfig(t, img, func(c *v1.Config) {
		c.WorkingDir = "/work"
		c.Entrypoint = []string{"/bin/sh", "-c"}
		c.Cmd = []string{`echo pwd=$(pwd); test -e /gone && echo GONE-EXISTS; echo x > here; echo y > /evil/from-container; ` +
			`echo z >> /hard 2>/dev/null; busybox ls /proc/self >/dev/null && echo proc mounted; echo done`}
	})
}

// TestRunHostileImage runs hostileImage and checks that the canary file and
// the directory it lives in are untouched.
func TestRunHostileImage(t *testing.T) {
	requireNamespaces(t)
	for rt, opts := range runtimes(t) {
		t.Run(rt, func(t *testing.T) {
			outside := t.TempDir()
			canary := filepath.Join(outside, "canary")
			if err := os.WriteFile(canary, []byte("untouched"), 0o644); err != nil {
				t.Fatal(err)
			}
			out, errOut, res := output(t, hostileImage(t, outside), opts...)
			t.Logf("stdout %q stderr %q", out, errOut)
			if res.ExitCode != 0 || !strings.Contains(out, "pwd="+outside+"/work\n") || !strings.Contains(out, "proc mounted\ndone") || strings.Contains(out, "GONE") {
				t.Errorf("exit %d, stdout %q, stderr %q", res.ExitCode, out, errOut)
			}
			if b, err := os.ReadFile(canary); err != nil || string(b) != "untouched" {
				t.Errorf("canary: %q %v", b, err)
			}
			entries, err := os.ReadDir(outside)
			if err != nil || len(entries) != 1 {
				t.Errorf("outside the root now holds %v (%v); want only the canary", entries, err)
			}
		})
	}
}
