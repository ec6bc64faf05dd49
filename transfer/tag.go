package transfer

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
)

// tagPattern is the distribution spec's grammar of a tag.
var tagPattern = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)
})

// WithTag returns r with its tag replaced by tag: the same repository in the
// same registry (Registry) or daemon (DockerDaemon). Other transports name
// one image per location and cannot be given more tags.
func (r Ref) WithTag(tag string) (Ref, error) {
	if r.Name == nil || (r.Transport != Registry && r.Transport != DockerDaemon) {
		return Ref{}, fmt.Errorf("%w: %s: only docker:// and docker-daemon: destinations take more tags", ErrBadRef, r)
	}
	t, err := name.NewTag(repoString(r.Name) + ":" + tag)
	if err == nil && !tagPattern().MatchString(tag) {
		err = errors.New("not a tag")
	}
	if err != nil {
		return Ref{}, fmt.Errorf("%w: tag %q: %v (tags are letters, digits, _ . and -, at most 128, not starting with . or -)", ErrBadRef, tag, err)
	}
	if r.Transport == DockerDaemon {
		if t, err = daemonTag(t.String()); err != nil {
			return Ref{}, err
		}
	}
	r.Name = t
	return r, nil
}

// WithTags returns dsts with tags applied: a TAG (letters, digits, _ . -)
// tags each docker:// and docker-daemon: destination, added after dsts
// (skipping ones already there); a NAME:TAG (a value with a colon or a
// slash) names each FILE.tar, docker-archive: and oci-archive:
// destination, as `docker save` and `docker load` name images: the first
// fills in a file destination that has no name of its own, the others add
// names to it. A FILE.tar or docker-archive: gets NAME:TAG as the
// manifest.json RepoTags, an oci-archive: as its
// org.opencontainers.image.ref.name. It fails if a tag or name is given
// but no destination can take it.
func WithTags(dsts []Ref, tags []string) ([]Ref, error) {
	if len(tags) == 0 {
		return dsts, nil
	}
	out := append([]Ref(nil), dsts...)
	seen := map[string]bool{}
	for _, d := range dsts {
		seen[d.String()] = true
	}
	var plain, names []string
	for _, tag := range tags {
		if strings.ContainsAny(tag, ":/") {
			names = append(names, tag)
		} else {
			plain = append(plain, tag)
		}
	}
	taggable := false
	for _, d := range dsts {
		if d.Transport != Registry && d.Transport != DockerDaemon {
			continue
		}
		taggable = true
		for _, tag := range plain {
			t, err := d.WithTag(tag)
			if err != nil {
				return nil, err
			}
			if !seen[t.String()] {
				seen[t.String()] = true
				out = append(out, t)
			}
		}
	}
	if len(plain) > 0 && !taggable {
		return nil, fmt.Errorf("%w: tags %q need a docker:// or docker-daemon: destination to apply to "+
			"(a FILE.tar, docker-archive: or oci-archive: destination is named by NAME:TAG, e.g. repo/app:1)", ErrBadRef, plain)
	}
	if len(names) == 0 {
		return out, nil
	}
	return withNames(out, names)
}

// withNames applies the NAME:TAG names of WithTags to the archive
// destinations of dsts.
func withNames(dsts []Ref, names []string) ([]Ref, error) {
	tags := make([]name.Tag, len(names))
	for i, n := range names {
		t, err := name.NewTag(n)
		if err == nil && !strings.HasSuffix(n, ":"+t.TagStr()) {
			t, err = name.NewTag(n + ":" + t.TagStr()) // written out: docker load needs it
		}
		if err != nil || strings.Contains(n, "@") {
			return nil, fmt.Errorf("%w: %q is not NAME[:TAG] (lowercase repository, a tag of letters, digits, _ . and -; no digest)", ErrBadRef, n)
		}
		tags[i] = t
	}
	out := append([]Ref(nil), dsts...)
	named := false
	for i, d := range dsts {
		if d.Transport != Tarball && d.Transport != DockerArchive && d.Transport != OCIArchive {
			continue
		}
		if d.Digest != "" {
			return nil, fmt.Errorf("%w: %s names an image by digest and cannot be named %s", ErrBadRef, d, names[0])
		}
		named = true
		for j, t := range tags {
			r := d
			if r.Transport == OCIArchive {
				r.Tag = names[j]
			} else {
				r.Name = t
			}
			if j == 0 && !hasName(d) {
				out[i] = r // the file's own name
				continue
			}
			if !containsRef(out, r) {
				out = append(out, r)
			}
		}
	}
	if !named {
		return nil, fmt.Errorf("%w: names %q need a FILE.tar, docker-archive: or oci-archive: destination to apply to "+
			"(docker:// and docker-daemon: destinations are tagged by TAG alone)", ErrBadRef, names)
	}
	return out, nil
}

// hasName says whether a file destination names its image itself.
func hasName(r Ref) bool {
	if r.Transport == OCIArchive {
		return r.Tag != ""
	}
	return r.Name != nil
}

// containsRef says whether refs has r: the same location under the same name.
func containsRef(refs []Ref, r Ref) bool {
	for _, x := range refs {
		if x.Transport == r.Transport && x.Path == r.Path && x.Tag == r.Tag && x.Digest == r.Digest &&
			(x.Name == nil) == (r.Name == nil) && (x.Name == nil || x.Name.String() == r.Name.String()) {
			return true
		}
	}
	return false
}

// daemonTag parses the NAME[:TAG] of a docker-daemon: location; the tag is
// always written out (docker load needs it), and digests are refused (a
// daemon names images by tag).
func daemonTag(s string) (name.Tag, error) {
	t, err := name.NewTag(s)
	if err != nil {
		return name.Tag{}, fmt.Errorf("%q is not NAME[:TAG] (a daemon names images by tag, not by digest): %v", s, err)
	}
	if !strings.HasSuffix(s, ":"+t.TagStr()) {
		return name.NewTag(s + ":" + t.TagStr())
	}
	return t, nil
}

// repoString is the repository of n as it was written: without its tag or
// digest, and without the registry and library/ that ggcr fills in.
func repoString(n name.Reference) string {
	s := n.String()
	if i := strings.LastIndex(s, "@"); i >= 0 {
		return s[:i]
	}
	if t, ok := n.(name.Tag); ok {
		return strings.TrimSuffix(s, ":"+t.TagStr())
	}
	return s
}
