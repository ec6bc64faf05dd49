package release

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/partial"

	"github.com/scratchpack/scratchpack/packer"
	"github.com/scratchpack/scratchpack/sbom"
	"github.com/scratchpack/scratchpack/transfer"
)

// spdxMediaType is the media type of SPDX JSON documents, and the
// artifactType of the artifacts that carry them.
const spdxMediaType = "application/spdx+json"

// sbomJob is what writeSBOMs needs to describe a build.
type sbomJob struct {
	name    string           // the image's name in the document
	file    string           // where to write it; platforms add .OS-ARCH before .spdx.json
	results []*packer.Result // one per platform
	dsts    []transfer.Ref   // where the images went: pushed ones get the document attached
	created time.Time
	version string // scratchpack's
}

// writeSBOMs writes an SPDX document for each built image beside the output
// and attaches it to the image in every registry it was pushed to. It
// returns the files written.
func writeSBOMs(ctx context.Context, j sbomJob, opts ...transfer.Option) ([]string, error) {
	var files []string
	for _, res := range j.results {
		doc, err := describe(j, res)
		if err != nil {
			return files, err
		}
		data, err := doc.JSON()
		if err != nil {
			return files, err
		}
		p, _ := packer.ResultPlatform(res)
		file := j.file
		if len(j.results) > 1 {
			name := p.OS + "-" + p.Architecture
			if p.Variant != "" {
				name += "-" + p.Variant
			}
			file = platformFile(j.file, name)
		}
		if err := WriteFile(file, data); err != nil {
			return files, fmt.Errorf("writing the SBOM: %w", err)
		}
		files = append(files, file)
		subject, err := partial.Descriptor(res.Image)
		if err != nil {
			return files, err
		}
		art, err := transfer.NewArtifact(spdxMediaType, data, *subject, map[string]string{
			"org.opencontainers.image.created": j.created.UTC().Format(time.RFC3339),
		})
		if err != nil {
			return files, err
		}
		if _, err := transfer.Attach(ctx, art, j.dsts, opts...); err != nil {
			return files, err
		}
	}
	return files, nil
}

// describe makes the document of one built image.
func describe(j sbomJob, res *packer.Result) (*sbom.Document, error) {
	digest, err := res.Image.Digest()
	if err != nil {
		return nil, err
	}
	p, err := packer.ResultPlatform(res)
	if err != nil {
		return nil, err
	}
	root := res.Sysroot
	if root == "" {
		root = "/"
	}
	dpkg, prefix, err := dpkgFor(root)
	if err != nil {
		return nil, err
	}
	origins := map[string]string{}
	absRoot, _ := filepath.Abs(root)
	for _, e := range res.Files.Entries() {
		if e.Source == "" {
			continue
		}
		src, err := filepath.Abs(e.Source)
		if err != nil {
			continue
		}
		rel, err := filepath.Rel(absRoot, src)
		if err != nil || !filepath.IsLocal(rel) {
			continue // the program, an --add file: not from the root
		}
		if prefix == "/" {
			origins[e.Path] = src
		} else {
			origins[e.Path] = "/" + filepath.ToSlash(rel)
		}
	}
	files := mutate.Extract(res.Image)
	defer files.Close()
	return sbom.Generate(sbom.Image{
		Name: j.name, Digest: digest.String(), Platform: p.String(), Created: j.created,
		Tool: "scratchpack-" + j.version, Files: files,
		Program: res.Program, Go: res.Report.Go, Dpkg: dpkg, Origins: origins,
	})
}

// dpkgFor opens the dpkg database that owns the files under root: root's
// own (a Debian system or image unpacked there), else, for a sysroot
// installed by Debian packages (/usr/aarch64-linux-gnu from
// libc6-arm64-cross), this machine's, where file paths keep the root's
// prefix. It returns the database and the directory its paths start at;
// nil if there is none.
func dpkgFor(root string) (*sbom.Dpkg, string, error) {
	for _, dir := range []string{root, "/"} {
		d, err := sbom.OpenDpkg(os.DirFS(dir))
		if errors.Is(err, sbom.ErrNoDpkg) {
			continue
		}
		if err != nil {
			return nil, "", err
		}
		return d, dir, nil
	}
	return nil, "", nil
}

// platformFile inserts the platform before the extension of file:
// hello.spdx.json → hello.linux-arm64.spdx.json.
func platformFile(file, platform string) string {
	for _, ext := range []string{".spdx.json", ".json"} {
		if base, ok := strings.CutSuffix(file, ext); ok {
			return base + "." + platform + ext
		}
	}
	return file + "." + platform
}

// WriteFile writes data to file through a temporary file beside it,
// creating the directory if needed. A file that exists and is not a
// regular file (a device such as /dev/stdout, a fifo, a symbolic link) is
// written through, as a shell's > does, never renamed over.
func WriteFile(file string, data []byte) error {
	if fi, err := os.Lstat(file); err == nil && !fi.Mode().IsRegular() {
		return os.WriteFile(file, data, 0o644)
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil { // os.CreateTemp makes it 0600
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), file)
}
