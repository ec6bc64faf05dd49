package runner

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Runtime says what starts the container.
type Runtime string

// The runtimes.
const (
	// RuntimeAuto is runc when WithRunc names it and scratchpack runs as
	// root, else RuntimeBuiltin.
	RuntimeAuto Runtime = ""
	// RuntimeRunc writes an OCI runtime bundle and runs `runc run`.
	RuntimeRunc Runtime = "runc"
	// RuntimeBuiltin starts the program in new mount, PID, UTS, IPC and
	// network namespaces made by scratchpack itself: as root, or in a user
	// namespace when not.
	RuntimeBuiltin Runtime = "builtin"
)

// ParseRuntime reads a --runtime value: auto, runc or builtin.
func ParseRuntime(s string) (Runtime, error) {
	switch s {
	case "", "auto":
		return RuntimeAuto, nil
	case "runc":
		return RuntimeRunc, nil
	case "builtin":
		return RuntimeBuiltin, nil
	}
	return "", fmt.Errorf("runtime %q: want auto, runc or builtin", s)
}

// Option configures Run.
type Option func(*options) error

type options struct {
	args       []string // replace the image's Cmd
	hasArgs    bool
	entrypoint []string // replaces the image's Entrypoint
	hasEntry   bool
	stdin      io.Reader
	stdout     io.Writer
	stderr     io.Writer
	runtime    Runtime
	runc       string
	hostNet    bool
	env        []string    // KEY=VALUE over the image's
	binds      []bindMount // host files mounted in the root (set by Run)
	workDir    string
	signals    <-chan os.Signal
	grace      time.Duration
	warn       func(string)
	initCmd    []string // the command that becomes the builtin runtime's init
	heldInit   bool     // initCmd wraps the init and holds its message pipe (strace)
	binfmtDir  string
	hostArch   string
}

func makeOptions(opts ...Option) (*options, error) {
	o := &options{
		grace:     10 * time.Second,
		warn:      func(string) {},
		binfmtDir: "/proc/sys/fs/binfmt_misc",
		hostArch:  hostArch(),
	}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	if o.stdout == nil {
		o.stdout = io.Discard
	}
	if o.stderr == nil {
		o.stderr = io.Discard
	}
	if o.workDir == "" {
		o.workDir = os.TempDir()
	}
	if o.runtime == RuntimeRunc && o.runc == "" {
		return nil, errors.New("the runc runtime needs the path of runc (WithRunc)")
	}
	return o, nil
}

// WithArgs runs the image's entrypoint with args instead of its Cmd, as
// `docker run IMAGE ARG...` does.
func WithArgs(args ...string) Option {
	return func(o *options) error {
		o.args, o.hasArgs = append([]string{}, args...), true
		return nil
	}
}

// WithEntrypoint replaces the image's entrypoint (and drops its Cmd unless
// WithArgs gives arguments), as `docker run --entrypoint` does.
func WithEntrypoint(argv ...string) Option {
	return func(o *options) error {
		o.entrypoint, o.hasEntry = append([]string{}, argv...), true
		return nil
	}
}

// WithStdio connects the program's standard input, output and error. A nil
// stdin reads as empty (/dev/null); nil writers discard.
func WithStdio(stdin io.Reader, stdout, stderr io.Writer) Option {
	return func(o *options) error {
		o.stdin, o.stdout, o.stderr = stdin, stdout, stderr
		return nil
	}
}

// WithEnv sets environment variables (KEY=VALUE) over the image's, as
// `docker run -e` does; a later one wins.
func WithEnv(env ...string) Option {
	return func(o *options) error {
		for _, kv := range env {
			if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
				return fmt.Errorf("environment variable %q: want KEY=VALUE", kv)
			}
		}
		o.env = append(o.env, env...)
		return nil
	}
}

// WithRuntime picks what starts the container; the default is RuntimeAuto.
func WithRuntime(r Runtime) Option {
	return func(o *options) error {
		o.runtime = r
		return nil
	}
}

// WithRunc says where runc is. Without it RuntimeAuto uses the builtin
// runtime, and RuntimeRunc is an error.
func WithRunc(path string) Option {
	return func(o *options) error {
		o.runc = path
		return nil
	}
}

// WithHostNetwork shares this machine's network with the program. Without
// it the program gets its own network namespace with only loopback.
func WithHostNetwork() Option {
	return func(o *options) error {
		o.hostNet = true
		return nil
	}
}

// WithWorkDir is where the temporary root and runtime state are made
// (default os.TempDir()); all of it is removed before Run returns.
func WithWorkDir(dir string) Option {
	return func(o *options) error {
		o.workDir = dir
		return nil
	}
}

// WithSignals forwards the signals received on ch to the program. After the
// first, the program has the grace period (WithGrace) to exit before it is
// killed; a second signal kills it at once. A signal that comes before the
// program starts stops Run.
func WithSignals(ch <-chan os.Signal) Option {
	return func(o *options) error {
		o.signals = ch
		return nil
	}
}

// WithGrace sets how long a program may take to exit after a forwarded
// signal before it is killed (default 10s, as `docker stop`).
func WithGrace(d time.Duration) Option {
	return func(o *options) error {
		if d < 0 {
			return fmt.Errorf("WithGrace: negative duration %v", d)
		}
		o.grace = d
		return nil
	}
}

// WithWarnings has fn told about what Run left out or could not set up
// (layer entries it skipped, a /proc it could not mount).
func WithWarnings(fn func(string)) Option {
	return func(o *options) error {
		if fn == nil {
			return errors.New("WithWarnings: nil function")
		}
		o.warn = fn
		return nil
	}
}

// WithInit sets the command the builtin runtime starts in the new
// namespaces, which must call Init; the default is this executable with
// the single argument InitCommand.
func WithInit(argv ...string) Option {
	return func(o *options) error {
		if len(argv) == 0 {
			return errors.New("WithInit: empty command")
		}
		o.initCmd = argv
		return nil
	}
}

// withBinfmtDir is where binfmt_misc is mounted; tests point it elsewhere.
func withBinfmtDir(dir string) Option {
	return func(o *options) error {
		o.binfmtDir = dir
		return nil
	}
}

// withTracedInit makes argv, a program that runs the init as its child
// (strace -f ... -- scratchpack __init), the builtin runtime's init: it
// holds the init's message pipe open, so the init's exec message ends the
// messages instead of the pipe's end.
func withTracedInit(argv ...string) Option {
	return func(o *options) error {
		if err := WithInit(argv...)(o); err != nil {
			return err
		}
		o.heldInit = true
		return nil
	}
}
