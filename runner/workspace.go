package runner

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"

	"github.com/scratchpack/scratchpack/elfdeps"
	"github.com/scratchpack/scratchpack/transfer"
)

// workspace is the temporary directory of one run: the runtime bundle with
// the unpacked root, and runc's state.
type workspace struct {
	dir    string
	bundle string // dir/bundle: config.json and rootfs
	rootfs string // dir/bundle/rootfs
	state  string // dir/state: runc --root
}

func newWorkspace(parent string) (*workspace, error) {
	dir, err := os.MkdirTemp(parent, "scratchpack-run-")
	if err != nil {
		return nil, err
	}
	w := &workspace{dir: dir, bundle: filepath.Join(dir, "bundle"), state: filepath.Join(dir, "state")}
	w.rootfs = filepath.Join(w.bundle, "rootfs")
	for _, d := range []string{w.bundle, w.rootfs, w.state} {
		if err := os.Mkdir(d, 0o755); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	return w, nil
}

// unpack writes the image's file system into the root.
func (w *workspace) unpack(ctx context.Context, img v1.Image, owners bool, warn func(string)) error {
	opts := []transfer.UnpackOption{transfer.WithSkipped(func(name, why string) {
		warn(fmt.Sprintf("layer entry %q not unpacked: %s", name, why))
	})}
	if owners {
		opts = append(opts, transfer.WithOwnership())
	}
	return transfer.UnpackContext(ctx, img, w.rootfs, opts...)
}

// root is the unpacked root as elfdeps reads it: links resolved inside it.
func (w *workspace) root() *elfdeps.Root { return elfdeps.NewRoot(os.DirFS(w.rootfs), "the image") }

// prepare makes what the runtime mounts on, and the working directory:
// /proc and /dev become plain directories (whatever the image has there),
// and /tmp and the working directory are made if missing.
func (w *workspace) prepare(p *process) error {
	r, err := os.OpenRoot(w.rootfs)
	if err != nil {
		return err
	}
	defer r.Close()
	for _, d := range []string{"proc", "dev"} {
		fi, err := r.Lstat(d)
		if err == nil && fi.IsDir() {
			continue
		}
		if err == nil {
			if err := r.RemoveAll(d); err != nil {
				return err
			}
		}
		if err := r.Mkdir(d, 0o755); err != nil {
			return err
		}
	}
	for _, d := range []struct {
		path string
		mode fs.FileMode
		what string
	}{{"/tmp", 0o777 | fs.ModeSticky, "/tmp"}, {p.Cwd, 0o755, "working directory " + p.Cwd}} {
		real, err := w.root().ResolveExisting(d.path)
		if err != nil {
			return fmt.Errorf("the image's %s: %w", d.path, err)
		}
		rel := strings.TrimPrefix(path.Clean(real), "/")
		if rel == "" {
			continue
		}
		if fi, err := r.Stat(rel); err == nil && fi.IsDir() {
			continue
		} else if err == nil {
			return fmt.Errorf("%w: its %s is not a directory", ErrBadConfig, d.what)
		}
		if err := r.MkdirAll(rel, 0o755); err != nil {
			return fmt.Errorf("making the image's %s: %w", d.path, err)
		}
		if err := r.Chmod(rel, d.mode); err != nil {
			return err
		}
	}
	return nil
}

// remove deletes the workspace. Mounts left beneath it (there should be
// none: runtimes mount in their own namespaces) are detached first, so
// that removing never reaches into a mounted file system.
func (w *workspace) remove() error {
	mounts, err := mountsUnder(w.dir)
	if err != nil {
		return err
	}
	for _, m := range mounts {
		if err := unix.Unmount(m, unix.MNT_DETACH); err != nil {
			return fmt.Errorf("%s is still mounted and cannot be unmounted (%w): remove %s by hand after unmounting it", m, err, w.dir)
		}
	}
	err = os.RemoveAll(w.dir)
	if err == nil || !errors.Is(err, fs.ErrPermission) {
		return err
	}
	// The program may have left directories without write permission.
	_ = filepath.WalkDir(w.dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(p, 0o700)
		}
		return nil
	})
	return os.RemoveAll(w.dir)
}

// mountsUnder lists the mount points at or beneath dir in this mount
// namespace, deepest first.
func mountsUnder(dir string) ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMount(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out, sc.Err()
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var c byte
			if _, err := fmt.Sscanf(s[i+1:i+4], "%o", &c); err == nil {
				b.WriteByte(c)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
