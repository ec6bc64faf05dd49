// Package slim makes the minimal image of an image that already exists: it
// unpacks the image into a temporary root, finds the program its entrypoint
// runs, and builds (with packer) an image of that program and exactly the
// files of the root it needs (its closure resolved inside the root, the
// run-time needs met by the image's own files, the image's user, and paths
// kept by name), with the image's configuration.
package slim
