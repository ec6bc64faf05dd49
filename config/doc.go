// Package config reads scratchpack.yaml, the file that describes several
// images to build in one go, into packer.Specs and destinations. Parse is
// pure: it reads no files and no environment (the caller passes the
// variables ${VAR} may name), so it can be fuzzed.
package config
