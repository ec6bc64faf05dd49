// Package packer turns a resolved set of files into reproducible OCI layers and
// images, reads base images, and writes images to OCI layouts, archives and
// registries through go-containerregistry. [Build] adds a program's run-time
// needs beside its closure (RuntimeSpec), can trace one run of it (RunTrace),
// and [Check] predicts whether a program runs on a base as it is.
package packer
