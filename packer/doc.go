// Package packer decides what goes into an image and assembles it: it plans
// the file set of a program (its closure, its run-time needs, PyInstaller
// contents, added files) on a base, writes it as reproducible layers
// (through the layercache package) and puts them on the base image as a
// v1.Image or, for several platforms, a v1.ImageIndex. Moving images to
// and from their locations is the transfer package's.
package packer
