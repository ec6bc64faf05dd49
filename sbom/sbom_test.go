package sbom

import (
	"archive/tar"
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/scratchpack/scratchpack/elfdeps"
	"github.com/scratchpack/scratchpack/internal/testenv"
)

const status = `Package: libc6
Status: install ok installed
Architecture: amd64
Multi-Arch: same
Source: glibc
Version: 2.36-9+deb12u9
Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>
Description: GNU C Library: Shared libraries
 Contains the standard libraries.

Package: base-files
Status: install ok installed
Architecture: amd64
Version: 12.4+deb12u8

Package: removed
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0

Package: libstdc++6
Status: install ok installed
Architecture: amd64
Source: gcc-12 (12.2.0-14)
Version: 12.2.0-14
`

func md5hex(s string) string { h := md5.Sum([]byte(s)); return hex.EncodeToString(h[:]) }

// debianRoot is a merged-/usr system: /lib is a link to usr/lib, and dpkg
// lists libc6's files under /lib.
func debianRoot() fstest.MapFS {
	return fstest.MapFS{
		"lib":                                {Mode: os.ModeSymlink, Data: []byte("usr/lib")},
		"usr/lib/x86_64-linux-gnu/libc.so.6": {Data: []byte("libc")},
		"usr/lib/x86_64-linux-gnu/libstdc++.so.6.0": {Data: []byte("libstdc++")},
		"etc/os-release":                          {Data: []byte("ID=debian\nVERSION_ID=\"12\"\n")},
		"etc/issue":                               {Data: []byte("Debian 12\n")},
		"var/lib/dpkg/status":                     {Data: []byte(status)},
		"var/lib/dpkg/info/libc6:amd64.list":      {Data: []byte("/.\n/lib\n/lib/x86_64-linux-gnu\n/lib/x86_64-linux-gnu/libc.so.6\n")},
		"var/lib/dpkg/info/libc6:amd64.md5sums":   {Data: []byte(md5hex("libc") + "  lib/x86_64-linux-gnu/libc.so.6\n")},
		"var/lib/dpkg/info/libstdc++6:amd64.list": {Data: []byte("/usr/lib/x86_64-linux-gnu/libstdc++.so.6.0\n")},
		"var/lib/dpkg/info/base-files.list":       {Data: []byte("/etc/issue\n/etc/os-release\n")},
		"var/lib/dpkg/info/base-files.md5sums":    {Data: []byte(md5hex("Debian 12\n") + "  etc/issue\n")},
		"var/lib/dpkg/info/removed.list":          {Data: []byte("/app/hello\n")},
	}
}

// imageTar is a flattened image file system.
func imageTar(t *testing.T, files map[string]string) *bytes.Buffer {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, n := range []string{"app/hello", "etc/issue", "etc/passwd", "usr/lib/x86_64-linux-gnu/libc.so.6", "usr/lib/x86_64-linux-gnu/libstdc++.so.6.0"} {
		data, ok := files[n]
		if !ok {
			continue
		}
		tw.WriteHeader(&tar.Header{Name: n, Typeflag: tar.TypeReg, Size: int64(len(data)), Mode: 0o644})
		tw.Write([]byte(data))
	}
	tw.WriteHeader(&tar.Header{Name: "lib64", Typeflag: tar.TypeSymlink, Linkname: "usr/lib64"})
	tw.Close()
	return &b
}

const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func generate(t *testing.T, files map[string]string, origins map[string]string, gi *elfdeps.GoInfo) *Document {
	t.Helper()
	d, err := OpenDpkg(debianRoot())
	if err != nil {
		t.Fatal(err)
	}
	doc, err := Generate(Image{
		Name: "127.0.0.1:5000/hello", Digest: digest, Platform: "linux/amd64", Created: time.Unix(0, 0), Tool: "scratchpack-test",
		Files: imageTar(t, files), Program: "/app/hello", Go: gi, Dpkg: d, Origins: origins,
	})
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// owners lists "package version: files" from a document.
func owners(doc *Document) []string {
	names := map[string]string{}
	for _, f := range doc.Files {
		names[f.SPDXID] = f.FileName
	}
	var out []string
	for _, p := range doc.Packages {
		if !strings.HasPrefix(p.SPDXID, "SPDXRef-Package-deb-") {
			continue
		}
		var fs []string
		for _, r := range doc.Relationships {
			if r.SPDXElementID == p.SPDXID && r.RelationshipType == "CONTAINS" {
				fs = append(fs, names[r.RelatedSPDXElement])
			}
		}
		out = append(out, p.Name+" "+p.VersionInfo+": "+strings.Join(fs, " "))
	}
	return out
}

func TestGenerateDebian(t *testing.T) {
	for _, tc := range []struct {
		name    string
		files   map[string]string
		origins map[string]string
		want    []string
	}{
		{
			name: "files copied from the root, found through /lib -> usr/lib",
			files: map[string]string{"app/hello": "ELF", "usr/lib/x86_64-linux-gnu/libc.so.6": "libc",
				"usr/lib/x86_64-linux-gnu/libstdc++.so.6.0": "libstdc++"},
			origins: map[string]string{"/usr/lib/x86_64-linux-gnu/libc.so.6": "/usr/lib/x86_64-linux-gnu/libc.so.6",
				"/usr/lib/x86_64-linux-gnu/libstdc++.so.6.0": "/usr/lib/x86_64-linux-gnu/libstdc++.so.6.0", "/app/hello": "/app/hello"},
			want: []string{
				"libc6 2.36-9+deb12u9: /usr/lib/x86_64-linux-gnu/libc.so.6",
				"libstdc++6 12.2.0-14: /usr/lib/x86_64-linux-gnu/libstdc++.so.6.0",
			},
		},
		{
			name:    "a changed file is not the package's",
			files:   map[string]string{"usr/lib/x86_64-linux-gnu/libc.so.6": "patched libc"},
			origins: map[string]string{"/usr/lib/x86_64-linux-gnu/libc.so.6": "/usr/lib/x86_64-linux-gnu/libc.so.6"},
		},
		{
			name:  "without an origin only a matching MD5 counts",
			files: map[string]string{"etc/issue": "Debian 12\n", "usr/lib/x86_64-linux-gnu/libstdc++.so.6.0": "libstdc++"},
			want:  []string{"base-files 12.4+deb12u8: /etc/issue"},
		},
		{
			name:  "a base's own file of the same name is not the host's",
			files: map[string]string{"etc/issue": "Alpine\n", "etc/passwd": "root:x:0:0::/:/bin/sh\n"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := generate(t, tc.files, tc.origins, nil)
			if diff := cmp.Diff(tc.want, owners(doc)); diff != "" {
				t.Errorf("owners (-want +got):\n%s", diff)
			}
			validate(t, doc)
		})
	}
	doc := generate(t, map[string]string{"usr/lib/x86_64-linux-gnu/libc.so.6": "libc"},
		map[string]string{"/usr/lib/x86_64-linux-gnu/libc.so.6": "/usr/lib/x86_64-linux-gnu/libc.so.6"}, nil)
	libc := doc.Package("libc6")
	if libc == nil || libc.ExternalRefs[0].ReferenceLocator != "pkg:deb/debian/libc6@2.36-9%2Bdeb12u9?arch=amd64&distro=debian-12" ||
		libc.SourceInfo != "built from the Debian source package glibc" || !strings.HasPrefix(libc.Supplier, "Person: GNU Libc") {
		t.Errorf("libc6: %+v", libc)
	}
}

func TestGenerateGo(t *testing.T) {
	gi := &elfdeps.GoInfo{Version: "go1.26.8", Path: "example.com/hello", Module: "example.com/hello",
		Deps: []elfdeps.Module{{Path: "golang.org/x/sys", Version: "v0.47.0"}, {Path: "github.com/Foo/bar", Version: "v1.2.3+incompatible"}}}
	doc := generate(t, map[string]string{"app/hello": "ELF"}, nil, gi)
	var got []string
	for _, p := range doc.Packages {
		if strings.HasPrefix(p.SPDXID, "SPDXRef-Package-go-") {
			got = append(got, p.ExternalRefs[0].ReferenceLocator)
		}
	}
	want := []string{"pkg:golang/stdlib@go1.26.8", "pkg:golang/golang.org/x/sys@v0.47.0", "pkg:golang/github.com/Foo/bar@v1.2.3+incompatible"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Go packages (-want +got):\n%s", diff)
	}
	links := 0
	for _, r := range doc.Relationships {
		if r.RelationshipType == "STATIC_LINK" && r.SPDXElementID == doc.Files[0].SPDXID {
			links++
		}
	}
	if links != 3 {
		t.Errorf("the program STATIC_LINKs %d packages, want 3", links)
	}
	validate(t, doc)

	// Same input, same bytes.
	a, _ := doc.JSON()
	b, _ := generate(t, map[string]string{"app/hello": "ELF"}, nil, gi).JSON()
	if !bytes.Equal(a, b) {
		t.Error("two documents of the same image differ")
	}
}

func TestGenerateErrors(t *testing.T) {
	if _, err := Generate(Image{Digest: digest}); err == nil {
		t.Error("no files: no error")
	}
	if _, err := Generate(Image{Digest: "sha256:short", Files: imageTar(t, nil)}); err == nil {
		t.Error("bad digest: no error")
	}
	if _, err := OpenDpkg(fstest.MapFS{}); err != ErrNoDpkg {
		t.Errorf("no database: %v, want ErrNoDpkg", err)
	}
}

func TestParseStatus(t *testing.T) {
	got := ParseStatus([]byte(status))
	want := []DebPackage{
		{Name: "base-files", Version: "12.4+deb12u8", Architecture: "amd64"},
		{Name: "libc6", Version: "2.36-9+deb12u9", Architecture: "amd64", Source: "glibc", Maintainer: "GNU Libc Maintainers <debian-glibc@lists.debian.org>"},
		{Name: "libstdc++6", Version: "12.2.0-14", Architecture: "amd64", Source: "gcc-12"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func FuzzParseStatus(f *testing.F) {
	f.Add([]byte(status))
	f.Add([]byte("Package: x\nStatus: install ok installed\nVersion: 1\n\n\n: \n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, p := range ParseStatus(data) {
			if p.Name == "" || p.Version == "" {
				t.Fatalf("a package without a name or version: %+v", p)
			}
		}
	})
}

// validate checks doc against the SPDX 2.3 JSON schema shipped in testdata.
func validate(t *testing.T, doc *Document) {
	t.Helper()
	ValidateSPDX(t, doc)
}

// ValidateSPDX validates an SPDX document against testdata/spdx/spdx-schema-v2.3.json.
func ValidateSPDX(t *testing.T, doc *Document) {
	t.Helper()
	data, err := doc.JSON()
	if err != nil {
		t.Fatal(err)
	}
	sch := spdxSchema(t)
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(v); err != nil {
		t.Errorf("the document does not validate against the SPDX 2.3 schema: %v", err)
	}
}

func spdxSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	return testenv.SPDXSchema(t, filepath.Join("..", "testdata", "spdx", "spdx-schema-v2.3.json"))
}

// TestSchemaRejects: the schema check can fail.
func TestSchemaRejects(t *testing.T) {
	doc := generate(t, map[string]string{"app/hello": "ELF"}, nil, nil)
	doc.Relationships[0].RelationshipType = "LIKES"
	data, _ := doc.JSON()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if err := spdxSchema(t).Validate(v); err == nil {
		t.Error("a relationship of type LIKES validated")
	}
}
