package slim

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/scratchpack/scratchpack/elfdeps"
)

// defaultPath is the PATH a container gets when its image sets none.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// ErrNoProgram is wrapped when the image names no program to keep, or one
// it does not have.
var ErrNoProgram = errors.New("no program to keep")

// ErrNotInImage is wrapped when a path asked to be kept is not in the image.
var ErrNotInImage = errors.New("not in the image")

// program is what the image runs, found in its root.
type program struct {
	named string // as the image (or the caller) names it
	path  string // in the image, found through PATH: maybe a link
	real  string // the ELF program, links resolved: what packer packs
	// script is the entrypoint when it is a #! script, run by the program.
	script string
	// more are the programs the image's entrypoint runs that are not the
	// ELF program (the env of "#!/usr/bin/env python3").
	more  []string
	notes []string
}

// findProgram finds the program the image runs (or the one named) in root,
// as the runtime would: a name without a slash through the image's PATH, a
// relative one from its working directory. A #! script is kept with its
// interpreter, which becomes the program.
func findProgram(root string, cfg v1.Config, named string) (*program, error) {
	argv := append(append([]string{}, cfg.Entrypoint...), cfg.Cmd...)
	if named == "" {
		if len(argv) == 0 || argv[0] == "" {
			return nil, fmt.Errorf("%w: the image has no entrypoint or command: name the program to keep", ErrNoProgram)
		}
		named = argv[0]
	}
	r := elfdeps.DirRoot(root)
	p := &program{named: named}
	var err error
	if p.path, err = lookPath(r, named, cfg); err != nil {
		return nil, err
	}
	real, err := executable(r, root, p.path)
	if err != nil {
		return nil, err
	}
	rep, err := elfdeps.InspectFile(hostPath(root, real))
	switch {
	case errors.Is(err, elfdeps.ErrScript):
		return p, p.fromScript(r, root, real, cfg)
	case err != nil:
		return nil, fmt.Errorf("%w: %s in the image: %w", ErrNoProgram, p.path, err)
	case rep.Kind == elfdeps.KindSharedLibrary && rep.Interpreter == "":
		return nil, fmt.Errorf("%w: %s in the image is a shared library, not a program", ErrNoProgram, p.path)
	}
	p.real = real
	if len(argv) > 2 && argv[0] == named && isShell(real) && argv[1] == "-c" {
		p.notes = append(p.notes, fmt.Sprintf("the image runs a shell command (%s -c %q): what it runs is found only by tracing a run", named, argv[2]))
	}
	return p, nil
}

// fromScript makes the interpreter of the #! script at real the program.
func (p *program) fromScript(r *elfdeps.Root, root, real string, cfg v1.Config) error {
	p.script = p.path
	interp, arg, err := shebang(hostPath(root, real))
	if err != nil {
		return fmt.Errorf("%w: %s in the image: %w", ErrNoProgram, p.path, err)
	}
	line := strings.TrimSpace(interp + " " + arg)
	if path.Base(interp) == "env" && arg != "" && !strings.HasPrefix(arg, "-") {
		// #!/usr/bin/env NAME: env finds NAME through PATH when it runs.
		p.more = append(p.more, interp)
		interp = arg
	}
	found, err := lookPath(r, interp, cfg)
	if err != nil {
		return fmt.Errorf("the interpreter of the script %s: %w", p.path, err)
	}
	if p.real, err = executable(r, root, found); err != nil {
		return fmt.Errorf("the interpreter of the script %s: %w", p.path, err)
	}
	if _, err := elfdeps.InspectFile(hostPath(root, p.real)); err != nil {
		return fmt.Errorf("%w: the interpreter %s of the script %s: %w", ErrNoProgram, found, p.path, err)
	}
	p.path = found
	p.notes = append(p.notes, fmt.Sprintf("%s is a script (#!%s): it is kept with its interpreter, and what it runs is found only by tracing a run", p.script, line))
	return nil
}

// lookPath finds name as execvp would in the image: a path with a slash as
// it is (relative ones from the working directory), else the first
// executable regular file of that name in the image's PATH.
func lookPath(r *elfdeps.Root, name string, cfg v1.Config) (string, error) {
	if strings.Contains(name, "/") {
		if !path.IsAbs(name) {
			name = path.Join("/", cfg.WorkingDir, name)
		}
		return path.Clean(name), nil
	}
	dirs := defaultPath
	for _, kv := range cfg.Env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			dirs = v
		}
	}
	for _, d := range strings.Split(dirs, ":") {
		if !path.IsAbs(d) {
			continue // a relative PATH entry depends on the working directory of each run
		}
		p := path.Join(d, name)
		if fi, err := r.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: %s is not in the image's PATH (%s)", ErrNoProgram, name, dirs)
}

// executable resolves p in the root and checks it is an executable file.
func executable(r *elfdeps.Root, root, p string) (string, error) {
	real, _, err := r.Resolve(p)
	if err != nil {
		return "", fmt.Errorf("%w: the image has no %s: %w", ErrNoProgram, p, err)
	}
	fi, err := os.Stat(hostPath(root, real))
	if err != nil {
		return "", fmt.Errorf("%w: %s in the image: %w", ErrNoProgram, p, err)
	}
	if !fi.Mode().IsRegular() || fi.Mode()&0o111 == 0 {
		return "", fmt.Errorf("%w: %s in the image is not an executable file (%s)", ErrNoProgram, p, fi.Mode())
	}
	return real, nil
}

// shebang reads the interpreter and its one argument from a #! line.
func shebang(file string) (interp, arg string, err error) {
	f, err := os.Open(file)
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	buf := make([]byte, 256)
	n, err := f.Read(buf)
	if err != nil {
		return "", "", err
	}
	first, _, _ := strings.Cut(string(buf[:n]), "\n")
	line, ok := strings.CutPrefix(first, "#!")
	if !ok {
		return "", "", errors.New("not a #! script")
	}
	fields := strings.Fields(line)
	if len(fields) == 0 || !path.IsAbs(fields[0]) {
		return "", "", fmt.Errorf("its #! line %q names no interpreter by an absolute path", first)
	}
	if len(fields) > 1 {
		arg = fields[1]
	}
	return fields[0], arg, nil
}

// isShell reports whether an image's program is a POSIX shell.
func isShell(p string) bool {
	switch path.Base(p) {
	case "sh", "dash", "bash", "ash", "busybox", "zsh", "ksh", "mksh":
		return true
	}
	return false
}

// hostPath turns a path in the root into a host path.
func hostPath(root, p string) string { return filepath.Join(root, filepath.FromSlash(p)) }

// statIn describes p of the root, links resolved inside it; nil if absent.
func statIn(root, p string) (string, fs.FileInfo) {
	real, _, err := elfdeps.DirRoot(root).Resolve(p)
	if err != nil {
		return "", nil
	}
	fi, err := os.Lstat(hostPath(root, real))
	if err != nil {
		return "", nil
	}
	return real, fi
}
