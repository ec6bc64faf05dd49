package transfer

import (
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// TestAttach attaches an artifact to a pushed image, on a registry with the
// referrers API and on one without it (where the sha256-HEX tag must hold it).
func TestAttach(t *testing.T) {
	for _, tc := range []struct {
		name      string
		referrers bool
	}{{"referrers API", true}, {"tag fallback", false}} {
		t.Run(tc.name, func(t *testing.T) {
			s := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0)), registry.WithReferrersSupport(tc.referrers)))
			t.Cleanup(s.Close)
			host := strings.TrimPrefix(s.URL, "http://")
			img := testImage(t, amd64, 5)
			dsts := []Ref{mustParse(t, "docker://"+host+"/app:1"), mustParse(t, "docker://"+host+"/app:2"), mustParse(t, "oci:"+t.TempDir())}
			h, err := Write(bg, img, dsts)
			if err != nil {
				t.Fatal(err)
			}
			subject, err := partial.Descriptor(img)
			if err != nil {
				t.Fatal(err)
			}
			art, err := NewArtifact("application/spdx+json", []byte(`{"spdxVersion":"SPDX-2.3"}`), *subject, map[string]string{"k": "v"})
			if err != nil {
				t.Fatal(err)
			}
			if err := validate.Image(art, validate.Fast); err != nil {
				t.Fatalf("invalid artifact: %v", err)
			}
			ah, err := Attach(bg, art, dsts)
			if err != nil {
				t.Fatal(err)
			}
			refs, err := Referrers(bg, dsts[0], h)
			if err != nil {
				t.Fatal(err)
			}
			if len(refs) != 1 || refs[0].Digest != ah {
				t.Fatalf("referrers of %s: %+v, want one, %s", h, refs, ah)
			}
			// ggcr's test registry reports the config media type as the
			// artifactType; the fallback tag, written by the client, has the
			// manifest's artifactType as the OCI spec says.
			if !tc.referrers && refs[0].ArtifactType != "application/spdx+json" {
				t.Errorf("artifactType %q, want application/spdx+json", refs[0].ArtifactType)
			}
			fallback, err := name.NewTag(host + "/app:sha256-" + h.Hex)
			if err != nil {
				t.Fatal(err)
			}
			_, err = remote.Head(fallback)
			if tc.referrers && err == nil {
				t.Error("a registry with the referrers API got a fallback tag too")
			} else if !tc.referrers && err != nil {
				t.Errorf("no fallback tag %s: %v", fallback, err)
			}
			// The blob is the document.
			got, err := remote.Image(dsts[0].Name.Context().Digest(ah.String()))
			if err != nil {
				t.Fatal(err)
			}
			ls, _ := got.Layers()
			rc, _ := ls[0].Compressed()
			b, _ := io.ReadAll(rc)
			if string(b) != `{"spdxVersion":"SPDX-2.3"}` {
				t.Errorf("the artifact's blob is %q", b)
			}
			var _ v1.Image = got
		})
	}
}
