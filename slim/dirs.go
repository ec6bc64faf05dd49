package slim

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"syscall"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/scratchpack/scratchpack/elfdeps"
	"github.com/scratchpack/scratchpack/packer"
)

// keptDirs are the directories the slim image keeps with their owner and
// mode, empty but for what else goes in them: the home of the image's
// user, its volumes (made when the image lacks them, as a runtime would)
// and its working directory.
// Without owners (the root was unpacked without them), root owns them.
func keptDirs(root string, cfg v1.Config, u *users, owners bool) ([]packer.Directory, []string) {
	var dirs []packer.Directory
	var notes []string
	seen := map[string]bool{}
	add := func(p, why string, create bool) {
		real, fi := statIn(root, p)
		switch {
		case fi != nil && fi.IsDir():
			if !seen[real] {
				seen[real] = true
				uid, gid := 0, 0
				if owners {
					uid, gid = owner(fi)
				}
				dirs = append(dirs, packer.Directory{Path: real, Mode: fi.Mode() & (fs.ModePerm | fs.ModeSticky), UID: uid, GID: gid, Why: why})
			}
		case fi != nil:
			notes = append(notes, fmt.Sprintf("%s: %s is not a directory in the image", why, p))
		case create:
			r, err := elfdeps.DirRoot(root).ResolveExisting(p)
			if err == nil && !seen[r] {
				seen[r] = true
				dirs = append(dirs, packer.Directory{Path: path.Clean(r), Mode: 0o755, Why: why + " (made: the image has none)"})
			}
		}
	}
	if u.home != "" && u.home != "/" {
		add(u.home, "the home of "+u.name, false)
	}
	vols := make([]string, 0, len(cfg.Volumes))
	for v := range cfg.Volumes {
		vols = append(vols, v)
	}
	sort.Strings(vols)
	for _, v := range vols {
		if path.IsAbs(v) && path.Clean(v) != "/" {
			add(path.Clean(v), "a volume", true)
		}
	}
	if wd := path.Clean("/" + cfg.WorkingDir); wd != "/" {
		add(wd, "the working directory", false)
	}
	return dirs, notes
}

// owner is the uid and gid of a file of the unpacked root.
func owner(fi fs.FileInfo) (int, int) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid), int(st.Gid)
	}
	return 0, 0
}
