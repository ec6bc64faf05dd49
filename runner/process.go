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
	p := &process{Args: argv, Env: setEnv(cfg.Env, o.env), Cwd: "/", Hostname: hostname}
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

// setEnv returns env with the variables of set put over it: a key already
// there takes the new value in place, a new key goes at the end.
func setEnv(env, set []string) []string {
	out := append([]string{}, env...)
	for _, kv := range set {
		k, _, _ := strings.Cut(kv, "=")
		replaced := false
		for i, old := range out {
			if ok, _, _ := strings.Cut(old, "="); ok == k {
				out[i], replaced = kv, true
			}
		}
		if !replaced {
			out = append(out, kv)
		}
	}
	return out
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
