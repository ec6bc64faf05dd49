package transfer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// DefaultDockerHost is where a Docker daemon listens unless told otherwise
// (DOCKER_HOST).
const DefaultDockerHost = "unix:///var/run/docker.sock"

// WithDockerHost sets the Docker daemon that docker-daemon: destinations are
// loaded into, as DOCKER_HOST names it: unix:///PATH (other schemes are
// refused when such a destination is written). The default is
// DefaultDockerHost.
func WithDockerHost(host string) Option {
	return func(o *options) error {
		if host != "" {
			o.dockerHost = host // checked when a docker-daemon: destination is written
		}
		return nil
	}
}

// socketPath returns the socket file of a unix:// DOCKER_HOST.
func socketPath(host string) (string, error) {
	p, ok := strings.CutPrefix(host, "unix://")
	if !ok || p == "" {
		return "", fmt.Errorf("Docker host %q: only a local daemon's unix socket is supported (unix:///var/run/docker.sock); "+
			"for a remote daemon write a docker-archive: file and docker load it there", host)
	}
	return p, nil
}

// ErrDaemon is wrapped when a Docker daemon cannot be reached or refuses an image.
var ErrDaemon = errors.New("docker daemon")

// loadDaemon streams img, named by tags, to the Docker daemon at host as
// the tarball of `docker save`, with a plain HTTP POST /images/load on its
// unix socket: no Docker client library, nothing written to disk.
func loadDaemon(ctx context.Context, img v1.Image, tags []name.Tag, host string) error {
	sock, err := socketPath(host)
	if err != nil {
		return err
	}
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
		DisableCompression: true,
	}}
	defer client.CloseIdleConnections()
	if err := checkDaemonReads(ctx, client, host, img); err != nil {
		return err
	}

	refs := map[name.Reference]v1.Image{}
	for _, t := range tags {
		refs[t] = img
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(tarball.MultiRefWrite(refs, pw)) }()
	defer pr.Close() // stops the writer if the request ends early

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://docker/images/load?quiet=1", pr)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-tar")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%w at %s: %w; is dockerd running, and may this user use its socket? (set DOCKER_HOST for another one)", ErrDaemon, host, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("%w at %s: POST /images/load: %s: %s", ErrDaemon, host, resp.Status, strings.TrimSpace(string(body)))
	}
	return loadResult(resp.Body, tags)
}

// loadMessage is one line of the JSON stream /images/load answers with.
type loadMessage struct {
	Stream      string `json:"stream"`
	Error       string `json:"error"`
	ErrorDetail *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
}

// loadResult reads the daemon's answer: an error message in it is an error,
// and every tag must have been loaded.
func loadResult(r io.Reader, tags []name.Tag) error {
	dec := json.NewDecoder(io.LimitReader(r, 1<<20))
	var loaded strings.Builder
	for {
		var m loadMessage
		err := dec.Decode(&m)
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%w: reading the answer to POST /images/load: %w", ErrDaemon, err)
		}
		if m.Error != "" || m.ErrorDetail != nil {
			msg := m.Error
			if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
				msg = m.ErrorDetail.Message
			}
			return fmt.Errorf("%w refused the image: %s", ErrDaemon, msg)
		}
		loaded.WriteString(m.Stream)
	}
	for _, t := range tags {
		if !strings.Contains(loaded.String(), "Loaded image: "+familiar(t)+"\n") {
			return fmt.Errorf("%w: the daemon did not report loading %s (it said %q)", ErrDaemon, t, strings.TrimSpace(loaded.String()))
		}
	}
	return nil
}

// familiar is t as Docker prints it: docker.io/library/ left out.
func familiar(t name.Tag) string {
	repo := t.RepositoryStr()
	if t.RegistryStr() != name.DefaultRegistry {
		repo = t.RegistryStr() + "/" + repo
	} else {
		repo = strings.TrimPrefix(repo, "library/")
	}
	return repo + ":" + t.TagStr()
}
