package packer

import (
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

// placeExtras adds --add files and the user database for --user nonroot.
func placeExtras(set *FileSet, spec Spec) error {
	for _, a := range spec.Add {
		if err := addTree(set, a); err != nil {
			return fmt.Errorf("--add %s:%s: %w", a.Src, a.Dest, err)
		}
	}
	if spec.Config.User == "nonroot" {
		for _, e := range []Entry{
			{Path: "/etc/passwd", Type: TypeFile, Mode: 0o644, Data: []byte(passwd), Size: int64(len(passwd)), Why: "--user nonroot"},
			{Path: "/etc/group", Type: TypeFile, Mode: 0o644, Data: []byte(group), Size: int64(len(group)), Why: "--user nonroot"},
			{Path: "/home/nonroot", Type: TypeDir, Mode: 0o755, Why: "--user nonroot"},
		} {
			if err := set.Add(e); err != nil {
				return err
			}
		}
	}
	return nil
}

// addTree adds a host file, or a directory with everything in it, at
// a.Dest. The source itself is followed if it is a link (as docker COPY
// does); links inside a directory are kept as links.
func addTree(set *FileSet, a Addition) error {
	dest, err := CleanImagePath(a.Dest)
	if err != nil {
		return err
	}
	fi, err := os.Stat(a.Src)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return addOne(set, a.Src, dest, fi)
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
		return addOne(set, p, path.Join(dest, filepath.ToSlash(rel)), fi)
	})
}

func addOne(set *FileSet, src, dest string, fi fs.FileInfo) error {
	why := "--add " + src
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
		return set.Add(Entry{Path: dest, Type: TypeFile, Mode: mode, Source: src, Size: fi.Size(), Why: why})
	}
	return fmt.Errorf("%s is a %s: only files, directories and links can be added", src, fi.Mode().Type())
}
