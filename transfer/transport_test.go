package transfer

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
)

// flatRef is a Ref with its name as strings, for cmp.
type flatRef struct {
	Transport      Transport
	Path, Tag      string
	Digest         string
	Name, FullName string
}

func flatten(r Ref) flatRef {
	f := flatRef{Transport: r.Transport, Path: r.Path, Tag: r.Tag, Digest: r.Digest}
	if r.Name != nil {
		f.Name, f.FullName = r.Name.String(), r.Name.Name()
	}
	return f
}

func TestParseRef(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    flatRef
		wantStr string // String(), when not the input
		wantErr string // part of the error, which wraps ErrBadRef
	}{
		{name: "scratch", in: "scratch", want: flatRef{Transport: Scratch}},
		{name: "oci dir", in: "oci:out", want: flatRef{Transport: OCI, Path: "out"}},
		{name: "oci dir tag", in: "oci:/tmp/out:v1.2", want: flatRef{Transport: OCI, Path: "/tmp/out", Tag: "v1.2"}},
		{name: "oci ref name with colon", in: "oci:out:app:v1", want: flatRef{Transport: OCI, Path: "out", Tag: "app:v1"}},
		{name: "oci ref name with slash", in: "oci:out:example.com/app", want: flatRef{Transport: OCI, Path: "out", Tag: "example.com/app"}},
		{name: "oci-archive", in: "oci-archive:img.tar", want: flatRef{Transport: OCIArchive, Path: "img.tar"}},
		{name: "oci-archive tag", in: "oci-archive:img.tar:latest", want: flatRef{Transport: OCIArchive, Path: "img.tar", Tag: "latest"}},
		{name: "docker-archive", in: "docker-archive:img.tar", want: flatRef{Transport: DockerArchive, Path: "img.tar"}},
		{
			name: "docker-archive name tag", in: "docker-archive:img.tar:busybox:1.36",
			want: flatRef{Transport: DockerArchive, Path: "img.tar", Tag: "busybox:1.36", Name: "busybox:1.36", FullName: "index.docker.io/library/busybox:1.36"},
		},
		{
			name: "docker-archive name only", in: "docker-archive:img.tar:example.com/app",
			want: flatRef{Transport: DockerArchive, Path: "img.tar", Tag: "example.com/app", Name: "example.com/app", FullName: "example.com/app:latest"},
		},
		{
			name: "docker transport", in: "docker://busybox:glibc",
			want: flatRef{Transport: Registry, Name: "busybox:glibc", FullName: "index.docker.io/library/busybox:glibc"},
		},
		{
			name: "bare name", in: "busybox",
			want:    flatRef{Transport: Registry, Name: "busybox", FullName: "index.docker.io/library/busybox:latest"},
			wantStr: "docker://busybox",
		},
		{
			name: "bare name with registry", in: "localhost:5000/app:v1",
			want:    flatRef{Transport: Registry, Name: "localhost:5000/app:v1", FullName: "localhost:5000/app:v1"},
			wantStr: "docker://localhost:5000/app:v1",
		},
		{
			name: "docker:TAG is the docker image", in: "docker:dind",
			want:    flatRef{Transport: Registry, Name: "docker:dind", FullName: "index.docker.io/library/docker:dind"},
			wantStr: "docker://docker:dind",
		},
		{
			name: "digest", in: "docker://gcr.io/distroless/static@sha256:" + strings.Repeat("a", 64),
			want: flatRef{
				Transport: Registry,
				Name:      "gcr.io/distroless/static@sha256:" + strings.Repeat("a", 64),
				FullName:  "gcr.io/distroless/static@sha256:" + strings.Repeat("a", 64),
			},
		},
		{name: "tar file", in: "out/app.tar", want: flatRef{Transport: Tarball, Path: "out/app.tar"}},
		{name: "oci digest", in: "oci:out@sha256:" + strings.Repeat("b", 64), want: flatRef{Transport: OCI, Path: "out", Digest: "sha256:" + strings.Repeat("b", 64)}},
		{name: "oci-archive digest", in: "oci-archive:a.tar@sha256:" + strings.Repeat("b", 64), want: flatRef{Transport: OCIArchive, Path: "a.tar", Digest: "sha256:" + strings.Repeat("b", 64)}},
		{name: "tar file digest", in: "a.tar@sha256:" + strings.Repeat("b", 64), want: flatRef{Transport: Tarball, Path: "a.tar", Digest: "sha256:" + strings.Repeat("b", 64)}},
		{name: "oci @ in a path", in: "oci:a@b:t", want: flatRef{Transport: OCI, Path: "a@b", Tag: "t"}},

		{name: "empty", in: "", wantErr: "empty"},
		{name: "oci without path", in: "oci:", wantErr: "needs a path"},
		{name: "oci-archive without path", in: "oci-archive::v1", wantErr: "needs a path"},
		{name: "oci bad ref name", in: "oci:out:-bad", wantErr: "not a valid reference name"},
		{name: "docker-archive digest", in: "docker-archive:a.tar:busybox@sha256:" + strings.Repeat("a", 64), wantErr: "not NAME:TAG"},
		{name: "docker-archive index", in: "docker-archive:a.tar:@0", wantErr: "not NAME:TAG"},
		{name: "docker transport bad name", in: "docker://Busybox", wantErr: "could not parse reference"},
		{name: "unsupported transport", in: "containers-storage:/x", wantErr: "containers-storage: transport is not supported"},
		{name: "dir transport", in: "dir:/tmp/x", wantErr: "dir: transport is not supported"},
		{name: "garbage", in: "a b", wantErr: "accepted forms"},
		{name: "oci tag and digest", in: "oci:out:v1@sha256:" + strings.Repeat("b", 64), wantErr: "not both"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseRef(tc.in)
			if tc.wantErr != "" {
				if !errors.Is(err, ErrBadRef) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseRef(%q) error = %v, want ErrBadRef containing %q", tc.in, err, tc.wantErr)
				}
				if !strings.Contains(err.Error(), "accepted forms: scratch, oci:DIR[:TAG") {
					t.Errorf("error %q does not show the accepted forms", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseRef(%q): %v", tc.in, err)
			}
			if diff := cmp.Diff(tc.want, flatten(got)); diff != "" {
				t.Errorf("ParseRef(%q) mismatch (-want +got):\n%s", tc.in, diff)
			}
			wantStr := tc.wantStr
			if wantStr == "" {
				wantStr = tc.in
			}
			if got.String() != wantStr {
				t.Errorf("String() = %q, want %q", got.String(), wantStr)
			}
			again, err := ParseRef(got.String())
			if err != nil {
				t.Fatalf("ParseRef(String()): %v", err)
			}
			if diff := cmp.Diff(flatten(got), flatten(again)); diff != "" {
				t.Errorf("String() does not round-trip (-first +second):\n%s", diff)
			}
		})
	}
}

// TestSchemes pins go-containerregistry's rule for plain HTTP, which
// WithInsecure extends to every registry.
func TestSchemes(t *testing.T) {
	for in, want := range map[string]string{
		"localhost:5000/a":     "http",
		"127.0.0.1:5000/a":     "http",
		"registry.localhost/a": "http",
		"[::1]:5000/a":         "http",
		"192.168.1.10:5000/a":  "http",
		"localhost/a":          "https", // no port: not local to ggcr
		"example.com/a":        "https",
		"busybox":              "https",
	} {
		n, err := name.ParseReference(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := n.Context().Scheme(); got != want {
			t.Errorf("%s: scheme %s, want %s", in, got, want)
		}
		o, err := makeOptions(WithInsecure())
		if err != nil {
			t.Fatal(err)
		}
		if n, err = o.reference(n); err != nil {
			t.Fatal(err)
		}
		if got := n.Context().Scheme(); got != "http" {
			t.Errorf("%s with WithInsecure: scheme %s, want http", in, got)
		}
	}
}

func TestOptionErrors(t *testing.T) {
	for name, opt := range map[string]Option{
		"nil keychain":  WithKeychain(nil),
		"nil transport": WithTransport(nil),
		"nil progress":  WithProgress(nil),
	} {
		if _, err := makeOptions(opt); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestParseDest(t *testing.T) {
	for _, tc := range []struct {
		in      string
		wantErr string // part of the error, which wraps ErrBadRef; "" for none
	}{
		{"oci:out", ""},
		{"oci-archive:a.tar:v1", ""},
		{"app.tar", ""},
		{"docker://127.0.0.1:5000/app:1", ""},
		{"docker-daemon:app:dev", ""},
		{"out.tgz", "needs a transport"},
		{"some/dir/", "needs a transport"},
		{"127.0.0.1:5000/app:1", "needs a transport"},
		{"scratch", "not a destination"},
		{"oci:out@sha256:" + strings.Repeat("b", 64), "cannot name a digest"},
		{"docker-archive:x.tar:a@sha256:" + strings.Repeat("b", 64), "not NAME:TAG"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			_, err := ParseDest(tc.in)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatal(err)
			case tc.wantErr != "" && (!errors.Is(err, ErrBadRef) || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error = %v, want ErrBadRef containing %q", err, tc.wantErr)
			}
		})
	}
}
