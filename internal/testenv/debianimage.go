package testenv

import (
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// DebianPath is the PATH of Debian's official images, which DebianImage
// sets when the caller's Env has none.
const DebianPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// DebianImage returns DebianRoot(t, spec) as an image the way a Debian base
// image is one: a single gzip layer holding the whole root (its
// uncompressed bytes are exactly the root's tar, so its diff ID is the
// tar's sha256), on scratch, with OCI media types; the config is cfg (Env,
// Entrypoint, Cmd, User, WorkingDir, ExposedPorts, Volumes, Labels,
// StopSignal, ... as given) with DebianPath added to Env when cfg sets no
// PATH, OS linux, the spec's architecture and variant (arm64: v8), created
// at Debian 12.0's release day, and one history entry naming the
// mmdebstrap command. The same root and cfg give the same digest.
//
// The compressed layer is cached next to the root's tar (NAME.tar.gz, made
// once, ~10 s for the servers' root) with its digests (NAME.tar.gz.json),
// so a later call reads nothing but those digests. Write the image where a
// test needs it with WriteOCILayout, WriteOCIArchive, WriteDockerArchive or
// PushImage.
func DebianImage(t testing.TB, spec DebianSpec, cfg v1.Config) v1.Image {
	t.Helper()
	r, err := resolveDebian(spec)
	if err != nil {
		t.Fatalf("testenv.DebianImage: %v", err)
	}
	tarPath := DebianRoot(t, spec)
	layer, err := cachedGzipLayer(tarPath)
	if err != nil {
		t.Fatalf("testenv.DebianImage: the compressed layer of %s: %v", tarPath, err)
	}

	created := v1.Time{Time: debianEpoch}
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.Append(base, mutate.Addendum{
		Layer: layer,
		History: v1.History{
			Created:   created,
			CreatedBy: "mmdebstrap " + strings.Join(r.options(), " "),
			Comment:   "scratchpack testenv.DebianImage",
		},
	})
	if err != nil {
		t.Fatalf("testenv.DebianImage: %v", err)
	}
	file, err := img.ConfigFile()
	if err != nil {
		t.Fatalf("testenv.DebianImage: %v", err)
	}
	file = file.DeepCopy()
	file.Created = created
	file.OS = "linux"
	file.Architecture = r.arch.goarch
	file.Variant = r.arch.variant
	file.Config = *cfg.DeepCopy()
	if !slices.ContainsFunc(file.Config.Env, func(kv string) bool { return strings.HasPrefix(kv, "PATH=") }) {
		file.Config.Env = append([]string{DebianPath}, file.Config.Env...)
	}
	if img, err = mutate.ConfigFile(img, file); err != nil {
		t.Fatalf("testenv.DebianImage: %v", err)
	}
	return img
}
