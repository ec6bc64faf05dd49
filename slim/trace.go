package slim

import (
	"context"
	"slices"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/scratchpack/scratchpack/packer"
	"github.com/scratchpack/scratchpack/runner"
)

// traceRun runs img under strace in the sandbox and returns what it used
// of root, the image unpacked as it is.
func traceRun(ctx context.Context, img v1.Image, root string, ts TraceSpec) (*packer.Trace, error) {
	return runner.TraceImage(ctx, img, runner.ImageTraceSpec{
		Root: root, Args: ts.Args, Timeout: ts.Timeout, Probe: ts.Probe, Run: ts.Run,
	})
}

// readsUsers reports whether a traced run read the user database, which
// the trace leaves out (slim writes the image's users itself).
func readsUsers(tr *packer.Trace) bool {
	return slices.Contains(tr.Skipped, "/etc/passwd") || slices.Contains(tr.Skipped, "/etc/group")
}
