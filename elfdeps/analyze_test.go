package elfdeps

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

// countingFS counts the opens of each file of an os.DirFS.
type countingFS struct {
	fs.FS
	mu    sync.Mutex
	opens map[string]int
}

func (c *countingFS) Open(name string) (fs.File, error) {
	c.mu.Lock()
	c.opens[name]++
	c.mu.Unlock()
	return c.FS.Open(name)
}

func (c *countingFS) ReadLink(name string) (string, error) {
	return c.FS.(fs.ReadLinkFS).ReadLink(name)
}
func (c *countingFS) Stat(name string) (fs.FileInfo, error) { return fs.Stat(c.FS, name) }
func (c *countingFS) Lstat(name string) (fs.FileInfo, error) {
	return c.FS.(fs.ReadLinkFS).Lstat(name)
}

// TestAnalyzeParsesOnce: one analysis (closure, run-time needs, dlopen
// hints) opens each library of the root once, and finds what the passes
// run one by one find.
func TestAnalyzeParsesOnce(t *testing.T) {
	for _, name := range []string{"hello-cc", "dlopen", "nss", "iconv", "gotls"} {
		t.Run(name, func(t *testing.T) {
			file := testenv.Fixture(t, name)
			cfs := &countingFS{FS: os.DirFS("/"), opens: map[string]int{}}
			prog, err := OpenProgram(file)
			if err != nil {
				t.Fatal(err)
			}
			a, err := Analyze(NewRoot(cfs, "/"), prog, AnalyzeOptions{Hints: true})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			for p, n := range cfs.opens {
				if n > 1 && (strings.Contains(p, ".so") || p == "etc/ld.so.cache") {
					t.Errorf("%s opened %d times", p, n)
				}
			}

			// The passes one by one, as before Analyze.
			rep, err := InspectFile(file)
			if err != nil {
				t.Fatal(err)
			}
			root := DirRoot("/")
			c, err := Resolve(root, rep)
			if err != nil {
				t.Fatal(err)
			}
			needs, _ := RuntimeNeeds(root, rep, c, WithProgram(prog.File))
			f, err := os.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			hints := DlopenHints(root, f, rep, c)
			if diff := cmp.Diff(c, a.Closure); diff != "" {
				t.Errorf("closure (-alone +analysis):\n%s", diff)
			}
			if diff := cmp.Diff(needs, a.Needs); diff != "" {
				t.Errorf("needs (-alone +analysis):\n%s", diff)
			}
			if diff := cmp.Diff(hints, a.Hints); diff != "" {
				t.Errorf("hints (-alone +analysis):\n%s", diff)
			}
		})
	}
}

// TestAnalyzeNotAProgram: a file that is not a program is Inspect's error.
func TestAnalyzeNotAProgram(t *testing.T) {
	p := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(p, []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	prog, err := OpenProgram(p)
	if err != nil {
		t.Fatal(err)
	}
	defer prog.File.Close()
	if _, err := Analyze(DirRoot("/"), prog, AnalyzeOptions{}); err == nil || !strings.Contains(err.Error(), "not an ELF file") {
		t.Errorf("Analyze of a text file: %v", err)
	}
}

// TestAnalysisShare: a root that reaches the same host files as the
// analysis (the finished image of a pack) parses none of them again.
func TestAnalysisShare(t *testing.T) {
	prog, err := OpenProgram(testenv.Fixture(t, "hello-cc"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := Analyze(DirRoot("/"), prog, AnalyzeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	before := a.root.parsed()
	if before < 5 {
		t.Fatalf("the analysis parsed %d objects, want the closure's", before)
	}
	image := a.Share(NewRoot(os.DirFS("/"), "the image"))
	c, err := Resolve(image, a.Report)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Libraries) != len(a.Closure.Libraries) {
		t.Errorf("%d libraries through the shared root, %d in the analysis", len(c.Libraries), len(a.Closure.Libraries))
	}
	if after := image.parsed(); after != before {
		t.Errorf("resolving again through another root parsed %d more objects", after-before)
	}
}
