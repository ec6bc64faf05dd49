package packer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
)

// The nonroot user, as distroless and ko use it.
const (
	nonrootUID = 65532
	passwd     = "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
	group      = "root:x:0:\nnonroot:x:65532:\n"
)

// placeExtras adds --add files, the directories of Spec.Dirs and the user
// database for --user nonroot.
// guard refuses destinations that must not be replaced (the interpreter's).
func placeExtras(set *FileSet, spec Spec, guard func(dest, why string) error) error {
	for _, a := range spec.Add {
		if err := addTree(set, a, guard, spec.KeepSUID); err != nil {
			return fmt.Errorf("adding %s as %s: %w", a.Src, a.Dest, err)
		}
	}
	for _, d := range spec.Dirs {
		if err := set.Add(Entry{Path: d.Path, Type: TypeDir, Mode: d.Mode & (fs.ModePerm | fs.ModeSticky), UID: d.UID, GID: d.GID, Why: d.Why}); err != nil {
			return fmt.Errorf("directory %s (%s): %w", d.Path, d.Why, err)
		}
	}
	if spec.Config.User == "nonroot" {
		for _, e := range []Entry{
			{Path: "/etc/passwd", Type: TypeFile, Mode: 0o644, Data: []byte(passwd), Size: int64(len(passwd)), Why: "user nonroot"},
			{Path: "/etc/group", Type: TypeFile, Mode: 0o644, Data: []byte(group), Size: int64(len(group)), Why: "user nonroot"},
		} {
			if err := set.Add(e); err != nil {
				return err
			}
		}
	}
	return nil
}

// homes are the home directories of the users in passwd, as distroless has
// them: owned by their users, mode 0700.
var homes = []Entry{
	{Path: "/root", Type: TypeDir, Mode: 0o700},
	{Path: "/home/nonroot", Type: TypeDir, Mode: 0o700, UID: nonrootUID, GID: nonrootUID},
}

// ErrRefusedAdd means an --add source is one scratchpack will not copy: a
// symbolic link, a device, a fifo or a socket. The error names the file.
var ErrRefusedAdd = errors.New("refused source of an added file")

// addTree adds a host file, or a directory with everything in it, at
// a.Dest. The source itself must not be a symbolic link: a link given on
// the command line is refused rather than followed, so a link planted in a
// build directory (say config.yaml -> /etc/shadow) cannot pull a host file
// into the image. Links inside an added directory are copied as links and
// never followed, wherever they point: the image gets the link, not the file
// behind it.
func addTree(set *FileSet, a Addition, guard func(dest, why string) error, keepSUID bool) error {
	dest, err := CleanImagePath(a.Dest)
	if err != nil {
		return err
	}
	fi, err := os.Lstat(a.Src)
	if err != nil {
		return err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		target, _ := os.Readlink(a.Src)
		return fmt.Errorf("%w: %s is a symbolic link (to %s), and added files are never read through links: name the file itself, $(readlink -f %s)",
			ErrRefusedAdd, a.Src, target, a.Src)
	}
	if !fi.IsDir() {
		return addOne(set, a.Src, dest, fi, guard, keepSUID)
	}
	return filepath.WalkDir(a.Src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(a.Src, p)
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		return addOne(set, p, path.Join(dest, filepath.ToSlash(rel)), fi, guard, keepSUID)
	})
}

func addOne(set *FileSet, src, dest string, fi fs.FileInfo, guard func(dest, why string) error, keepSUID bool) error {
	why := "added from " + src
	if !fi.IsDir() {
		if err := guard(dest, why); err != nil {
			return err
		}
	}
	switch {
	case fi.IsDir():
		return set.Add(Entry{Path: dest, Type: TypeDir, Mode: 0o755, Why: why})
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		return set.Add(Entry{Path: dest, Type: TypeSymlink, Target: target, Why: why})
	case fi.Mode().IsRegular():
		mode := fs.FileMode(0o644)
		if fi.Mode()&0o111 != 0 {
			mode = 0o755
		}
		return set.Add(Entry{Path: dest, Type: TypeFile, Mode: mode | suidBits(fi, keepSUID), Source: src, Size: fi.Size(), Why: why})
	}
	return fmt.Errorf("%w: %s is a %s: only files, directories and links can be added", ErrRefusedAdd, src, fi.Mode().Type())
}
