package transfer

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// ErrAmbiguous is wrapped when a layout or archive holds several images and
// the location names none of them (no TAG, no digest).
var ErrAmbiguous = errors.New("ambiguous image location")

// selectDescs returns the descriptors of the top index im that the location
// names: those whose annotation key is val, or whose digest is digest, or,
// when neither is given, all of them, provided they are one image, or images
// for distinct platforms (an image without a platform in its descriptor
// counts as any). Anything else is ErrAmbiguous, with the list of what
// there is.
func selectDescs(im *v1.IndexManifest, key, val, digest string) ([]v1.Descriptor, error) {
	descs := im.Manifests
	switch {
	case digest != "":
		descs = slices.DeleteFunc(slices.Clone(descs), func(d v1.Descriptor) bool { return d.Digest.String() != digest })
		if len(descs) == 0 {
			return nil, fmt.Errorf("%w: nothing has the digest %s; it holds:\n%s", ErrNotFound, digest, describeDescs(im.Manifests))
		}
		return descs[:1], nil
	case val != "":
		descs = slices.DeleteFunc(slices.Clone(descs), func(d v1.Descriptor) bool { return d.Annotations[key] != val })
		if len(descs) == 0 {
			return nil, fmt.Errorf("%w: nothing is tagged %q; it holds:\n%s", ErrNotFound, val, describeDescs(im.Manifests))
		}
		return descs, nil
	case len(descs) == 0:
		return nil, fmt.Errorf("%w: it holds no images", ErrNotFound)
	case len(descs) == 1:
		return descs, nil
	}
	seen := map[string]bool{}
	for _, d := range descs {
		if d.Platform == nil || seen[normalize(*d.Platform).String()] {
			return nil, fmt.Errorf("%w: it holds %d images and the location names none of them: add :TAG or @DIGEST to it:\n%s",
				ErrAmbiguous, len(descs), describeDescs(descs))
		}
		seen[normalize(*d.Platform).String()] = true
	}
	return descs, nil
}

// describeDescs lists descriptors one a line: digest, platform, tag.
func describeDescs(descs []v1.Descriptor) string {
	var b strings.Builder
	for _, d := range descs {
		kind := "image"
		if d.MediaType.IsIndex() {
			kind = "index"
		}
		platform := "platform not stated"
		if d.Platform != nil {
			platform = d.Platform.String()
		}
		tag := "untagged"
		if t := d.Annotations[annotationRefName]; t != "" {
			tag = "tag " + t
		}
		fmt.Fprintf(&b, "  @%s  %s, %s, %s\n", d.Digest, kind, platform, tag)
	}
	return strings.TrimSuffix(b.String(), "\n")
}
