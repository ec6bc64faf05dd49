// Package runner runs an image's program once on this machine, without a
// daemon: it unpacks the image into a temporary root and starts its
// entrypoint there through runc, or in namespaces it makes itself.
package runner
