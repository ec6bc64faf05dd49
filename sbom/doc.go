// Package sbom writes an SPDX 2.3 JSON document for an image: its files
// with their checksums, the Go modules its program was built from, and the
// Debian package and version that each file taken from the distribution
// belongs to, read from /var/lib/dpkg through an fs.FS, never the host.
package sbom
