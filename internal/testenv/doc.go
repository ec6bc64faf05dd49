// Package testenv starts real components for end-to-end tests: the CNCF
// distribution registry, runc (through umoci), a private dockerd, a
// busybox:glibc-shaped base image assembled from the host's Debian files,
// and real Debian 12 roots and images made by mmdebstrap (DebianRoot,
// DebianImage), cached in testdata/out/debian.
//
// Every helper returns resources that are stopped and removed through
// t.Cleanup. A helper skips the test only when a component cannot exist on
// the machine, with a message that starts with "SKIP (component missing)";
// when the environment variable CI is true, a missing component fails the
// test instead, because CI installs everything. Helpers that need root skip
// with "SKIP (requires root)" when not run as root, in CI too.
//
// testenv is test-only code: it execs host tools and reads the host's files,
// which the library packages never do.
package testenv
