// Package transfer moves images: it parses image locations in skopeo's
// transport syntax (oci:, oci-archive:, docker-archive:, FILE.tar,
// docker://, docker-daemon:), reads images from them with every blob checked
// against its digest (LoadBase, Load, List, Unpack), and writes images and
// indexes to them (Write, WriteAll, Copy, Attach), never over what is not an
// image of ours, through registries with timeouts, retries and credentials
// from the Docker keychain, or a Docker daemon's socket.
package transfer
