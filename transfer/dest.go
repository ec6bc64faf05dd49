package transfer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// destForms are the destinations ParseDest accepts, for its errors.
const destForms = "destinations: oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE[:NAME:TAG], " +
	"FILE.tar, docker://REGISTRY/REPO[:TAG] (a push), docker-daemon:NAME[:TAG]"

// ParseDest parses where an image is to be written: ParseRef's forms but
// scratch, and a registry only when the push is asked for with docker://.
// A bare NAME[:TAG], which ParseRef reads as a registry image, is refused:
// as a destination it is far more often a mistyped file or directory
// (out.tgz, some/dir/) than a push to Docker Hub.
func ParseDest(s string) (Ref, error) {
	r, err := ParseRef(s)
	if err != nil {
		return Ref{}, err
	}
	switch {
	case r.Transport == Scratch:
		return Ref{}, fmt.Errorf("%w %q: scratch is a base, not a destination; %s", ErrBadRef, s, destForms)
	case r.Transport == Registry && !strings.HasPrefix(s, "docker://"):
		return Ref{}, fmt.Errorf("%w %q: a destination needs a transport (a push is docker://REGISTRY/REPO[:TAG], "+
			"a file FILE.tar or oci-archive:FILE, a directory oci:DIR); %s", ErrBadRef, s, destForms)
	case r.Digest != "":
		return Ref{}, fmt.Errorf("%w %q: a destination cannot name a digest: the image's digest is what writing it gives; "+
			"use a TAG", ErrBadRef, s)
	}
	return r, nil
}

// CheckDestDir fails, before any work is done, where a file or layout
// destination cannot be written: its directory does not exist, or a file
// destination names a directory. The directory of an oci: layout must
// exist; the layout's own directory is made when missing.
func CheckDestDir(r Ref) error {
	switch r.Transport {
	case OCI, OCIArchive, DockerArchive, Tarball:
	default:
		return nil
	}
	p := filepath.Clean(r.Path)
	dir := filepath.Dir(p)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w %s: the directory %s does not exist: create it first (mkdir -p %s)", ErrBadRef, r, dir, dir)
	case err != nil:
		return fmt.Errorf("%w %s: %w", ErrBadRef, r, err)
	case !fi.IsDir():
		return fmt.Errorf("%w %s: %s is not a directory", ErrBadRef, r, dir)
	}
	if r.Transport == OCI {
		return nil
	}
	if fi, err := os.Stat(p); err == nil && fi.IsDir() {
		return fmt.Errorf("%w %s: %s is a directory; name a file in it, or write a layout with oci:%s", ErrBadRef, r, p, p)
	}
	return nil
}

// CheckDockerFormat fails for the destinations of dsts that cannot hold
// images with Docker v2s2 manifests: OCI layouts and archives (oci:,
// oci-archive: and FILE.tar, whose index.json OCI tools read), whose
// readers, skopeo and umoci among them, take OCI manifests only. A push
// (docker://), a docker-archive: and a Docker daemon can.
func CheckDockerFormat(dsts []Ref) error {
	for _, d := range dsts {
		switch d.Transport {
		case OCI, OCIArchive, Tarball:
			return fmt.Errorf("%w %s: an OCI layout or archive holds OCI manifests only (skopeo and umoci read no others); "+
				"write Docker's v2s2 to docker://REF, docker-archive:FILE or docker-daemon:NAME", ErrBadRef, d)
		}
	}
	return nil
}
