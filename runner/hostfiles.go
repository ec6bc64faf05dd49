package runner

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// hostNetworkFiles are the host's files a program sharing the host's
// network sees over the image's, as `docker run --network host` gives
// them: its name servers and host names.
var hostNetworkFiles = []string{"/etc/resolv.conf", "/etc/hosts"}

// bindMount is a host file mounted read-only at a path in the root.
type bindMount struct {
	Source string `json:"source"` // on the host
	Dest   string `json:"dest"`   // in the root, links resolved
}

// hostFiles makes, in the root, the files the host's network files are
// mounted on (empty regular files, replacing whatever the image has
// there), and returns the mounts. Files the host lacks are left alone.
func (w *workspace) hostFiles() ([]bindMount, error) {
	r, err := os.OpenRoot(w.rootfs)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var binds []bindMount
	for _, f := range hostNetworkFiles {
		if fi, err := os.Stat(f); err != nil || !fi.Mode().IsRegular() {
			continue
		}
		real, err := w.root().ResolveExisting(f)
		if err != nil {
			return nil, fmt.Errorf("the image's %s: %w", f, err)
		}
		rel := strings.TrimPrefix(path.Clean(real), "/")
		if rel == "" {
			continue
		}
		if fi, err := r.Lstat(rel); err == nil && !fi.Mode().IsRegular() {
			if err := r.RemoveAll(rel); err != nil {
				return nil, err
			}
		}
		if err := r.MkdirAll(path.Dir(rel), 0o755); err != nil {
			return nil, fmt.Errorf("making %s in the root: %w", path.Dir(real), err)
		}
		fh, err := r.OpenFile(rel, os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return nil, fmt.Errorf("making %s in the root: %w", real, err)
		}
		fh.Close()
		binds = append(binds, bindMount{Source: f, Dest: "/" + rel})
	}
	return binds, nil
}

// runcMounts are the OCI mounts of binds.
func runcMounts(binds []bindMount) []specs.Mount {
	var out []specs.Mount
	for _, b := range binds {
		out = append(out, specs.Mount{Destination: b.Dest, Type: "bind", Source: b.Source, Options: []string{"rbind", "ro"}})
	}
	return out
}

// mountBinds mounts binds in the root (the builtin runtime's init, before
// the root becomes its own); a read-only remount that a user namespace
// refuses leaves the file writable, with a warning.
func mountBinds(root string, binds []bindMount, warn func(string)) error {
	for _, b := range binds {
		target := filepath.Join(root, filepath.FromSlash(b.Dest))
		if err := unix.Mount(b.Source, target, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("mounting %s on %s: %w", b.Source, b.Dest, err)
		}
		if err := unix.Mount("", target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV, ""); err != nil {
			warn(fmt.Sprintf("%s is the host's, but writable: remounting it read-only failed: %v", b.Dest, err))
		}
	}
	return nil
}
