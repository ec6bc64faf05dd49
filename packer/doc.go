// Package packer turns a resolved set of files into reproducible OCI layers and
// images, reads base images, and writes images to OCI layouts, archives and
// registries through go-containerregistry.
package packer
