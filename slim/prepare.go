package slim

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"time"

	"github.com/scratchpack/scratchpack/packer"
	"github.com/scratchpack/scratchpack/transfer"
)

// prepare unpacks one platform's image into dir and works out what packer
// makes of it: the program at its own path, its root as the sysroot whose
// files alone meet its run-time needs, the image's users and directories,
// the paths kept, and what a traced run used.
func prepare(ctx context.Context, p picked, spec Spec, dir string, o Options) (*plan, error) {
	pl := &plan{platform: p.platform, digest: p.digest, root: filepath.Join(dir, "root"), started: time.Now()}
	var err error
	if pl.config, err = p.img.ConfigFile(); err != nil {
		return nil, fmt.Errorf("reading the image's configuration: %w", err)
	}
	if err := os.MkdirAll(pl.root, 0o755); err != nil {
		return nil, err
	}
	owners := os.Geteuid() == 0
	uopts := []transfer.UnpackOption{transfer.WithSkipped(func(name, why string) {
		pl.notes = append(pl.notes, fmt.Sprintf("layer entry %q not unpacked: %s", name, why))
	})}
	if owners {
		uopts = append(uopts, transfer.WithOwnership())
	} else {
		pl.notes = append(pl.notes, "not running as root: the owners of the directories kept are not known, so root owns them")
	}
	if err := transfer.UnpackContext(ctx, p.img, pl.root, uopts...); err != nil {
		return nil, fmt.Errorf("unpacking it: %w", err)
	}
	if pl.original, err = originalSize(p.img, pl.root); err != nil {
		return nil, err
	}
	for _, k := range spec.Keep {
		if _, fi := statIn(pl.root, k); fi == nil {
			return nil, fmt.Errorf("%w: %s, asked to be kept", ErrNotInImage, k)
		}
	}
	cfg := pl.config.Config
	if pl.prog, err = findProgram(pl.root, cfg, spec.Program); err != nil {
		return nil, err
	}
	pl.notes = append(pl.notes, pl.prog.notes...)
	if pl.users, err = keptUsers(pl.root, cfg.User); err != nil {
		return nil, err
	}
	var traced *packer.Trace
	if spec.Trace != nil {
		o.progress(fmt.Sprintf("tracing a run of %s (%s)", spec.Image, p.platform))
		if traced, err = traceRun(ctx, p.img, pl.root, *spec.Trace); err != nil {
			return nil, err
		}
		if readsUsers(traced) {
			pl.users.keepAll()
		}
	}
	pl.notes = append(pl.notes, pl.users.notes...)
	adds, err := pl.users.additions(dir)
	if err != nil {
		return nil, err
	}
	dirs, notes := keptDirs(pl.root, cfg, pl.users, owners)
	pl.notes = append(pl.notes, notes...)

	entry := cfg.Entrypoint
	if entry == nil {
		entry = []string{} // the image's own, set again by configHook
	}
	platform := p.platform
	pl.spec = packer.Spec{
		Program:     hostPath(pl.root, pl.prog.real),
		Dest:        pl.prog.real,
		Root:        pl.root,
		Platform:    &platform,
		Config:      packer.Config{Entrypoint: entry, Cmd: cfg.Cmd, Env: cfg.Env},
		Add:         adds,
		Dirs:        dirs,
		Created:     spec.Created,
		WorkDir:     dir,
		Compression: spec.Compression,
		Level:       spec.Level,
		Layers:      spec.Layers,
		Format:      spec.Format,
		Runtime: packer.RuntimeSpec{
			ImageRoot: true,
			Include:   append([]string(nil), spec.Keep...),
			Programs:  pl.prog.programs(),
			Traced:    traced,
		},
	}
	return pl, nil
}

// programs are the programs besides the ELF program that the image's
// entrypoint goes through, for packer to add with their closures: the
// name it is run by when that is a link, the script, env.
func (p *program) programs() []string {
	var out []string
	if p.script != "" {
		out = append(out, p.script)
	}
	if path.Clean(p.path) != p.real {
		out = append(out, p.path)
	}
	return append(out, p.more...)
}
