package slim

import (
	"os"
	"testing"

	"github.com/scratchpack/scratchpack/runner"
)

// TestMain makes the test binary the builtin runtime's init when it is
// started as one, for the tests that run the slim images.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == runner.InitCommand {
		os.Exit(runner.Init())
	}
	os.Exit(m.Run())
}
