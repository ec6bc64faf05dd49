package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/scratchpack/scratchpack/elfdeps"
	"github.com/scratchpack/scratchpack/packer"
)

// ImageTraceSpec is one run of an image in the builtin runtime's sandbox,
// under strace, to learn what of the image its program uses that static
// analysis cannot see.
type ImageTraceSpec struct {
	// Root is the image unpacked as it is, untouched by the run: what the
	// run used is looked up there, so files the run made are not in it.
	Root    string
	Args    []string      // replace the image's command; nil keeps it
	Timeout time.Duration // stop the run after this; 0 means 30 s
	// Probe is a shell command run on this machine, again and again until
	// it succeeds, while the program runs on this machine's network (a
	// request that exercises a server); once it has, the run is stopped.
	// "" lets the program run until it exits or the timeout.
	Probe  string
	Strace string   // the strace program; "" means strace from PATH
	Run    []Option // how to run it: the work directory, warnings
}

// ErrProbe is wrapped when a traced run's probe never succeeded: the run
// did not do what it was meant to show.
var ErrProbe = errors.New("the probe never succeeded")

// imageSkipDirs hold what the runtime gives every container: the image's
// own files there are never used.
var imageSkipDirs = []string{"/proc", "/sys", "/dev"}

// TraceImage runs img's program once (as Run does, with the builtin
// runtime on this machine's network) under strace -f, and returns the
// paths of ts.Root it used: paths in the image, sorted as Trace sorts
// them. The calls of the container's init before it executes the program
// are left out. It stops the run at the timeout, or once the probe
// succeeds, by SIGTERM to strace (which ends the container).
func TraceImage(ctx context.Context, img v1.Image, ts ImageTraceSpec) (*packer.Trace, error) {
	strace := ts.Strace
	if strace == "" {
		var err error
		if strace, err = exec.LookPath("strace"); err != nil {
			return nil, errors.New("tracing a run needs strace: install the Debian package strace")
		}
	}
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding scratchpack's own executable for the container's init: %w", err)
	}
	dir, err := os.MkdirTemp("", "trace-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	log := filepath.Join(dir, "strace.log")
	timeout := ts.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	runCtx, cancel := context.WithTimeout(ctx, timeout+10*time.Second)
	defer cancel()
	stop := make(chan os.Signal, 1)
	out := &limitedBuffer{max: 64 << 10}
	initCmd := append(append(append([]string{strace}, straceArgs...), "-o", log, "--"), self, InitCommand)
	opts := append([]Option{WithRuntime(RuntimeBuiltin), withTracedInit(initCmd...), WithHostNetwork(), WithStdio(nil, out, out),
		WithSignals(stop), WithGrace(5 * time.Second)}, ts.Run...)
	if ts.Args != nil {
		opts = append(opts, WithArgs(ts.Args...))
	}

	probed := make(chan error, 1)
	timedOut := false
	go func() {
		err := probe(runCtx, ts.Probe, timeout)
		if errors.Is(err, context.DeadlineExceeded) {
			timedOut = ts.Probe == ""
		}
		probed <- err
		stop <- syscall.SIGTERM
	}()
	res, runErr := Run(runCtx, img, opts...)
	cancel()
	probeErr := <-probed
	if runErr != nil && res == nil {
		return nil, runErr
	}
	tr := &packer.Trace{Output: out.String(), TimedOut: timedOut}
	if res != nil {
		tr.ExitCode = res.ExitCode
		if res.Start != nil {
			return nil, fmt.Errorf("the traced run could not start the program: %s", res.Start.Msg)
		}
	}
	if ts.Probe != "" && probeErr != nil {
		return nil, fmt.Errorf("%w (%q): %v; the program's output:\n%s", ErrProbe, ts.Probe, probeErr, tr.Output)
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
	classifyImage(tr, programEvents(events), ts.Root)
	return tr, nil
}

// probe runs the shell command p every half second until it succeeds, or
// for d when p is "": the context's end stops it either way.
func probe(ctx context.Context, p string, d time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	if p == "" {
		<-ctx.Done()
		return ctx.Err()
	}
	var last error
	for {
		pctx, pcancel := context.WithTimeout(ctx, 10*time.Second)
		out, err := exec.CommandContext(pctx, "/bin/sh", "-c", p).CombinedOutput()
		pcancel()
		if err == nil {
			time.Sleep(500 * time.Millisecond) // let the program finish what the request started
			return nil
		}
		last = fmt.Errorf("%v: %s", err, strings.TrimSpace(string(out)))
		select {
		case <-ctx.Done():
			return last
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// programEvents are the events from the container's init executing the
// program on: strace's first execve is its own of the init, which then
// sets the root up (with paths of this machine) and executes the program,
// from whichever of its threads (so by another pid, maybe), starting no
// other program first.
func programEvents(events []straceEvent) []straceEvent {
	execs := 0
	for i, ev := range events {
		if ev.kind == traceExec {
			if execs++; execs == 2 {
				return events[i:]
			}
		}
	}
	return nil
}

// classifyImage sorts what the run used of root, paths of the image, as
// classify does for a run on this machine, looking each up in root.
func classifyImage(tr *packer.Trace, events []straceEvent, root string) {
	tr.Libraries, tr.Files, tr.Programs, tr.Directories = []string{}, []string{}, []string{}, []string{}
	tr.StatOnly, tr.Skipped, tr.LeftOut = []string{}, []string{}, map[string]string{}
	r := elfdeps.DirRoot(root)
	uses := map[string]*imageUse{}
	var order []string
	for i, ev := range events {
		if i == 0 {
			continue // the program itself
		}
		u := uses[ev.path]
		if u == nil {
			u = &imageUse{}
			uses[ev.path] = u
			order = append(order, ev.path)
		}
		u.opened = u.opened || ev.kind == traceOpen
		u.exec = u.exec || ev.kind == traceExec
		u.listed = u.listed || ev.kind == traceList
		u.made = u.made || ev.kind == traceMkdir || ev.kind == traceOpen
	}
	prog := ""
	if len(events) > 0 {
		prog, _, _ = r.Resolve(events[0].path)
	}
	skip := func(p, why string) {
		tr.Skipped = append(tr.Skipped, p)
		tr.LeftOut[p] = why
	}
	for _, p := range order {
		u := uses[p]
		if p == "/" || !path.IsAbs(p) {
			continue
		}
		if why := skipImagePath(p); why != "" {
			skip(p, why)
			continue
		}
		real, _, err := r.Resolve(p)
		if err != nil {
			// Made by the run (a pid file, a log, a directory): the
			// directory it was made in must be there.
			if u.made {
				madeIn(tr, r, root, path.Dir(p))
			}
			continue
		}
		if real == prog {
			continue // the program by another name
		}
		if why := skipImagePath(real); why != "" {
			skip(p, why)
			continue
		}
		addUsed(tr, p, filepath.Join(root, filepath.FromSlash(real)), u.exec, !u.opened && !u.exec && !u.listed)
	}
	tr.Directories = dedupe(tr.Directories)
	for _, s := range [][]string{tr.Libraries, tr.Files, tr.Programs, tr.Directories, tr.StatOnly, tr.Skipped} {
		sort.Strings(s)
	}
}

// imageUse is how a run used one path of the image, over all its calls.
type imageUse struct {
	opened, exec, listed bool
	made                 bool // opened (maybe to create it) or made with mkdir
}

// madeIn adds dir, where the run made a file or directory, to the
// directories of the trace when the image has it, and the nearest one it
// has above it otherwise.
func madeIn(tr *packer.Trace, r *elfdeps.Root, root, dir string) {
	for ; dir != "/" && dir != "."; dir = path.Dir(dir) {
		if skipImagePath(dir) != "" {
			return
		}
		real, _, err := r.Resolve(dir)
		if err != nil {
			continue
		}
		if fi, err := os.Stat(filepath.Join(root, filepath.FromSlash(real))); err == nil && fi.IsDir() {
			tr.Directories = append(tr.Directories, dir)
		}
		return
	}
}

// dedupe removes repeats from list, keeping the first of each.
func dedupe(list []string) []string {
	seen := map[string]bool{}
	out := list[:0]
	for _, s := range list {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// skipImagePath says why a path of the image a traced run used never goes
// into the slim image, or "": what the runtime mounts, and the files
// written per machine or by the runtime and scratchpack.
func skipImagePath(p string) string {
	if traceSkipFiles[p] {
		return "per machine, given by the runtime, or written by scratchpack"
	}
	for _, d := range imageSkipDirs {
		if p == d || strings.HasPrefix(p, d+"/") {
			return "given to every container by the runtime (" + d + ")"
		}
	}
	return ""
}
