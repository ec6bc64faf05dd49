package runner

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
	"github.com/scratchpack/scratchpack/packer"
)

// TraceSpec is one run of a program on this machine, under strace, to learn
// what it uses that static analysis cannot see (plugins loaded with dlopen,
// data files, an interpreter's modules). Nothing runs unless asked for.
type TraceSpec struct {
	Program string        // the program, a host path: of this machine's architecture, its libraries on this machine
	Args    []string      // the program's arguments
	Env     []string      // its environment (the image's); nil means a plain PATH
	WorkDir string        // where the trace's temporary files go; "" means os.TempDir()
	Timeout time.Duration // stop the program (and its children) after this; 0 means 30 s
	Strace  string        // the strace program; "" means strace from PATH
	// Home is the home directory of the user running the trace: it and the
	// dot files in it (~/.gnupg, ~/.ssh, caches) are the user's, never the
	// image's. "" leaves nothing out for it.
	Home string
	// Skip are more paths whose contents never go in: the layer cache and
	// the destinations being written.
	Skip []string
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

// Trace runs ts.Program once under strace -f with ts.Args, ts.Env (else a
// plain PATH) and an empty temporary working directory, and returns what it
// used that exists, sorted into what may go into an image and what was left
// out, and why. It kills the program and its children after the timeout.
func Trace(ctx context.Context, ts TraceSpec) (*packer.Trace, error) {
	rep, err := elfdeps.InspectFile(ts.Program)
	if err != nil {
		return nil, err
	}
	if rep.Arch != runtime.GOARCH {
		return nil, fmt.Errorf("cannot trace %s: it is built for %s and this machine is %s", ts.Program, rep.Arch, runtime.GOARCH)
	}
	strace := ts.Strace
	if strace == "" {
		if strace, err = exec.LookPath("strace"); err != nil {
			return nil, errors.New("tracing a run needs strace: install the Debian package strace")
		}
	}
	prog, err := filepath.Abs(ts.Program)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(ts.WorkDir, "trace-")
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
	cmd.Env = ts.Env
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
	tr := &packer.Trace{Output: out.String()}
	var ee *exec.ExitError
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		tr.TimedOut = true
	case errors.As(runErr, &ee):
		tr.ExitCode = ee.ExitCode()
	case runErr != nil:
		return nil, fmt.Errorf("running %s under strace: %w", ts.Program, runErr)
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
	classify(tr, events, prog, dir, &ts)
	return tr, nil
}

// traceUse is how a run used one path, over all its calls.
type traceUse struct {
	real                 string
	opened, exec, listed bool
}

// classify sorts what the run used into libraries, files, programs and
// directories, and marks those it only resolved.
func classify(tr *packer.Trace, events []straceEvent, prog, workDir string, ts *TraceSpec) {
	tr.Libraries, tr.Files, tr.Programs, tr.Directories = []string{}, []string{}, []string{}, []string{}
	tr.StatOnly, tr.Skipped, tr.LeftOut = []string{}, []string{}, map[string]string{}
	progReal, _ := filepath.EvalSymlinks(prog)
	uses := map[string]*traceUse{}
	var order []string
	for _, ev := range events {
		if ev.kind == traceMkdir {
			continue // a directory the run made on this machine
		}
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
		addUsed(tr, p, p, u.exec, !u.opened && !u.exec && !u.listed)
	}
	for _, s := range [][]string{tr.Libraries, tr.Files, tr.Programs, tr.Directories, tr.StatOnly, tr.Skipped} {
		sort.Strings(s)
	}
}

// addUsed files the path p that the run used, whose file is file here, by
// what it is: a directory, a program it executed, a shared library or
// another file; statOnly also lists it among what only a stat revealed.
func addUsed(tr *packer.Trace, p, file string, exec, statOnly bool) {
	fi, err := os.Stat(file)
	switch {
	case err != nil:
		return
	case fi.IsDir():
		tr.Directories = append(tr.Directories, p)
	case !fi.Mode().IsRegular():
		tr.Skipped = append(tr.Skipped, p)
		tr.LeftOut[p] = "not a regular file or directory"
		return
	default:
		rep, err := elfdeps.InspectFile(file)
		switch {
		case exec:
			tr.Programs = append(tr.Programs, p)
		case err == nil && rep.Kind == elfdeps.KindSharedLibrary:
			tr.Libraries = append(tr.Libraries, p)
		default:
			tr.Files = append(tr.Files, p)
		}
	}
	if statOnly {
		tr.StatOnly = append(tr.StatOnly, p)
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
