// Package release builds images and ships them: several at once with one
// layer cache, each written to its outputs (an archive that several images
// go to is written once, with all of them), described by an SPDX SBOM that
// is attached to the pushed images. It is what pack and build both do after
// their flags or configuration file have become packer specs.
package release
