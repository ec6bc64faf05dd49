package packer

import (
	"io/fs"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/scratchpack/scratchpack/layercache"
	"github.com/scratchpack/scratchpack/transfer"
)

// Spec is everything that decides an image: the same Spec and the same
// input files give the same image digest.
type Spec struct {
	Program     string                 // host path of the program
	Dest        string                 // its path in the image; "" means /app/NAME
	Root        string                 // host directory (sysroot) its libraries are taken from; "" means FindSysroot's choice
	LibraryPath []string               // searched as LD_LIBRARY_PATH would be (opt-in)
	Base        transfer.Ref           // Scratch (also the zero Ref), or a base image
	Platform    *v1.Platform           // requested platform; checked against the ELF file; nil means the ELF's own
	Config      Config                 // the image configuration
	Add         []Addition             // extra files and directories
	Created     time.Time              // image and file times (SOURCE_DATE_EPOCH); zero means the Unix epoch
	WorkDir     string                 // temporary directory for layer blobs and the unpacked base; "" means os.TempDir()
	Compression layercache.Compression // of the new layers: gzip (the zero value), zstd or none
	Level       int                    // compression level; 0 means the compression's default
	Layers      Layering               // how the new files are split into layers
	Format      Format                 // the manifest format: OCI (the zero value) or Docker's v2s2
	Runtime     RuntimeSpec            // run-time needs: what goes in beyond the loader's closure
	KeepSUID    bool                   // keep the setuid and setgid bits of the program and --add files that have them (--keep-suid)
	Dirs        []Directory            // directories the image gets with their owner and mode
}

// Directory is a directory the image gets, with its owner and mode, empty
// but for what else goes in it: what an image being made smaller had at its
// user's home, its volumes and its working directory.
type Directory struct {
	Path     string      // absolute, in the image; no symbolic link on the way
	Mode     fs.FileMode // permission bits, and fs.ModeSticky
	UID, GID int
	Why      string // what asked for it, for the report
}

// Config is the OCI image configuration a user sets, named as Docker's flags.
type Config struct {
	Entrypoint  []string // nil means [Dest]
	Cmd         []string // the default arguments
	Env         []string // K=V, added to (and overriding) the base's
	WorkingDir  string
	User        string // "", "root", "nonroot" (65532:65532, with /etc/passwd and /etc/group entries), or UID[:GID]
	Labels      map[string]string
	Annotations map[string]string // manifest annotations, beside the org.opencontainers.image.* ones scratchpack sets
	Expose      []string          // PORT[/PROTO]
}

// Addition is one --add SRC:DEST.
type Addition struct {
	Src  string // host file or directory
	Dest string // absolute path in the image
}
