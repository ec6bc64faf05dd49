package slim

import (
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/scratchpack/scratchpack/layercache"
	"github.com/scratchpack/scratchpack/packer"
	"github.com/scratchpack/scratchpack/release"
	"github.com/scratchpack/scratchpack/runner"
	"github.com/scratchpack/scratchpack/transfer"
)

// Spec is what to make smaller and how.
type Spec struct {
	Image transfer.Ref // the image: any location transfer.Load reads, or a Docker daemon's image
	// Platforms picks images of an index (each made smaller from its own
	// manifest); nil means every platform it has. A single image must be
	// of one of them.
	Platforms []v1.Platform
	// Program is the path in the image of the program to keep; "" means
	// the first word of the image's entrypoint and command.
	Program string
	Keep    []string   // paths of the image kept with all they hold
	Trace   *TraceSpec // a run of the image under strace; nil: what static analysis finds
	// WorkDir is where the images are unpacked and layers written; ""
	// means os.TempDir(). Everything slim makes there is removed by Run.
	WorkDir     string
	Created     time.Time              // image and file times; zero means the Unix epoch
	Compression layercache.Compression // of the new layers
	Level       int                    // compression level; 0 means the default
	Layers      packer.Layering        // how the new files are split into layers
	Format      packer.Format          // the manifest format: OCI (the zero value) or Docker's v2s2
}

// TraceSpec is a run of the image in scratchpack's sandbox under strace,
// to learn what it uses that static analysis cannot see.
type TraceSpec struct {
	Args    []string      // replace the image's command; nil keeps it
	Timeout time.Duration // stop the run after this; 0 means 30 s
	// Probe is a shell command run on this machine, again and again until
	// it succeeds, while the program runs (sharing this machine's
	// network): a request that exercises a server. The run stops once it
	// has succeeded; "" lets the program run until it exits or times out.
	Probe string
	// Run are how the image is run (the work directory, warnings).
	Run []runner.Option
}

// Options say where the images go and how they are built and written.
type Options struct {
	Outputs []transfer.Ref
	SBOM    string // where to write the SPDX document; "" for none
	// Release are the options of the build and the writes (packer options,
	// transfer options, the version); its Built is replaced by Built.
	Release release.Options
	// Built is called when the images are built, before they are written,
	// with the reports: an error (a failed smoke run) stops the writes.
	Built func(*Result) error
	// Progress is told what slim is doing, for a long run's output.
	Progress func(string)
}

// Result is what Run made.
type Result struct {
	*release.Result
	Reports []*Report // one per platform, in the order of Result.Builds
}
