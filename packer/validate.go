package packer

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/scratchpack/scratchpack/layercache"
	"github.com/scratchpack/scratchpack/transfer"
)

// SpecError is one field of a Spec that is wrong. Field names it as the
// Spec does ("Dest", "Config.User", "Add[2].Dest", "Runtime.Include[0]"), so
// that each front end can say which of its own flags or keys to fix.
type SpecError struct {
	Field string
	Err   error
}

func (e *SpecError) Error() string { return e.Err.Error() }
func (e *SpecError) Unwrap() error { return e.Err }

// ErrBadSpec is wrapped by every error Validate returns.
var ErrBadSpec = errors.New("invalid image specification")

// Is makes every SpecError an ErrBadSpec.
func (e *SpecError) Is(target error) bool { return target == ErrBadSpec }

// Validate checks what can be checked of s without reading any file: paths
// in the image, the user, the environment, labels, ports, added files, the
// run-time switches, the base, the compression level. It returns every
// mistake, each a *SpecError, joined (errors.Join), or nil. Build and
// Check call it; front ends call it first, to report all mistakes at once.
func (s Spec) Validate() error {
	var errs []error
	bad := func(field string, format string, args ...any) {
		errs = append(errs, &SpecError{Field: field, Err: fmt.Errorf(format, args...)})
	}
	path := func(field, p string) {
		if _, err := CleanImagePath(p); err != nil {
			bad(field, "%w", err)
		}
	}
	if s.Program == "" {
		bad("Program", "no program given")
	}
	if s.Dest != "" {
		path("Dest", s.Dest)
	}
	if s.Config.WorkingDir != "" {
		path("Config.WorkingDir", s.Config.WorkingDir)
	}
	if err := checkUser(s.Config.User); err != nil {
		bad("Config.User", "%w", err)
	}
	for i, kv := range s.Config.Env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			bad(fmt.Sprintf("Config.Env[%d]", i), "%q: want K=V", kv)
		}
	}
	for k := range s.Config.Labels {
		if k == "" {
			bad("Config.Labels", "a label without a name")
		}
	}
	for k := range s.Config.Annotations {
		if k == "" {
			bad("Config.Annotations", "an annotation without a name")
		}
	}
	for i, p := range s.Config.Expose {
		if err := checkPort(p); err != nil {
			bad(fmt.Sprintf("Config.Expose[%d]", i), "%w", err)
		}
	}
	for i, a := range s.Add {
		if a.Src == "" {
			bad(fmt.Sprintf("Add[%d].Src", i), "no source file")
		}
		path(fmt.Sprintf("Add[%d].Dest", i), a.Dest)
	}
	for i, d := range s.Dirs {
		path(fmt.Sprintf("Dirs[%d].Path", i), d.Path)
		if d.UID < 0 || d.GID < 0 {
			bad(fmt.Sprintf("Dirs[%d]", i), "%s: negative owner %d:%d", d.Path, d.UID, d.GID)
		}
	}
	for i, p := range s.Runtime.Programs {
		path(fmt.Sprintf("Runtime.Programs[%d]", i), p)
	}
	for i, p := range s.Runtime.Include {
		path(fmt.Sprintf("Runtime.Include[%d]", i), p)
	}
	if s.Runtime.CABundle != "" && s.Runtime.CACerts == Off {
		bad("Runtime.CABundle", "a CA bundle to add, and CA certificates turned off: drop one of them")
	}
	if s.Base.Transport == transfer.DockerDaemon {
		bad("Base", "a Docker daemon is a destination, not a base: docker save the image and use docker-archive:FILE")
	}
	if s.Format == FormatV2S2 && s.Compression == layercache.Zstd {
		bad("Format", "zstd layers exist in OCI manifests only: Docker's v2s2 format takes gzip or uncompressed layers")
	}
	if _, ok := formatNames[s.Format]; !ok {
		bad("Format", "%v: want oci or v2s2", s.Format)
	}
	if s.Level != 0 {
		if _, err := s.Compression.Level(s.Level); err != nil {
			bad("Level", "%w", err)
		}
	}
	return errors.Join(errs...)
}

// SpecErrors are the *SpecError of an error Validate returned.
func SpecErrors(err error) []*SpecError {
	var out []*SpecError
	var walk func(error)
	walk = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		var se *SpecError
		if errors.As(err, &se) {
			out = append(out, se)
		}
	}
	if err != nil {
		walk(err)
	}
	return out
}

// checkUser accepts "", root, nonroot and UID[:GID].
func checkUser(u string) error {
	if u == "" || u == "root" || u == "nonroot" {
		return nil
	}
	id, gid, _ := strings.Cut(u, ":")
	_, err := strconv.ParseUint(id, 10, 32)
	if err == nil && gid != "" {
		_, err = strconv.ParseUint(gid, 10, 32)
	}
	if err != nil {
		return fmt.Errorf("%q: want root, nonroot or UID[:GID]", u)
	}
	return nil
}

// checkPort accepts PORT and PORT/tcp, PORT/udp, PORT/sctp.
func checkPort(p string) error {
	port, proto, _ := strings.Cut(p, "/")
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return fmt.Errorf("%q: want PORT[/PROTO], a port from 1 to 65535", p)
	}
	switch proto {
	case "", "tcp", "udp", "sctp":
		return nil
	}
	return fmt.Errorf("%q: the protocol is tcp, udp or sctp", p)
}
