package transfer

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestWithTags(t *testing.T) {
	for _, tc := range []struct {
		name    string
		dsts    []string
		tags    []string
		want    []string
		wantErr error
	}{
		{name: "no tags", dsts: []string{"oci:out"}, want: []string{"oci:out"}},
		{
			name: "registry", dsts: []string{"docker://127.0.0.1:5000/app:1.0"}, tags: []string{"latest", "1"},
			want: []string{"docker://127.0.0.1:5000/app:1.0", "docker://127.0.0.1:5000/app:latest", "docker://127.0.0.1:5000/app:1"},
		},
		{
			name: "repeated tag kept once", dsts: []string{"docker://127.0.0.1:5000/app:1.0"}, tags: []string{"1.0", "1.0", "x"},
			want: []string{"docker://127.0.0.1:5000/app:1.0", "docker://127.0.0.1:5000/app:x"},
		},
		{
			name: "digest destination", dsts: []string{"docker://example.com/app@sha256:" + sixtyFour}, tags: []string{"v2"},
			want: []string{"docker://example.com/app@sha256:" + sixtyFour, "docker://example.com/app:v2"},
		},
		{
			name: "daemon and local", dsts: []string{"docker-daemon:hello", "oci:out"}, tags: []string{"v1"},
			want: []string{"docker-daemon:hello:latest", "oci:out", "docker-daemon:hello:v1"},
		},
		{name: "only local", dsts: []string{"oci:out", "x.tar"}, tags: []string{"v1"}, wantErr: ErrBadRef},
		{name: "bad tag", dsts: []string{"docker://example.com/app"}, tags: []string{"-nope"}, wantErr: ErrBadRef},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var dsts []Ref
			for _, d := range tc.dsts {
				dsts = append(dsts, mustParse(t, d))
			}
			got, err := WithTags(dsts, tc.tags)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			var gotS []string
			for _, g := range got {
				gotS = append(gotS, g.String())
			}
			if diff := cmp.Diff(tc.want, gotS); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestWithTagsNames(t *testing.T) {
	// name gives each destination's name: the Name of a FILE.tar or
	// docker-archive:, the Tag of an oci-archive:.
	name := func(r Ref) string {
		if r.Transport == OCIArchive || r.Name == nil {
			return r.Transport.String() + ":" + r.Path + " " + r.Tag
		}
		return r.Transport.String() + ":" + r.Path + " " + r.Name.String()
	}
	for _, tc := range []struct {
		name    string
		dsts    []string
		tags    []string
		want    []string
		wantErr error
	}{
		{name: "tarball", dsts: []string{"app.tar"}, tags: []string{"repo/app:1"}, want: []string{"tar:app.tar repo/app:1"}},
		{name: "latest written out", dsts: []string{"app.tar"}, tags: []string{"repo/app"}, want: []string{"tar:app.tar repo/app:latest"}},
		{
			name: "two names", dsts: []string{"app.tar"}, tags: []string{"repo/app:1", "repo/app:latest"},
			want: []string{"tar:app.tar repo/app:1", "tar:app.tar repo/app:latest"},
		},
		{
			name: "docker-archive named already", dsts: []string{"docker-archive:x.tar:a/b:1"}, tags: []string{"repo/app:1"},
			want: []string{"docker-archive:x.tar a/b:1", "docker-archive:x.tar repo/app:1"},
		},
		{name: "oci-archive", dsts: []string{"oci-archive:x.tar"}, tags: []string{"repo/app:1"}, want: []string{"oci-archive:x.tar repo/app:1"}},
		{
			name: "tags and names", dsts: []string{"docker://127.0.0.1:5000/app:1", "app.tar"}, tags: []string{"2", "repo/app:2"},
			want: []string{"docker: 127.0.0.1:5000/app:1", "tar:app.tar repo/app:2", "docker: 127.0.0.1:5000/app:2"},
		},
		{name: "a tag alone for a file", dsts: []string{"app.tar"}, tags: []string{"1"}, wantErr: ErrBadRef},
		{name: "a name for a push", dsts: []string{"docker://127.0.0.1:5000/app:1"}, tags: []string{"repo/app:1"}, wantErr: ErrBadRef},
		{name: "a name for a layout", dsts: []string{"oci:out"}, tags: []string{"repo/app:1"}, wantErr: ErrBadRef},
		{name: "bad name", dsts: []string{"app.tar"}, tags: []string{"Repo/App:1"}, wantErr: ErrBadRef},
		{name: "digest", dsts: []string{"app.tar"}, tags: []string{"repo/app@sha256:" + sixtyFour}, wantErr: ErrBadRef},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var dsts []Ref
			for _, d := range tc.dsts {
				dsts = append(dsts, mustParse(t, d))
			}
			got, err := WithTags(dsts, tc.tags)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			var gotS []string
			for _, g := range got {
				gotS = append(gotS, name(g))
			}
			if diff := cmp.Diff(tc.want, gotS); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

const sixtyFour = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestParseDaemonRef(t *testing.T) {
	for in, want := range map[string]string{
		"docker-daemon:hello":                   "docker-daemon:hello:latest",
		"docker-daemon:hello:1.0":               "docker-daemon:hello:1.0",
		"docker-daemon:127.0.0.1:5000/a/b:v1":   "docker-daemon:127.0.0.1:5000/a/b:v1",
		"docker-daemon:docker.io/library/x:1.2": "docker-daemon:docker.io/library/x:1.2",
	} {
		r := mustParse(t, in)
		if r.Transport != DockerDaemon || r.String() != want {
			t.Errorf("ParseRef(%q) = %v %q, want docker-daemon %q", in, r.Transport, r, want)
		}
	}
	for _, in := range []string{"docker-daemon:", "docker-daemon:app@sha256:" + sixtyFour, "docker-daemon:UPPER:1"} {
		if _, err := ParseRef(in); !errors.Is(err, ErrBadRef) {
			t.Errorf("ParseRef(%q): %v, want ErrBadRef", in, err)
		}
	}
}
