package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/scratchpack/scratchpack/elfdeps"
	"github.com/scratchpack/scratchpack/layercache"
	"github.com/scratchpack/scratchpack/packer"
	"github.com/scratchpack/scratchpack/transfer"
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
	switch {
	case len(packer.SpecErrors(err)) > 0:
		return withCode(exitBadInput, flagErrors(err))
	case errors.As(err, &se):
		return fmt.Errorf("%w (%s)", err, sysrootHint(se))
	case errors.Is(err, layercache.ErrUnusable):
		return fmt.Errorf("%w (choose another cache with --cache DIR, or do without with --no-cache)", err)
	case errors.Is(err, transfer.ErrUntrustedCertificate):
		return fmt.Errorf("%w (--tls-verify=false skips verification; --cert-dir DIR uses the CA certificate DIR/ca.crt)", err)
	case errors.Is(err, transfer.ErrUnauthorized):
		return fmt.Errorf("%w (or name a file of credentials with --authfile FILE)", err)
	}
	return err
}

// specFlags are the flags of the Spec fields packer.Spec.Validate names.
var specFlags = map[string]string{
	"Program": "PROGRAM", "Dest": "--dest", "Config.WorkingDir": "--workdir", "Config.User": "--user",
	"Config.Env": "--env", "Config.Labels": "--label", "Config.Annotations": "--annotation",
	"Config.Expose": "--expose", "Add": "--add", "Runtime.Include": "--include",
	"Runtime.CABundle": "--ca-bundle", "Base": "--base", "Level": "--compression-level",
	"Format": "--format",
}

// flagErrors says each mistake of a Spec by the flag that set it, one a line.
func flagErrors(err error) error {
	ses := packer.SpecErrors(err)
	if len(ses) == 0 {
		return err
	}
	lines := make([]string, len(ses))
	for i, se := range ses {
		name, _, _ := strings.Cut(se.Field, "[")
		flag := specFlags[name]
		if flag == "" {
			flag = se.Field
		}
		lines[i] = flag + ": " + se.Err.Error()
	}
	return errors.New(strings.Join(lines, "\n"))
}
