package packer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/scratchpack/scratchpack/elfdeps"
)

// TraceSpec asks pack to run the program once on this machine, under
// strace, and add what it used: what static analysis cannot see (plugins
// loaded with dlopen, data files, an interpreter's modules). It is never
// done unless asked for.
type TraceSpec struct {
	Args       []string      // the program's arguments
	ReportOnly bool          // only report what it used; add nothing
	Timeout    time.Duration // stop the program (and its children) after this; 0 means 30 s
	Strace     string        // the strace program; "" means strace from PATH
	// Home is the home directory of the user running the trace: it and the
	// dot files in it (~/.gnupg, ~/.ssh, caches) are the user's, never the
	// image's. "" leaves nothing out for it.
	Home string
	// Skip are more paths whose contents never go in: the layer cache and
	// the destinations being written.
	Skip []string
}

// Trace is what one traced run of a program used: the paths it opened,
// executed, listed, or resolved with stat, access or readlink, that exist.
type Trace struct {
	Libraries   []string `json:"libraries"`   // ELF shared objects, by the path they were used by
	Files       []string `json:"files"`       // other regular files
	Programs    []string `json:"programs"`    // programs executed (the program itself left out)
	Directories []string `json:"directories"` // directories listed or resolved: they go in empty, with the entries used
	// StatOnly are the files and directories above that the run only
	// resolved (stat, access, readlink) and never opened, executed or listed:
	// Python's landmarks and the sources beside its .pyc, plugins found by access.
	StatOnly []string          `json:"stat_only"`
	Skipped  []string          `json:"skipped"`  // used but not for an image: /proc, /dev, /tmp, the loader cache, the user's home
	LeftOut  map[string]string `json:"left_out"` // why each of Skipped was left out
	ExitCode int               `json:"exit_code"`
	TimedOut bool              `json:"timed_out"`
	Output   string            `json:"output"` // the program's stdout and stderr, cut at 64 kB
}

// traceSkipDirs hold files that belong to the running system or the run,
// never to an image.
var traceSkipDirs = []string{"/proc", "/sys", "/dev", "/run", "/tmp", "/var/tmp"}

// traceSkipFiles are made per machine (its time zone, its id), or written by
// scratchpack itself (the user database, NSS configuration), or given by
// the container runtime (resolv.conf, hostname): the machine's own never go
// in an image, which is on UTC without /etc/localtime.
var traceSkipFiles = map[string]bool{
	"/etc/ld.so.cache": true, "/etc/ld.so.preload": true,
	"/etc/localtime": true, "/etc/timezone": true, "/etc/machine-id": true, "/etc/adjtime": true, "/etc/mtab": true,
	"/etc/passwd": true, "/etc/group": true, "/etc/shadow": true, "/etc/gshadow": true,
	"/etc/nsswitch.conf": true, "/etc/hosts": true, "/etc/resolv.conf": true, "/etc/hostname": true,
}

// RunTrace runs spec.Program once on this machine under strace -f with the
// trace's arguments, the image's environment (spec.Config.Env, else a plain
// PATH) and an empty temporary working directory, and returns what it used
// that exists. It kills the program and its children after the timeout.
// The program must be of this machine's architecture, with its libraries
// on this machine (--root /).
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
	args := append(append(append([]string{}, straceArgs...), "-o", log, "--", prog), ts.Args...)
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
	tr := &Trace{Output: out.String()}
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
	tr.classify(events, prog, dir, ts)
	return tr, nil
}

// traceUse is how a run used one path, over all its calls.
type traceUse struct {
	real                 string
	opened, exec, listed bool
}

// classify sorts what the run used into libraries, files, programs and
// directories, and marks those it only resolved.
func (tr *Trace) classify(events []straceEvent, prog, workDir string, ts *TraceSpec) {
	tr.Libraries, tr.Files, tr.Programs, tr.Directories = []string{}, []string{}, []string{}, []string{}
	tr.StatOnly, tr.Skipped, tr.LeftOut = []string{}, []string{}, map[string]string{}
	progReal, _ := filepath.EvalSymlinks(prog)
	uses := map[string]*traceUse{}
	var order []string
	for _, ev := range events {
		u := uses[ev.path]
		if u == nil {
			u = &traceUse{real: ev.real}
			uses[ev.path] = u
			order = append(order, ev.path)
		}
		u.opened = u.opened || ev.kind == traceOpen
		u.exec = u.exec || ev.kind == traceExec
		u.listed = u.listed || ev.kind == traceList
	}
	for _, p := range order {
		u := uses[p]
		if p == "/" || p == prog {
			continue
		}
		if why := skipTraced(straceEvent{path: p, real: u.real}, workDir, ts); why != "" {
			tr.Skipped = append(tr.Skipped, p)
			tr.LeftOut[p] = why
			continue
		}
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			continue // gone, or a dangling link
		}
		if real == progReal {
			continue // the program, by another name
		}
		if why := skipTraced(straceEvent{path: real, real: real}, workDir, ts); why != "" {
			tr.Skipped = append(tr.Skipped, p)
			tr.LeftOut[p] = why
			continue
		}
		fi, err := os.Stat(p)
		switch {
		case err != nil:
			continue
		case fi.IsDir():
			tr.Directories = append(tr.Directories, p)
		case !fi.Mode().IsRegular():
			tr.Skipped = append(tr.Skipped, p)
			tr.LeftOut[p] = "not a regular file or directory"
			continue
		default:
			rep, err := elfdeps.InspectFile(p)
			switch {
			case u.exec:
				tr.Programs = append(tr.Programs, p)
			case err == nil && rep.Kind == elfdeps.KindSharedLibrary:
				tr.Libraries = append(tr.Libraries, p)
			default:
				tr.Files = append(tr.Files, p)
			}
		}
		if !u.opened && !u.exec && !u.listed {
			tr.StatOnly = append(tr.StatOnly, p)
		}
	}
	for _, s := range [][]string{tr.Libraries, tr.Files, tr.Programs, tr.Directories, tr.StatOnly, tr.Skipped} {
		sort.Strings(s)
	}
}

// skipTraced says why a path the run used never goes into an image, or "".
func skipTraced(ev straceEvent, workDir string, ts *TraceSpec) string {
	under := func(d string) bool {
		return d != "" && (strings.HasPrefix(ev.path+"/", d+"/") || strings.HasPrefix(ev.real+"/", d+"/"))
	}
	switch {
	case traceSkipFiles[ev.path]:
		return "per machine, or written by scratchpack"
	case under(workDir):
		return "the trace's own working directory"
	}
	for _, d := range traceSkipDirs {
		if under(d) {
			return "belongs to the running system or the run (" + d + ")"
		}
	}
	if ts != nil {
		if h := filepath.Clean(ts.Home); ts.Home != "" && h != "/" {
			if ev.path == h || ev.real == h || strings.HasPrefix(ev.path, h+"/.") || strings.HasPrefix(ev.real, h+"/.") {
				return "the home directory of the user tracing, and its dot files"
			}
		}
		for _, d := range ts.Skip {
			if under(filepath.Clean(d)) {
				return "written by scratchpack (the layer cache or a destination)"
			}
		}
	}
	return ""
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

// traceAddition is what a trace adds to an image.
type traceAddition struct {
	trace *Trace
	libs  []dlopenRequest // libraries to resolve with their closures
	files []string        // files of this machine, at the same path
	dirs  []string        // directories of this machine, made empty at the same path
}

// traceAdditions runs the trace spec asks for and turns what the run used
// into libraries to resolve (with their closures), files to include and
// directories to make: a program it executed comes with its own loader and
// libraries, a script with its interpreter's.
func traceAdditions(ctx context.Context, spec Spec) (*traceAddition, error) {
	add := &traceAddition{}
	if spec.Runtime.Trace == nil {
		return add, nil
	}
	tr, err := RunTrace(ctx, spec)
	if err != nil {
		return nil, err
	}
	add.trace = tr
	for _, l := range tr.Libraries {
		add.libs = append(add.libs, dlopenRequest{name: l, why: "--trace: used by the run"})
	}
	add.files = append(add.files, tr.Files...)
	add.dirs = append(add.dirs, tr.Directories...)
	seen := map[string]bool{}
	progs := append([]string(nil), tr.Programs...)
	for len(progs) > 0 {
		p := progs[0]
		progs = progs[1:]
		if seen[p] {
			continue
		}
		seen[p] = true
		add.files = append(add.files, p)
		rep, err := elfdeps.InspectFile(p)
		if errors.Is(err, elfdeps.ErrScript) {
			if interp := scriptInterpreter(p); interp != "" {
				progs = append(progs, interp)
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		c, err := elfdeps.Resolve(elfdeps.DirRoot("/"), rep)
		if err != nil {
			return nil, fmt.Errorf("resolving the libraries of %s, which the run executed: %w", p, err)
		}
		if c.Interpreter != nil {
			add.files = append(add.files, c.Interpreter.Path)
		}
		for _, l := range c.Libraries {
			add.libs = append(add.libs, dlopenRequest{name: l.Path, why: "--trace: needed by " + p})
		}
	}
	return add, nil
}

// scriptInterpreter returns the interpreter a #! script names, or "".
func scriptInterpreter(p string) string {
	f, err := os.Open(p)
	if err != nil {
		return ""
	}
	defer f.Close()
	line := make([]byte, 256)
	n, _ := f.Read(line)
	first, _, _ := strings.Cut(string(line[:n]), "\n")
	fields := strings.Fields(strings.TrimPrefix(first, "#!"))
	if len(fields) == 0 || !filepath.IsAbs(fields[0]) {
		return ""
	}
	return fields[0]
}

// traceLibs returns the libraries a trace adds, if there was one.
func traceLibs(t *traceAddition) []dlopenRequest { return t.libs }
