package packer

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/scratchpack/scratchpack/elfdeps"
)

// TraceSpec asks pack to run the program once on this machine, under
// strace, and add what it opened: what static analysis cannot see (plugins
// loaded with dlopen, data files). It is never done unless asked for.
type TraceSpec struct {
	Args       []string      // the program's arguments
	ReportOnly bool          // only report what it opened; add nothing
	Timeout    time.Duration // stop the program (and its children) after this; 0 means 30 s
	Strace     string        // the strace program; "" means strace from PATH
}

// Trace is what one traced run of a program opened and executed.
type Trace struct {
	Libraries []string `json:"libraries"` // ELF shared objects, by the path they were opened with
	Files     []string `json:"files"`     // other regular files
	Programs  []string `json:"programs"`  // programs executed (the program itself left out)
	Skipped   []string `json:"skipped"`   // opened but not for an image: /proc, /dev, /tmp, the loader cache, directories
	ExitCode  int      `json:"exit_code"`
	TimedOut  bool     `json:"timed_out"`
	Output    string   `json:"output"` // the program's stdout and stderr, cut at 64 kB
}

// traceSkipDirs hold files that belong to the running system or the run,
// never to an image.
var traceSkipDirs = []string{"/proc", "/sys", "/dev", "/run", "/tmp", "/var/tmp"}

// traceSkipFiles are made per machine, or written by scratchpack itself
// (the user database, NSS configuration), or given by the container
// runtime (resolv.conf, hostname): the machine's own never go in an image.
var traceSkipFiles = map[string]bool{
	"/etc/ld.so.cache": true, "/etc/ld.so.preload": true,
	"/etc/passwd": true, "/etc/group": true, "/etc/shadow": true, "/etc/gshadow": true,
	"/etc/nsswitch.conf": true, "/etc/hosts": true, "/etc/resolv.conf": true, "/etc/hostname": true,
}

// RunTrace runs spec.Program once on this machine under `strace -f` with the
// trace's arguments, the image's environment (spec.Config.Env, else a plain
// PATH) and an empty temporary working directory, and returns what it
// opened and executed that exists. It kills the program and its children
// after the timeout. The program must be of this machine's architecture,
// with its libraries on this machine (--root /).
func RunTrace(ctx context.Context, spec Spec) (*Trace, error) {
	spec, err := spec.withDefaults()
	if err != nil {
		return nil, err
	}
	ts := spec.Runtime.Trace
	if ts == nil {
		ts = &TraceSpec{}
	}
	if spec.Root == "" {
		spec.Root = "/" // the program runs here, so its libraries are this machine's
	}
	if spec.Root != "/" {
		return nil, fmt.Errorf("--trace runs the program on this machine, so it works only with --sysroot / (not %s)", spec.Root)
	}
	rep, err := elfdeps.InspectFile(spec.Program)
	if err != nil {
		return nil, err
	}
	if rep.Arch != runtime.GOARCH {
		return nil, fmt.Errorf("--trace cannot run %s: it is built for %s and this machine is %s", spec.Program, rep.Arch, runtime.GOARCH)
	}
	strace := ts.Strace
	if strace == "" {
		if strace, err = exec.LookPath("strace"); err != nil {
			return nil, errors.New("--trace needs strace: install the Debian package strace")
		}
	}
	prog, err := filepath.Abs(spec.Program)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(spec.WorkDir, "trace-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	log := filepath.Join(dir, "strace.log")
	work := filepath.Join(dir, "cwd")
	if err := os.Mkdir(work, 0o755); err != nil {
		return nil, err
	}
	timeout := ts.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	args := append([]string{"-f", "-qq", "-y", "-e", "trace=open,openat,execve", "-e", "signal=none", "-o", log, "--", prog}, ts.Args...)
	cmd := exec.CommandContext(ctx, strace, args...)
	cmd.Dir = work
	cmd.Env = spec.Config.Env
	if _, ok := lookupEnvList(cmd.Env, "PATH"); !ok {
		cmd.Env = append(cmd.Env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	}
	out := &limitedBuffer{max: 64 << 10}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, out, out
	// Its own process group, so that a timeout kills the children too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	runErr := cmd.Run()
	tr := &Trace{Libraries: []string{}, Files: []string{}, Programs: []string{}, Skipped: []string{}, Output: out.String()}
	var ee *exec.ExitError
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		tr.TimedOut = true
	case errors.As(runErr, &ee):
		tr.ExitCode = ee.ExitCode()
	case runErr != nil:
		return nil, fmt.Errorf("running %s under strace: %w", spec.Program, runErr)
	}
	f, err := os.Open(log)
	if err != nil {
		return nil, fmt.Errorf("reading the strace log: %w", err)
	}
	defer f.Close()
	events, err := parseStrace(f)
	if err != nil {
		return nil, fmt.Errorf("reading the strace log: %w", err)
	}
	tr.classify(events, prog, dir)
	return tr, nil
}

// classify sorts what the run opened into libraries, files and programs.
func (tr *Trace) classify(events []straceEvent, prog, workDir string) {
	progReal, _ := filepath.EvalSymlinks(prog)
	seen := map[string]bool{}
	for _, ev := range events {
		p := ev.path
		if seen[p] || p == prog || ev.real == progReal {
			continue
		}
		seen[p] = true
		if skipTraced(ev, workDir) {
			tr.Skipped = append(tr.Skipped, p)
			continue
		}
		fi, err := os.Stat(p)
		switch {
		case err != nil:
			continue // gone, or never a file
		case fi.IsDir() || !fi.Mode().IsRegular():
			tr.Skipped = append(tr.Skipped, p)
			continue
		}
		rep, err := elfdeps.InspectFile(p)
		switch {
		case ev.exec && err == nil:
			tr.Programs = append(tr.Programs, p)
		case err == nil && rep.Kind == elfdeps.KindSharedLibrary:
			tr.Libraries = append(tr.Libraries, p)
		default:
			tr.Files = append(tr.Files, p)
		}
	}
	for _, s := range [][]string{tr.Libraries, tr.Files, tr.Programs, tr.Skipped} {
		sort.Strings(s)
	}
}

func skipTraced(ev straceEvent, workDir string) bool {
	if traceSkipFiles[ev.path] || strings.HasPrefix(ev.path+"/", workDir+"/") || strings.HasPrefix(ev.real+"/", workDir+"/") {
		return true
	}
	for _, d := range traceSkipDirs {
		if strings.HasPrefix(ev.path+"/", d+"/") || strings.HasPrefix(ev.real+"/", d+"/") {
			return true
		}
	}
	return false
}

// straceEvent is one successful open or execve.
type straceEvent struct {
	path string // absolute, as asked for (links not followed)
	real string // as strace -y showed the opened descriptor, if it did
	exec bool
}

// parseStrace reads the log of `strace -f -y -e trace=open,openat,execve`
// and returns the successful calls, joining calls that strace split in
// "<unfinished ...>" and "<... resumed>" lines.
func parseStrace(r io.Reader) ([]straceEvent, error) {
	var out []straceEvent
	pending := map[string]string{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		pid, rest, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok {
			continue
		}
		rest = strings.TrimSpace(rest)
		if head, found := strings.CutSuffix(rest, " <unfinished ...>"); found {
			pending[pid] = head
			continue
		}
		if strings.HasPrefix(rest, "<... ") {
			_, tail, found := strings.Cut(rest, " resumed>")
			if !found {
				continue
			}
			rest = pending[pid] + tail
			delete(pending, pid)
		}
		if ev, ok := parseCall(rest); ok {
			out = append(out, ev)
		}
	}
	return out, sc.Err()
}

// parseCall parses `openat(AT_FDCWD</cwd>, "path", FLAGS) = 3</real>` and
// `execve("/bin/x", [...], ...) = 0`.
func parseCall(s string) (straceEvent, bool) {
	name, args, ok := strings.Cut(s, "(")
	if !ok {
		return straceEvent{}, false
	}
	eq := strings.LastIndex(s, ") = ")
	if eq < 0 {
		return straceEvent{}, false
	}
	ret := s[eq+len(") = "):]
	num, deco, _ := strings.Cut(ret, "<")
	n, err := strconv.Atoi(strings.TrimSpace(strings.Fields(num + " ")[0]))
	if err != nil || n < 0 {
		return straceEvent{}, false
	}
	q := strings.IndexByte(args, '"')
	if q < 0 {
		return straceEvent{}, false
	}
	p, ok := unquoteC(args[q:])
	if !ok || p == "" {
		return straceEvent{}, false
	}
	ev := straceEvent{exec: name == "execve"}
	if i := strings.LastIndexByte(deco, '>'); i >= 0 {
		ev.real = deco[:i]
	}
	switch {
	case path.IsAbs(p):
		ev.path = path.Clean(p)
	case name == "openat" && strings.Contains(args[:q], "<"):
		// The directory descriptor, decorated by -y: AT_FDCWD</cwd> or 3</usr/lib>.
		d := args[strings.IndexByte(args, '<')+1 : q]
		d = d[:strings.LastIndexByte(d, '>')]
		ev.path = path.Join(d, p)
	case ev.real != "":
		ev.path = ev.real
	default:
		return straceEvent{}, false
	}
	if ev.real == "" {
		ev.real = ev.path
	}
	return ev, true
}

// unquoteC reads the C string literal strace prints at the start of s.
func unquoteC(s string) (string, bool) {
	if !strings.HasPrefix(s, `"`) {
		return "", false
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			return b.String(), true
		case c != '\\':
			b.WriteByte(c)
		case i+1 >= len(s):
			return "", false
		default:
			i++
			switch e := s[i]; e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case 'v':
				b.WriteByte('\v')
			case 'f':
				b.WriteByte('\f')
			case 'x':
				if i+2 >= len(s) {
					return "", false
				}
				v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
				if err != nil {
					return "", false
				}
				b.WriteByte(byte(v))
				i += 2
			case '0', '1', '2', '3', '4', '5', '6', '7':
				j := i
				for j < len(s) && j < i+3 && s[j] >= '0' && s[j] <= '7' {
					j++
				}
				v, _ := strconv.ParseUint(s[i:j], 8, 8)
				b.WriteByte(byte(v))
				i = j - 1
			default:
				b.WriteByte(e)
			}
		}
	}
	return "", false
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	buf bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.max - l.buf.Len(); room > 0 {
		l.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string { return l.buf.String() }

func lookupEnvList(env []string, key string) (string, bool) {
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v, true
		}
	}
	return "", false
}

// traceAdditions runs the trace spec asks for and turns what the run opened
// into libraries to resolve (with their closures) and files to include:
// a program it executed comes with its own loader and libraries.
func traceAdditions(ctx context.Context, spec Spec) (*Trace, []dlopenRequest, []string, error) {
	if spec.Runtime.Trace == nil {
		return nil, nil, nil, nil
	}
	tr, err := RunTrace(ctx, spec)
	if err != nil {
		return nil, nil, nil, err
	}
	var libs []dlopenRequest
	for _, l := range tr.Libraries {
		libs = append(libs, dlopenRequest{name: l, why: "--trace: opened by the run"})
	}
	files := append([]string(nil), tr.Files...)
	for _, p := range tr.Programs {
		files = append(files, p)
		rep, err := elfdeps.InspectFile(p)
		if err != nil {
			return nil, nil, nil, err
		}
		c, err := elfdeps.Resolve(elfdeps.DirRoot("/"), rep)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("resolving the libraries of %s, which the run executed: %w", p, err)
		}
		if c.Interpreter != nil {
			files = append(files, c.Interpreter.Path)
		}
		for _, l := range c.Libraries {
			libs = append(libs, dlopenRequest{name: l.Path, why: "--trace: needed by " + p})
		}
	}
	return tr, libs, files, nil
}
