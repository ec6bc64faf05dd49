package transfer

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/scratchpack/scratchpack/layercache"
)

// Transport says how an image location is reached.
type Transport int

// The transports, named as skopeo and podman name them.
const (
	Scratch       Transport = iota + 1 // "scratch": the empty base
	OCI                                // "oci:DIR[:TAG]": an OCI image layout directory
	OCIArchive                         // "oci-archive:FILE[:TAG]": a tar of an OCI image layout
	DockerArchive                      // "docker-archive:FILE[:NAME:TAG]": a `docker save` tar
	Registry                           // "docker://REF" or a bare "NAME[:TAG|@DIGEST]"
	Tarball                            // "FILE.tar": an OCI archive that `docker load` also accepts
	DockerDaemon                       // "docker-daemon:NAME[:TAG]": loaded into a Docker daemon (destination only)
)

var transportNames = map[Transport]string{
	Scratch:       "scratch",
	OCI:           "oci",
	OCIArchive:    "oci-archive",
	DockerArchive: "docker-archive",
	Registry:      "docker",
	Tarball:       "tar",
	DockerDaemon:  "docker-daemon",
}

func (t Transport) String() string {
	if s, ok := transportNames[t]; ok {
		return s
	}
	return fmt.Sprintf("Transport(%d)", int(t))
}

// ErrBadRef is wrapped by every error of ParseRef.
var ErrBadRef = errors.New("invalid image location")

const refForms = "accepted forms: scratch, oci:DIR[:TAG|@DIGEST], oci-archive:FILE[:TAG|@DIGEST], " +
	"docker-archive:FILE[:NAME:TAG], docker://NAME[:TAG|@DIGEST], docker-daemon:NAME[:TAG], FILE.tar[@DIGEST], NAME[:TAG|@DIGEST]"

// refName is the grammar of org.opencontainers.image.ref.name (image-spec annotations.md).
var refName = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*(?:/[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*)*$`)
})

// unsupported are skopeo transports scratchpack does not speak.
var unsupported = []string{"dir", "containers-storage", "ostree", "sif", "tarball"}

// Ref is a parsed image location.
type Ref struct {
	Transport Transport
	// Path is the directory (OCI) or file (OCIArchive, DockerArchive, Tarball).
	Path string
	// Tag is the reference name inside a layout or archive: the
	// org.opencontainers.image.ref.name annotation for OCI, OCIArchive and
	// Tarball, and "NAME:TAG" as written for DockerArchive.
	Tag string
	// Digest picks an image in a layout or archive by its manifest's
	// digest ("oci:DIR@sha256:..."), where there is no Tag.
	Digest string
	// Name is the image name for Registry, and a name.Tag for DockerArchive,
	// DockerDaemon and Tarball (ParseRef never sets it for Tarball; callers
	// may, to record the name `docker load` gives the image).
	Name name.Reference
}

// ParseRef parses an image location in skopeo's transport syntax: "scratch",
// "oci:DIR[:TAG]", "oci-archive:FILE[:TAG]", "docker-archive:FILE[:NAME:TAG]",
// "docker://REF", "docker-daemon:NAME[:TAG]", a "FILE.tar" without a prefix, or a bare
// "NAME[:TAG|@DIGEST]" meaning a registry image. As in skopeo, a local path
// ends at the first colon.
func ParseRef(s string) (Ref, error) {
	bad := func(format string, args ...any) (Ref, error) {
		return Ref{}, fmt.Errorf("%w %q: %s; %s", ErrBadRef, s, fmt.Sprintf(format, args...), refForms)
	}
	if s == "" {
		return bad("empty")
	}
	if s == "scratch" {
		return Ref{Transport: Scratch}, nil
	}
	if rest, ok := strings.CutPrefix(s, "docker://"); ok {
		n, err := name.ParseReference(rest)
		if err != nil {
			return bad("%v", err)
		}
		return Ref{Transport: Registry, Name: n}, nil
	}
	if rest, ok := strings.CutPrefix(s, DockerDaemon.String()+":"); ok {
		t, err := daemonTag(rest)
		if err != nil {
			return bad("%v", err)
		}
		return Ref{Transport: DockerDaemon, Name: t}, nil
	}
	for _, t := range []Transport{OCI, OCIArchive, DockerArchive} {
		rest, ok := strings.CutPrefix(s, t.String()+":")
		if !ok {
			continue
		}
		r := Ref{Transport: t}
		if t != DockerArchive {
			rest, r.Digest = cutDigest(rest)
		}
		path, tag, _ := strings.Cut(rest, ":")
		if path == "" {
			return bad("%s: needs a path", t)
		}
		r.Path, r.Tag = path, tag
		switch {
		case tag != "" && r.Digest != "":
			return bad("name an image by :TAG or by @DIGEST, not both")
		case tag == "":
		case t == DockerArchive:
			n, err := name.NewTag(tag)
			if err != nil {
				return bad("%q is not NAME:TAG (digests and @N are not supported): %v", tag, err)
			}
			r.Name = n
		case !refName().MatchString(tag):
			return bad("%q is not a valid reference name (letters, digits, and . _ - : @ + / between them)", tag)
		}
		return r, nil
	}
	if path, digest := cutDigest(s); strings.HasSuffix(path, ".tar") && !strings.Contains(path, "://") {
		return Ref{Transport: Tarball, Path: path, Digest: digest}, nil
	}
	if t, _, ok := strings.Cut(s, ":"); ok && contains(unsupported, t) {
		return bad("the %s: transport is not supported", t)
	}
	n, err := name.ParseReference(s)
	if err != nil {
		return bad("%v", err)
	}
	return Ref{Transport: Registry, Name: n}, nil
}

// cutDigest takes a trailing "@sha256:HEX" off a layout or archive location.
func cutDigest(s string) (rest, digest string) {
	i := strings.LastIndex(s, "@sha256:")
	if i < 0 {
		return s, ""
	}
	if _, err := v1.NewHash(s[i+1:]); err != nil {
		return s, ""
	}
	return s[:i], s[i+1:]
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// String returns r in the syntax ParseRef reads; a Registry ref is always
// written with its docker:// prefix.
func (r Ref) String() string {
	switch r.Transport {
	case Scratch:
		return "scratch"
	case Registry:
		if r.Name == nil {
			return "docker://"
		}
		return "docker://" + r.Name.String()
	case Tarball:
		if r.Digest != "" {
			return r.Path + "@" + r.Digest
		}
		return r.Path
	case DockerDaemon:
		if r.Name == nil {
			return "docker-daemon:"
		}
		return "docker-daemon:" + r.Name.String()
	case OCI, OCIArchive, DockerArchive:
		s := r.Transport.String() + ":" + r.Path
		if r.Digest != "" {
			s += "@" + r.Digest
		} else if r.Tag != "" {
			s += ":" + r.Tag
		} else if r.Transport == DockerArchive && r.Name != nil {
			s += ":" + r.Name.String()
		}
		return s
	}
	return fmt.Sprintf("%v:%s", r.Transport, r.Path)
}

// Option configures how images are read and written: LoadBase, Load,
// List, Write, WriteAll, Copy, Attach.
type Option func(*options) error

type options struct {
	keychain   authn.Keychain
	transport  http.RoundTripper
	insecure   bool
	progress   chan<- v1.Update
	dockerHost string
	retry      remote.Backoff
	jobs       int           // parallel uploads; 0 means remote's default
	force      bool          // replace regular files that are not image archives
	maxUnpack  int64         // bytes one layer may unpack to
	timeout    time.Duration // how long a registry may keep us waiting
	// retryAfterCap bounds Retry-After waits (0: maxRetryAfterTotal).
	retryAfterCap time.Duration
	stats         *registryStats
	certDirs      []string          // certs.d directories (WithCertDirs)
	certDir       string            // one directory for every registry (WithCertDir)
	mounts        *Mounts           // layers pushed, to mount (WithMounts)
	pings         *Pings            // registries' answers to pings, shared (WithPings); nil: none kept
	chosen        func(v1.Image)    // told of a registry's image before its config is read (LoadBaseFS)
	ahead         *layercache.Ahead // base blobs copied ahead to local outputs (WithAhead)
}

func makeOptions(opts ...Option) (*options, error) {
	o := &options{keychain: authn.DefaultKeychain, dockerHost: DefaultDockerHost,
		retry: DefaultRetryBackoff, maxUnpack: DefaultMaxUnpack, timeout: DefaultTimeout, stats: &registryStats{},
		certDirs: DefaultCertDirs, mounts: NewMounts()}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// WithJobs sets how many blobs are uploaded at once when pushing; the
// default is go-containerregistry's (4). Before uploading a blob, Write asks
// the registry whether it has it (HEAD) and skips it if so.
func WithJobs(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("WithJobs(%d): want at least 1", n)
		}
		o.jobs = n
		return nil
	}
}

// WithKeychain sets where registry credentials come from; the default is
// authn.DefaultKeychain (~/.docker/config.json, $DOCKER_CONFIG, credential helpers).
func WithKeychain(k authn.Keychain) Option {
	return func(o *options) error {
		if k == nil {
			return errors.New("WithKeychain: nil keychain")
		}
		o.keychain = k
		return nil
	}
}

// WithTransport sets the HTTP transport used to talk to registries.
func WithTransport(t http.RoundTripper) Option {
	return func(o *options) error {
		if t == nil {
			return errors.New("WithTransport: nil transport")
		}
		o.transport = t
		return nil
	}
}

// WithInsecure declares registries insecure, as crane's --insecure and
// skopeo's --tls-verify=false do: HTTPS is tried first, without verifying
// the registry's certificate, then plain HTTP. Without it, as in
// go-containerregistry's name package, only localhost, *.localhost,
// 127.0.0.1, ::1 and RFC 1918 addresses may use plain HTTP, and every
// certificate is verified (against the system's CAs and those of the
// registry's certificate directory, see DefaultCertDirs).
func WithInsecure() Option {
	return func(o *options) error {
		o.insecure = true
		return nil
	}
}

// WithProgress sends registry upload progress to ch. Write and WriteIndex
// close ch when they return, as go-containerregistry's remote.WithProgress does.
func WithProgress(ch chan<- v1.Update) Option {
	return func(o *options) error {
		if ch == nil {
			return errors.New("WithProgress: nil channel")
		}
		o.progress = ch
		return nil
	}
}

// reference returns n, marked insecure if WithInsecure was given.
func (o *options) reference(n name.Reference) (name.Reference, error) {
	if n == nil {
		return nil, fmt.Errorf("%w: registry location without a name", ErrBadRef)
	}
	if !o.insecure {
		return n, nil
	}
	return name.ParseReference(n.String(), name.Insecure)
}

func (o *options) remote(ctx context.Context, reg name.Registry) []remote.Option {
	opts := []remote.Option{
		remote.WithAuthFromKeychain(o.keychain),
		remote.WithTransport(o.registryTransport(reg)),
		remote.WithContext(ctx),
		remote.WithRetryBackoff(o.retry),
		remote.WithRetryStatusCodes(retryStatusCodes...),
	}
	if o.jobs > 0 {
		opts = append(opts, remote.WithJobs(o.jobs))
	}
	return opts
}

// ErrUnauthorized is wrapped when a registry refuses access with the
// credentials it was given, or without any.
var ErrUnauthorized = errors.New("registry denied access")

// ErrNotFound is wrapped when the named image is not in the registry, layout
// or archive.
var ErrNotFound = errors.New("image not found")

// registryError explains the registry failures users can act on. A refusal
// says which registry and which credentials were tried (the user name, never
// the secret).
func (o *options) registryError(n name.Reference, err error) error {
	return o.explain(n, err, false)
}

// pushError is registryError for a push (or a tag, or an artifact
// written): a refusal without credentials says that pushing needs them.
func (o *options) pushError(n name.Reference, err error) error {
	return o.explain(n, err, true)
}

func (o *options) explain(n name.Reference, err error, push bool) error {
	if err == nil {
		return nil
	}
	reg := n.Context().RegistryStr()
	// Before the registry's answers: reaching a registry that is declared
	// insecure, or on localhost, tries plain HTTP after HTTPS failed, and
	// an HTTPS registry answers that with 400.
	if cerr := o.certificateError(n.Context().Registry, err); cerr != nil {
		return cerr
	}
	var te *transport.Error
	if !errors.As(err, &te) {
		if dropped(err) {
			return fmt.Errorf("%w; the connection to %s kept dropping (%s): try again later", err, reg, o.stats.describe(o.waitCap()))
		}
		return err
	}
	switch {
	case te.StatusCode == http.StatusTooManyRequests || te.StatusCode >= 500:
		return fmt.Errorf("%w; %s kept failing (%s): try again later", err, reg, o.stats.describe(o.waitCap()))
	case te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden ||
		hasCode(te, transport.UnauthorizedErrorCode, transport.DeniedErrorCode):
		return fmt.Errorf("%w: %s: %w; %s", ErrUnauthorized, reg, err, o.credentialSource(n.Context().Registry, push))
	case te.StatusCode == http.StatusNotFound ||
		hasCode(te, transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode):
		return fmt.Errorf("%w: %s: %w; check the name and tag", ErrNotFound, n, err)
	}
	return err
}

func hasCode(te *transport.Error, codes ...transport.ErrorCode) bool {
	for _, d := range te.Errors {
		for _, c := range codes {
			if d.Code == c {
				return true
			}
		}
	}
	return false
}
