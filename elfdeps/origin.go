package elfdeps

import (
	"path"
	"path/filepath"
)

// OriginDir returns the directory, in root, that the loader expands the
// program's own $ORIGIN to: that of its real file, with symbolic links
// resolved inside root, since ld.so takes it from /proc/self/exe and not
// from the name the program was started by. ok is false for a program
// outside root.
func OriginDir(root, program string) (dir string, ok bool) {
	abs, err := filepath.Abs(program)
	if err != nil {
		return "", false
	}
	rel, err := filepath.Rel(root, abs)
	if err != nil || !(filepath.IsLocal(rel) || rel == ".") {
		return "", false
	}
	p := path.Join("/", filepath.ToSlash(rel))
	if real, _, err := DirRoot(root).Resolve(p); err == nil {
		p = real
	}
	return path.Dir(p), true
}
