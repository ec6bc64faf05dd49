package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"time"
)

// neverRun are programs that may act whatever their arguments: they are
// not run here, even with --version.
var neverRun = map[string]bool{
	"reboot": true, "halt": true, "poweroff": true, "shutdown": true, "init": true, "telinit": true, "runlevel": true,
	"killall5": true, "sulogin": true, "agetty": true, "getty": true, "login": true, "cron": true, "crond": true,
	"atd": true, "sshd": true, "rsyslogd": true, "ifup": true, "ifdown": true, "ifquery": true, "kexec": true,
	"chvt": true, "openvt": true, "deallocvt": true, "skill": true, "snice": true,
}

// programs lists the ELF programs in dirs (regular files; links to other
// programs are counted and left out), sorted.
func programs(dirs []string, re *regexp.Regexp) ([]string, int, error) {
	var out []string
	links := 0
	for _, d := range dirs {
		entries, err := os.ReadDir(d)
		if err != nil {
			return nil, 0, err
		}
		for _, e := range entries {
			p := filepath.Join(d, e.Name())
			if re != nil && !re.MatchString(p) {
				continue
			}
			fi, err := os.Lstat(p)
			if err != nil {
				continue
			}
			if fi.Mode()&os.ModeSymlink != 0 {
				links++
				continue
			}
			if !fi.Mode().IsRegular() || fi.Mode()&0o111 == 0 || neverRun[e.Name()] || strings.HasPrefix(e.Name(), "systemd") {
				continue
			}
			if isELF(p) {
				out = append(out, p)
			}
		}
	}
	sort.Strings(out)
	return out, links, nil
}

func isELF(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	magic := make([]byte, 4)
	_, err = io.ReadFull(f, magic)
	return err == nil && string(magic) == "\x7fELF"
}

// output is what one run printed and returned.
type output struct {
	stdout, stderr string
	code           int
	timedOut       bool
}

func (a output) same(b output) bool {
	return a.stdout == b.stdout && a.stderr == b.stderr && a.code == b.code && !a.timedOut && !b.timedOut
}

// hostEnv is the environment programs run with here: what a container
// running as root gets.
var hostEnv = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root"}

// execute runs argv in dir with env, no input, in a process group of its
// own that is killed after timeout.
func execute(ctx context.Context, argv []string, dir string, env []string, timeout time.Duration) output {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir, cmd.Env = dir, env
	var stdout, stderr limited
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	err := cmd.Run()
	o := output{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		o.timedOut, o.code = true, -1
	case errors.As(err, &ee):
		o.code = ee.ExitCode()
	case err != nil:
		o.code, o.stderr = -1, err.Error()
	}
	return o
}

// limited keeps the first MiB written to it.
type limited struct{ bytes.Buffer }

func (l *limited) Write(p []byte) (int, error) {
	if room := 1<<20 - l.Len(); room > 0 {
		l.Buffer.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

// measure probes one program here, then packs and runs it with defaults
// and with --trace; nil if neither --version nor --help exits 0 here.
func measure(ctx context.Context, o options, work, prog string) *result {
	cwd, err := os.MkdirTemp(work, "cwd-")
	if err != nil {
		return nil
	}
	defer os.RemoveAll(cwd)
	var host output
	flagUsed := ""
	for _, f := range []string{"--version", "--help"} {
		if host = execute(ctx, []string{prog, f}, cwd, hostEnv, o.timeout); host.code == 0 && !host.timedOut {
			flagUsed = f
			break
		}
	}
	if flagUsed == "" {
		return nil
	}
	again := execute(ctx, []string{prog, flagUsed}, cwd, hostEnv, o.timeout)
	r := &result{Path: prog, Flag: flagUsed}
	r.Defaults = packAndRun(ctx, o, work, prog, flagUsed, host, again, false)
	if !o.noTrace {
		r.Trace = packAndRun(ctx, o, work, prog, flagUsed, host, again, true)
		// What a run of it uses, and only a run shows: --trace fixes it.
		if d := r.Defaults; !d.Identical && r.Trace.Identical && (d.Cause == "missing" || d.Cause == "other" || d.Cause == "start") {
			d.Cause = "needs-trace"
		}
	}
	return r
}

// packAndRun packs prog at its own path with -- flag as the command, runs
// the image with runc and compares it with the host's run.
func packAndRun(ctx context.Context, o options, work, prog, flagUsed string, host, again output, trace bool) *outcome {
	start := time.Now()
	dir, err := os.MkdirTemp(work, "img-")
	if err != nil {
		return &outcome{Cause: "corpus", Detail: err.Error()}
	}
	defer os.RemoveAll(dir)
	args := []string{o.bin, "pack", "--no-cache", "--compression", "none", "--dest", prog, "-o", "oci:" + filepath.Join(dir, "layout") + ":t"}
	if trace {
		args = append(args, "--trace", "--trace-timeout", o.timeout.String())
	}
	args = append(args, prog, "--", flagUsed)
	pack := execute(ctx, args, dir, os.Environ(), 5*time.Minute)
	oc := &outcome{}
	if pack.code != 0 {
		oc.Cause, oc.Detail = "pack", firstLine(lastLines(pack.stderr, 3))
		oc.Seconds = time.Since(start).Seconds()
		return oc
	}
	img := execute(ctx, []string{o.bin, "run", "--runtime", "runc", "oci:" + filepath.Join(dir, "layout") + ":t"}, dir, os.Environ(), o.timeout+30*time.Second)
	img.stderr = ownLinesOut(img.stderr)
	oc.Seconds = time.Since(start).Seconds()
	if img.same(host) {
		oc.Identical = true
		return oc
	}
	oc.Cause, oc.Detail = cause(host, again, img)
	return oc
}

// ownLinesOut drops what scratchpack run itself adds to the program's
// stderr: its explanation of a failure, from its first "scratchpack:" line.
func ownLinesOut(stderr string) string {
	if i := strings.Index(stderr, "scratchpack: "); i >= 0 && (i == 0 || stderr[i-1] == '\n') {
		return stderr[:i]
	}
	return stderr
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " / ")
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
