package packer

import (
	"io/fs"
	"testing"

	"github.com/scratchpack/scratchpack/internal/testenv"
	"github.com/scratchpack/scratchpack/transfer"

	"github.com/google/go-cmp/cmp"
)

// TestHomeDirectories: an image whose /etc/passwd scratchpack writes has
// the home directories it names, owned by their users, mode 0700, as
// distroless has them; without the user database, there are none.
func TestHomeDirectories(t *testing.T) {
	type home struct {
		Mode     fs.FileMode
		UID, GID int
	}
	rootHome, nonrootHome := home{0o700, 0, 0}, home{0o700, 65532, 65532}
	for _, tc := range []struct {
		name string
		spec func(*Spec)
		want map[string]home
	}{
		{"default", func(*Spec) {}, map[string]home{"/root": rootHome, "/home/nonroot": nonrootHome}},
		{"--user nonroot", func(s *Spec) { s.Config.User = "nonroot" }, map[string]home{"/root": rootHome, "/home/nonroot": nonrootHome}},
		{"--user nonroot --no-runtime-extras", func(s *Spec) { s.Config.User = "nonroot"; s.Runtime.NoExtras = true }, map[string]home{"/root": rootHome, "/home/nonroot": nonrootHome}},
		{"--no-runtime-extras", func(s *Spec) { s.Runtime.NoExtras = true }, map[string]home{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := Spec{Program: testenv.Fixture(t, "hello-c"), WorkDir: t.TempDir()}
			tc.spec(&spec)
			res, err := Build(bg, spec)
			if err != nil {
				t.Fatal(err)
			}
			files, err := transfer.ListImage(bg, res.Image)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]home{}
			for _, f := range files {
				if f.Path == "/root" || f.Path == "/home/nonroot" {
					got[f.Path] = home{f.Mode, f.UID, f.GID}
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("home directories (-want +got):\n%s", diff)
			}
		})
	}
}
