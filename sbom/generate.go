package sbom

import (
	"archive/tar"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/scratchpack/scratchpack/elfdeps"
)

// Image is what Generate describes.
type Image struct {
	Name     string    // the image's name, e.g. hello-cc or the repository
	Digest   string    // its manifest digest, sha256:HEX
	Platform string    // linux/amd64
	Created  time.Time // the document's creation time (SOURCE_DATE_EPOCH)
	Tool     string    // "scratchpack-VERSION"

	// Files is the image's flattened file system as a tar stream (what a
	// container starts with: whiteouts applied), e.g. mutate.Extract.
	Files io.Reader
	// Program is the path of the program in the image; Go its build
	// information (nil for a program that is not Go).
	Program string
	Go      *elfdeps.GoInfo

	// Dpkg is the database of the system the files were taken from (nil:
	// no Debian packages are named). Origins maps image paths to the paths
	// in that system the files were copied from; a file with no origin is
	// looked up at its image path, and named only if its MD5 is the one dpkg
	// recorded, so that a base image's files are never credited to the host
	// by their name alone.
	Dpkg    *Dpkg
	Origins map[string]string
}

const noAssertion = "NOASSERTION"

// Generate reads the image's files and returns its SPDX 2.3 document. The
// same image gives the same bytes: IDs follow sorted paths and names.
func Generate(im Image) (*Document, error) {
	if im.Files == nil {
		return nil, errors.New("sbom: no files to describe")
	}
	hexDigest, ok := strings.CutPrefix(im.Digest, "sha256:")
	if !ok || len(hexDigest) != 64 {
		return nil, fmt.Errorf("sbom: image digest %q is not sha256:HEX", im.Digest)
	}
	files, err := readFiles(im.Files)
	if err != nil {
		return nil, fmt.Errorf("sbom: reading the image's files: %w", err)
	}
	doc := &Document{
		SPDXVersion:       "SPDX-2.3",
		DataLicense:       "CC0-1.0",
		SPDXID:            "SPDXRef-DOCUMENT",
		Name:              im.Name,
		DocumentNamespace: "https://spdx.org/spdxdocs/scratchpack-" + sanitize(im.Name) + "-" + hexDigest,
		CreationInfo: CreationInfo{
			Created:  im.Created.UTC().Format(time.RFC3339),
			Creators: []string{"Tool: " + im.Tool},
		},
		Packages:      []Package{},
		Files:         []File{},
		Relationships: []Relationship{},
	}
	const imageID = "SPDXRef-Image"
	imgPkg := Package{
		SPDXID: imageID, Name: im.Name, VersionInfo: im.Digest, DownloadLocation: noAssertion,
		Checksums:        []Checksum{{"SHA256", hexDigest}},
		LicenseConcluded: noAssertion, LicenseDeclared: noAssertion, CopyrightText: noAssertion,
		PrimaryPackagePurpose: "CONTAINER",
		ExternalRefs:          []ExternalRef{purl(ociPURL(im.Name, im.Digest, im.Platform))},
	}
	doc.Packages = append(doc.Packages, imgPkg)
	rel := func(a, b, kind string) { doc.Relationships = append(doc.Relationships, Relationship{a, b, kind}) }
	rel(doc.SPDXID, imageID, "DESCRIBES")

	fileID := map[string]string{}
	for i, f := range files {
		id := fmt.Sprintf("SPDXRef-File-%d", i+1)
		fileID[f.path] = id
		doc.Files = append(doc.Files, File{
			SPDXID: id, FileName: f.path,
			Checksums:        []Checksum{{"SHA1", f.sha1}, {"SHA256", f.sha256}},
			LicenseConcluded: noAssertion, CopyrightText: noAssertion,
		})
		rel(imageID, id, "CONTAINS")
	}

	if im.Dpkg != nil {
		if err := addDebian(doc, im, files, fileID, imageID); err != nil {
			return nil, err
		}
	}
	if im.Go != nil {
		addGo(doc, im, fileID, imageID)
	}
	return doc, nil
}

// JSON is the document as indented JSON, ending in a newline.
func (d *Document) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// fileSum is a regular file of the image with its digests.
type fileSum struct {
	path              string
	sha1, sha256, md5 string
}

// readFiles hashes every regular file (and hard link, with its target's
// digests) of a flattened image tar, sorted by path.
func readFiles(r io.Reader) ([]fileSum, error) {
	byPath := map[string]fileSum{}
	var links [][2]string
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		p := path.Clean("/" + h.Name)
		switch h.Typeflag {
		case tar.TypeReg:
			s1, s256, m5 := sha1.New(), sha256.New(), md5.New()
			if _, err := io.Copy(io.MultiWriter(s1, s256, m5), tr); err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
			byPath[p] = fileSum{p, hex.EncodeToString(s1.Sum(nil)), hex.EncodeToString(s256.Sum(nil)), hex.EncodeToString(m5.Sum(nil))}
		case tar.TypeLink:
			links = append(links, [2]string{p, path.Clean("/" + h.Linkname)})
		}
	}
	for _, l := range links {
		if t, ok := byPath[l[1]]; ok {
			t.path = l[0]
			byPath[l[0]] = t
		}
	}
	out := make([]fileSum, 0, len(byPath))
	for _, f := range byPath {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out, nil
}

// addDebian names the Debian package of each file dpkg owns.
func addDebian(doc *Document, im Image, files []fileSum, fileID map[string]string, imageID string) error {
	asked := map[string]string{} // path in the dpkg root → image path
	for _, f := range files {
		src := f.path
		if o, ok := im.Origins[f.path]; ok {
			src = o
		}
		asked[src] = f.path
	}
	var paths []string
	for p := range asked {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	owners, err := im.Dpkg.owners(paths)
	if err != nil {
		return fmt.Errorf("sbom: reading the dpkg database: %w", err)
	}
	md5Of := map[string]string{}
	for _, f := range files {
		md5Of[f.path] = f.md5
	}
	pkgFiles := map[string][]string{} // package key → image paths
	pkgs := map[string]DebPackage{}
	for src, o := range owners {
		imgPath := asked[src]
		_, fromOrigin := im.Origins[imgPath]
		switch {
		case o.md5 != "" && o.md5 != md5Of[imgPath]:
			continue // not the file dpkg installed
		case o.md5 == "" && !fromOrigin:
			continue // a same-named file of unknown provenance
		}
		key := o.pkg.Name + ":" + o.pkg.Architecture
		pkgs[key] = o.pkg
		pkgFiles[key] = append(pkgFiles[key], imgPath)
	}
	keys := make([]string, 0, len(pkgs))
	for k := range pkgs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p := pkgs[k]
		id := "SPDXRef-Package-deb-" + sanitize(p.Name) + "-" + sanitize(p.Architecture)
		pkg := Package{
			SPDXID: id, Name: p.Name, VersionInfo: p.Version, DownloadLocation: noAssertion,
			LicenseConcluded: noAssertion, LicenseDeclared: noAssertion, CopyrightText: noAssertion,
			PrimaryPackagePurpose: "LIBRARY",
			ExternalRefs:          []ExternalRef{purl(debPURL(p, im.Dpkg.distro))},
		}
		if p.Maintainer != "" {
			pkg.Supplier = "Person: " + p.Maintainer
		}
		if p.Source != "" {
			pkg.SourceInfo = "built from the Debian source package " + p.Source
		}
		doc.Packages = append(doc.Packages, pkg)
		doc.Relationships = append(doc.Relationships, Relationship{imageID, id, "CONTAINS"})
		sort.Strings(pkgFiles[k])
		for _, f := range pkgFiles[k] {
			doc.Relationships = append(doc.Relationships, Relationship{id, fileID[f], "CONTAINS"})
		}
	}
	return nil
}

// addGo names the Go toolchain's standard library and each module the
// program was linked from; the program STATIC_LINKs them.
func addGo(doc *Document, im Image, fileID map[string]string, imageID string) {
	prog, ok := fileID[path.Clean("/"+im.Program)]
	if !ok {
		prog = imageID
	}
	mods := append([]elfdeps.Module{{Path: "stdlib", Version: im.Go.Version}}, im.Go.Deps...)
	for i, m := range mods {
		id := fmt.Sprintf("SPDXRef-Package-go-%d-%s", i+1, sanitize(m.Path))
		doc.Packages = append(doc.Packages, Package{
			SPDXID: id, Name: m.Path, VersionInfo: m.Version, DownloadLocation: noAssertion,
			LicenseConcluded: noAssertion, LicenseDeclared: noAssertion, CopyrightText: noAssertion,
			PrimaryPackagePurpose: "LIBRARY",
			ExternalRefs:          []ExternalRef{purl("pkg:golang/" + purlPath(m.Path) + "@" + url.PathEscape(m.Version))},
		})
		doc.Relationships = append(doc.Relationships, Relationship{prog, id, "STATIC_LINK"})
	}
}

func purl(locator string) ExternalRef {
	return ExternalRef{ReferenceCategory: "PACKAGE-MANAGER", ReferenceType: "purl", ReferenceLocator: locator}
}

// debPURL is the package URL of a Debian package, as in the purl spec:
// pkg:deb/debian/libc6@2.36-9%2Bdeb12u9?arch=amd64&distro=debian-12.
func debPURL(p DebPackage, distro string) string {
	q := url.Values{}
	if p.Architecture != "" {
		q.Set("arch", p.Architecture)
	}
	if distro != "" {
		q.Set("distro", distro)
	}
	ns := "debian"
	if d, _, ok := strings.Cut(distro, "-"); ok && d != "" {
		ns = d
	}
	s := "pkg:deb/" + ns + "/" + url.PathEscape(p.Name) + "@" + url.QueryEscape(p.Version)
	if len(q) > 0 {
		s += "?" + q.Encode()
	}
	return s
}

// ociPURL is pkg:oci/NAME@sha256%3AHEX?arch=amd64.
func ociPURL(name, digest, platform string) string {
	base := path.Base(name)
	s := "pkg:oci/" + url.PathEscape(strings.ToLower(base)) + "@" + url.QueryEscape(digest)
	if _, arch, ok := strings.Cut(platform, "/"); ok {
		s += "?arch=" + url.QueryEscape(strings.Split(arch, "/")[0])
	}
	return s
}

func purlPath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

var notIDChar = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`[^A-Za-z0-9.-]+`)
})

// sanitize makes s usable in an SPDX ID (letters, digits, . and -).
func sanitize(s string) string {
	s = notIDChar().ReplaceAllString(s, "-")
	if s == "" {
		return "x"
	}
	return s
}
