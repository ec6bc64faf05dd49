package runner

import (
	"errors"
	"fmt"
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/scratchpack/scratchpack/elfdeps"
)

// defaultPath is the PATH a container gets when its image sets none, as
// Docker gives it.
const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// hostname is the container's host name.
const hostname = "scratchpack"

// process is what to start inside the root, and as whom.
type process struct {
	Args     []string `json:"args"`
	Env      []string `json:"env"`
	Cwd      string   `json:"cwd"`
	UID      uint32   `json:"uid"`
	GID      uint32   `json:"gid"`
	Groups   []uint32 `json:"groups,omitempty"`
	Hostname string   `json:"hostname"`
}

// ErrNoCommand is returned when neither the image nor the caller names a
// program to run.
var ErrNoCommand = errors.New("no command to run")

// newProcess works out the program, environment, directory and user from
// the image configuration, the options, and the unpacked root (for user
// and group names).
func newProcess(cfg v1.Config, o *options, root *elfdeps.Root) (*process, error) {
	entry, args := cfg.Entrypoint, cfg.Cmd
	if o.hasEntry {
		entry, args = o.entrypoint, nil
	}
	if o.hasArgs {
		args = o.args
	}
	argv := append(append([]string{}, entry...), args...)
	if len(argv) == 0 || argv[0] == "" {
		return nil, fmt.Errorf("%w: the image has no entrypoint or command; give one after --", ErrNoCommand)
	}
	env, err := imageEnv(append(append([]string{}, cfg.Env...), o.env...)) // run -e over the image's
	if err != nil {
		return nil, err
	}
	p := &process{Args: argv, Env: env, Cwd: "/", Hostname: hostname}
	if cfg.WorkingDir != "" {
		p.Cwd = path.Clean("/" + cfg.WorkingDir)
	}
	u, err := lookupUser(root, cfg.User)
	if err != nil {
		return nil, err
	}
	p.UID, p.GID, p.Groups = u.uid, u.gid, u.groups
	if !hasEnv(p.Env, "PATH") {
		p.Env = append(p.Env, defaultPath)
	}
	if !hasEnv(p.Env, "HOME") {
		p.Env = append(p.Env, "HOME="+u.home)
	}
	return p, nil
}

// ErrBadConfig is wrapped when the image's configuration cannot be run as
// it is: an environment entry that is not NAME=VALUE, a working directory
// that is not a directory. Nothing was started.
var ErrBadConfig = errors.New("the image's configuration cannot be run")

// imageEnv is the environment of the image's configuration, checked as
// runc checks it (NAME=VALUE, no NUL byte), with each name once: where a
// name is set twice the last value counts, in the place of the first, as
// docker run and runc (which sets them in order) have it.
func imageEnv(env []string) ([]string, error) {
	out := make([]string, 0, len(env))
	at := map[string]int{}
	for _, kv := range env {
		k, _, ok := strings.Cut(kv, "=")
		if !ok || k == "" || strings.ContainsRune(kv, 0) {
			return nil, fmt.Errorf("%w: its environment entry %q is not NAME=VALUE (or holds a NUL byte), which no runtime accepts: "+
				"rebuild the image without it", ErrBadConfig, kv)
		}
		if i, seen := at[k]; seen {
			out[i] = kv
			continue
		}
		at[k] = len(out)
		out = append(out, kv)
	}
	return out, nil
}

func hasEnv(env []string, key string) bool {
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k == key {
			return true
		}
	}
	return false
}

// envPath returns the PATH entries of env.
func envPath(env []string) []string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			return strings.Split(v, ":")
		}
	}
	return nil
}
