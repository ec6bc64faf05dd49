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

// WithTags returns dsts followed by each docker:// and docker-daemon:
// destination of dsts under each of tags (skipping ones already there). It
// fails if tags are given but no destination can take them.
func WithTags(dsts []Ref, tags []string) ([]Ref, error) {
	if len(tags) == 0 {
		return dsts, nil
	}
	out := append([]Ref(nil), dsts...)
	seen := map[string]bool{}
	for _, d := range dsts {
		seen[d.String()] = true
	}
	taggable := false
	for _, d := range dsts {
		if d.Transport != Registry && d.Transport != DockerDaemon {
			continue
		}
		taggable = true
		for _, tag := range tags {
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
	if !taggable {
		return nil, fmt.Errorf("%w: tags %q need a docker:// or docker-daemon: destination to apply to", ErrBadRef, tags)
	}
	return out, nil
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
