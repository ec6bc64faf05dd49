package transfer

import (
	"archive/tar"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
)

// ErrRefusedDestination is wrapped (by a *RefusedError) when an output
// path holds something scratchpack did not write and will not replace.
var ErrRefusedDestination = errors.New("refused destination")

// RefusedError says why an output path was left alone.
type RefusedError struct {
	Path string
	What string // what is there: "a character device", "a file that is not an image archive"
	// Forcible is true when WithForce would replace it: a regular file
	// that is not an image archive. Devices, fifos, sockets, symbolic
	// links and directories are never replaced.
	Forcible bool
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("%s is %s, which scratchpack does not replace: it was left alone; write the image to another path", e.Path, e.What)
}

// Is makes a *RefusedError match ErrRefusedDestination.
func (e *RefusedError) Is(target error) bool { return target == ErrRefusedDestination }

// WithForce lets Write replace a regular file at an output path that it does
// not recognise as an image archive. Without it only a missing path, an
// empty file or an image archive (a tar with index.json or manifest.json)
// is written over; with it, devices, fifos, sockets, symbolic links and
// directories are still refused.
func WithForce() Option {
	return func(o *options) error {
		o.force = true
		return nil
	}
}

// checkOutput fails with a *RefusedError unless what is at p (the path of
// a destination of transport t) may be written over: nothing; for a
// layout, a directory; for an archive, an empty file, an image archive, or
// with force any regular file.
func checkOutput(p string, t Transport, force bool) error {
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	refuse := func(what string, forcible bool) error {
		return &RefusedError{Path: p, What: what, Forcible: forcible}
	}
	switch m := fi.Mode(); {
	case m&fs.ModeSymlink != 0:
		target, _ := os.Readlink(p)
		return refuse(fmt.Sprintf("a symbolic link (to %s)", target), false)
	case m&fs.ModeCharDevice != 0:
		return refuse("a character device", false)
	case m&fs.ModeDevice != 0:
		return refuse("a block device", false)
	case m&fs.ModeNamedPipe != 0:
		return refuse("a fifo", false)
	case m&fs.ModeSocket != 0:
		return refuse("a socket", false)
	case m.IsDir() && t == OCI:
		return nil // an existing layout is added to (commitLayout checks it is one)
	case m.IsDir():
		return refuse("a directory", false)
	case !m.IsRegular():
		return refuse("not a regular file", false)
	case t == OCI:
		return refuse("a file, not an OCI layout directory", false)
	case fi.Size() == 0 || force || isImageArchive(p):
		return nil
	}
	return refuse("a file that is not an image archive (a tar with index.json or manifest.json)", true)
}

// maxArchiveEntries bounds how many tar headers isImageArchive reads.
const maxArchiveEntries = 1 << 16

// isImageArchive reports whether the file p is a tar holding index.json or
// manifest.json at its top: an OCI archive, a `docker save` or a FILE.tar,
// which an output may replace. Only headers are read: data is skipped.
func isImageArchive(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for i := 0; i < maxArchiveEntries; i++ {
		h, err := tr.Next()
		if err != nil {
			return false // io.EOF included: a tar without either
		}
		if n := path.Clean("/" + h.Name); h.Typeflag == tar.TypeReg && (n == "/index.json" || n == "/manifest.json") {
			return true
		}
	}
	return false
}

// CheckOutputs fails, as Write and WriteAll would, when a local destination
// of dsts holds something that is not to be replaced, so that a caller can
// refuse before building the image.
func CheckOutputs(dsts []Ref, opts ...Option) error {
	o, err := makeOptions(opts...)
	if err != nil {
		return err
	}
	for _, d := range dsts {
		if d.Transport == Registry || d.Transport == DockerDaemon || d.Path == "" {
			continue
		}
		if err := checkOutput(filepath.Clean(d.Path), d.Transport, o.force); err != nil {
			return fmt.Errorf("writing %s: %w", d, err)
		}
	}
	return nil
}
