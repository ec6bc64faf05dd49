package main

import (
	"errors"
	"fmt"

	"github.com/scratchpack/scratchpack/elfdeps"
)

// The libraries say what is wrong in their own terms; the CLI adds which of
// its flags is the way out.

// sysrootHint is how a pack or inspect user gives a sysroot.
func sysrootHint(se *elfdeps.SysrootError) string {
	return fmt.Sprintf("with --sysroot DIR, or --sysroot %s=DIR for this platform alone", se.Platform)
}

// withFlagHints adds to err the flag that fixes it, where there is one. An
// error classified already has its hints.
func withFlagHints(err error) error {
	var se *elfdeps.SysrootError
	var ee *exitError
	if errors.As(err, &ee) {
		return err
	}
	if errors.As(err, &se) {
		return fmt.Errorf("%w (%s)", err, sysrootHint(se))
	}
	return err
}
