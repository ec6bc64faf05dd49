package runner

import (
	"io"
	"os"
	"path"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/scratchpack/scratchpack/elfdeps"
)

// maxOutputTail is how much of the program's output a run keeps to read
// what it says when it fails.
const maxOutputTail = 64 << 10

// outputTail keeps the last bytes written to it, from both of the
// program's output streams.
type outputTail struct {
	mu  sync.Mutex
	buf []byte
}

func (o *outputTail) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buf = append(o.buf, p...)
	if extra := len(o.buf) - maxOutputTail; extra > 0 {
		o.buf = append(o.buf[:0], o.buf[extra:]...)
	}
	return len(p), nil
}

func (o *outputTail) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return string(o.buf)
}

// captureOutput has the program's output copied into a tail as well, for
// the explanation of a failure. A terminal is left as it is, so that the
// program still sees one: what it prints there is not read.
func captureOutput(o *options) *outputTail {
	tail := &outputTail{}
	if !isTerminal(o.stdout) {
		o.stdout = io.MultiWriter(o.stdout, tail)
	}
	if !isTerminal(o.stderr) {
		o.stderr = io.MultiWriter(o.stderr, tail)
	}
	return tail
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// loaderErrors are what the dynamic loader prints when a program cannot start.
var loaderErrors = []string{"error while loading shared libraries", "cannot open shared object file", "version `GLIBC_", "version `GLIBCXX_", "(required by", "Error relocating", "Error loading shared library"}

// looksLikeStartFailure reports whether a failed run is worth inspecting:
// the program could not be started (126, 127, a runtime's start error) or
// its loader said why it could not go on.
func looksLikeStartFailure(code int, start *StartError, out string) bool {
	if start != nil || code == 126 || code == 127 {
		return true
	}
	for _, e := range loaderErrors {
		if strings.Contains(out, e) {
			return true
		}
	}
	// runc's own, on the program's stderr: "exec /app/x: no such file or directory".
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "exec ") && (strings.HasSuffix(line, "no such file or directory") ||
			strings.HasSuffix(line, "exec format error") || strings.HasSuffix(line, "permission denied")) {
			return true
		}
	}
	return false
}

// namedPaths returns the absolute paths the output names, in order, once
// each, leaving out the running system's (/proc, /sys, /dev).
func namedPaths(out string) []string {
	var paths []string
	seen := map[string]bool{}
	fields := strings.FieldsFunc(out, func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\n' || r == '\r' || strings.ContainsRune("'\"`‘’“”()[]{}<>,;=", r)
	})
	for _, f := range fields {
		f = strings.TrimRight(f, ":.?!")
		if !strings.HasPrefix(f, "/") || strings.HasPrefix(f, "//") || len(f) < 2 || len(f) > 4096 {
			continue
		}
		p := path.Clean(f)
		if p == "/" || under(p, "/proc") || under(p, "/sys") || under(p, "/dev") || seen[p] {
			continue
		}
		seen[p] = true
		paths = append(paths, p)
	}
	return paths
}

func under(p, dir string) bool { return p == dir || strings.HasPrefix(p, dir+"/") }

// missingIn returns the paths that root does not have.
func missingIn(root *elfdeps.Root, paths []string) []string {
	var out []string
	for _, p := range paths {
		if _, _, err := root.Resolve(p); err != nil {
			out = append(out, p)
		}
	}
	return out
}

// keepHints drops the hints of what the image has (the loader finds it
// there), and those the output does not name: a program whose output
// names no library it failed to load failed for another reason.
func keepHints(hints []elfdeps.DlopenHint, out string) []elfdeps.DlopenHint {
	var kept []elfdeps.DlopenHint
	for _, h := range hints {
		if h.Path != "" {
			continue
		}
		name := path.Base(strings.ReplaceAll(h.Name, "*", ""))
		if h.Family != "" && strings.Contains(out, "cannot open shared object file") || name != "" && strings.Contains(out, name) {
			kept = append(kept, h)
		}
	}
	return kept
}

// keepFiles keeps the run-time files the output names.
func keepFiles(files []elfdeps.RuntimeFile, out string) []elfdeps.RuntimeFile {
	var kept []elfdeps.RuntimeFile
	for _, f := range files {
		if strings.Contains(out, f.Path) {
			kept = append(kept, f)
		}
	}
	return kept
}
