package layercache

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
)

// Section is a layer's blob kept as a stretch of a local file (an OCI
// layout's blob file, or part of an image archive) whose bytes were
// checked against the layer's digest while the file had the stamp Stamp.
type Section struct {
	Path   string
	Offset int64
	Size   int64
	Stamp  Stamp
}

// SectionLayer is a layer whose blob may be a Section: PlaceBlobs copies
// such a blob with the kernel instead of reading it through the layer.
// BlobSection's ok is false when the layer has no such section, or its
// bytes were not checked.
type SectionLayer interface {
	BlobSection() (s Section, ok bool)
}

// errStale means a section's file is no longer as it was when it was
// checked: its blob is then read through its layer, and checked again.
var errStale = errors.New("changed since it was checked")

// placeSection copies the section s to the file to, unless its file
// changed since its bytes were checked (errStale): the stamp is compared
// before and after the copy, which is cloned (whole files, where the file
// system can) or copied by the kernel (copy_file_range).
func placeSection(s Section, to string) error {
	if fi, err := os.Stat(to); err == nil && fi.Size() == s.Size {
		return nil // the layout's writer would skip it too
	}
	src, err := os.Open(s.Path)
	if err != nil {
		return err
	}
	defer src.Close()
	if st, err := StampOf(src); err != nil || st != s.Stamp {
		return errStale
	}
	tmp, err := CreateTemp(to)
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	n, err := copySection(context.Background(), tmp, src, s.Offset, s.Size, s.Offset == 0 && s.Size == s.Stamp.Size, runtime.GOMAXPROCS(0))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if st, serr := StampOf(src); serr != nil || st != s.Stamp {
		return errStale // cut short, say: read through the layer, and checked
	}
	if err != nil {
		return fmt.Errorf("copying %s: %w", s.Path, err)
	}
	if n != s.Size {
		return errStale
	}
	return os.Rename(tmp.Name(), to)
}
