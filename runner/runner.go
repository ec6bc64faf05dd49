package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/scratchpack/scratchpack/elfdeps"
)

// Result is how a run ended.
type Result struct {
	// ExitCode is the program's exit status: 128+N if signal N killed it,
	// and 127 or 126 if it could not be started (not found, not executable).
	ExitCode int
	Runtime  Runtime     // what ran it
	Start    *StartError // why the program could not be started, if it could not
	// Problems say, when the program failed, what inspecting it inside the
	// image finds wrong (a missing loader or library, a glibc too old).
	Problems []elfdeps.Problem
	// Hints name what the program probably loads at run time that its
	// loader's closure does not show, when it failed.
	Hints []elfdeps.DlopenHint
	// MissingFiles are data files that C library functions the program
	// calls read (/etc/passwd for getpwnam) and the image lacks, when it
	// failed and its output names them.
	MissingFiles []elfdeps.RuntimeFile
	// OutputNames are the absolute paths the program's output names that
	// the image does not have ("lstat /root: no such file or directory"),
	// when it failed: the first thing to look at.
	OutputNames []string
}

// ErrInterrupted is returned when a forwarded signal came before the
// program started.
var ErrInterrupted = errors.New("interrupted before the program started")

// Run unpacks img into a temporary root and runs its program there once:
// the entrypoint and command (or WithArgs), with the image's environment,
// working directory and user, in new namespaces with no network (unless
// WithHostNetwork). It returns when the program has exited and everything
// temporary is removed. A program that fails is not an error: see
// Result.ExitCode. When ctx is done the program is killed; Run then returns
// the Result and ctx's error.
func Run(ctx context.Context, img v1.Image, opts ...Option) (res *Result, err error) {
	o, err := makeOptions(opts...)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading the image's configuration: %w", err)
	}
	rt, err := pickRuntime(o)
	if err != nil {
		return nil, err
	}
	w, err := newWorkspace(o.workDir)
	if err != nil {
		return nil, fmt.Errorf("making the temporary root: %w", err)
	}
	defer func() {
		if rerr := w.remove(); rerr != nil {
			err = errors.Join(err, fmt.Errorf("removing the temporary root: %w", rerr))
		}
	}()
	// Until the program starts, a forwarded signal stops the run.
	prepCtx, stopWatch := watchSignals(ctx, o.signals)
	defer stopWatch()
	interrupted := func() bool { return stopWatch() }
	if err := w.unpack(prepCtx, img, os.Geteuid() == 0, o.warn); err != nil {
		if interrupted() {
			return nil, ErrInterrupted
		}
		return nil, fmt.Errorf("unpacking the image: %w", err)
	}
	root := w.root()
	p, err := newProcess(cf.Config, o, root)
	if err != nil {
		return nil, err
	}
	arch := cf.Architecture
	if arch == "" {
		arch = o.hostArch
	}
	emu, err := checkEmulator(o.binfmtDir, arch, o.hostArch, func(p string) bool { _, err := root.Stat(p); return err == nil })
	if err != nil {
		return nil, err
	}
	if err := w.prepare(p); err != nil {
		return nil, fmt.Errorf("preparing the root: %w", err)
	}
	if o.hostNet {
		if o.binds, err = w.hostFiles(); err != nil {
			return nil, fmt.Errorf("preparing the root for the host's network: %w", err)
		}
	}
	if interrupted() {
		return nil, ErrInterrupted
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	tail := captureOutput(o)
	start := startBuiltin
	if rt == RuntimeRunc {
		start = startRunc
	}
	c, err := start(ctx, o, w, p)
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := c.Close(); cerr != nil {
			err = errors.Join(err, cerr)
		}
	}()
	code, werr, ctxErr := supervise(ctx, c, o)
	res = &Result{ExitCode: code, Runtime: rt}
	var se *StartError
	if errors.As(werr, &se) {
		res.Start = se
	} else if werr != nil {
		return nil, werr
	}
	if code != 0 {
		// Inspect only a failure to start or to find a file: a program may
		// exit non-zero for reasons of its own (no network, a test failed).
		out := tail.String()
		res.OutputNames = missingIn(root, namedPaths(out))
		if looksLikeStartFailure(code, res.Start, out) || len(res.OutputNames) > 0 {
			explain(res, root, p, arch, emu != nil, o.hostArch)
			res.Hints = keepHints(res.Hints, out)
			res.MissingFiles = keepFiles(res.MissingFiles, out)
		}
	}
	return res, ctxErr
}

// watchSignals returns a context that ends when ctx does or a signal comes
// on sigs, and a function that stops watching (at once, and safely more
// than once) and reports whether a signal came.
func watchSignals(ctx context.Context, sigs <-chan os.Signal) (context.Context, func() bool) {
	wctx, cancel := context.WithCancel(ctx)
	stop := make(chan struct{})
	got := make(chan bool, 1)
	go func() {
		select {
		case <-sigs:
			cancel()
			got <- true
		case <-stop:
			got <- false
		}
	}()
	var once sync.Once
	var signaled bool
	return wctx, func() bool {
		once.Do(func() {
			close(stop)
			signaled = <-got
			cancel()
		})
		return signaled
	}
}

// pickRuntime resolves RuntimeAuto, and refuses runc without root.
func pickRuntime(o *options) (Runtime, error) {
	switch {
	case o.runtime == RuntimeAuto && o.runc != "" && os.Geteuid() == 0:
		return RuntimeRunc, nil
	case o.runtime == RuntimeAuto:
		return RuntimeBuiltin, nil
	case o.runtime == RuntimeRunc && os.Geteuid() != 0:
		return "", errors.New("the runc runtime needs root here: run as root, or use the builtin runtime (a user namespace)")
	}
	return o.runtime, nil
}

// supervise waits for the container, forwarding signals: after the first,
// the program has the grace period; a second signal, the end of the grace
// period, or ctx kill it.
func supervise(ctx context.Context, c container, o *options) (code int, waitErr, ctxErr error) {
	type exit struct {
		code int
		err  error
	}
	done := make(chan exit, 1)
	go func() {
		code, err := c.Wait()
		done <- exit{code, err}
	}()
	var grace <-chan time.Time
	signaled := false
	var once sync.Once
	kill := func() { once.Do(func() { _ = c.Kill() }) }
	ctxDone := ctx.Done()
	for {
		select {
		case e := <-done:
			return e.code, e.err, ctxErr
		case sig := <-o.signals:
			if signaled {
				go kill()
				continue
			}
			signaled = true
			_ = c.Signal(sig)
			grace = time.After(o.grace)
		case <-grace:
			go kill()
		case <-ctxDone:
			ctxErr, ctxDone = ctx.Err(), nil
			go kill()
		}
	}
}
