package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// SaveDaemonImage saves the image ref names (docker-daemon:NAME[:TAG]) from
// the Docker daemon (WithDockerHost) as `docker save` does, with a plain
// HTTP GET /images/NAME/get on its unix socket, into a docker archive in
// dir, and returns the archive's location (docker-archive:FILE, its one
// image). Load reads it with every blob verified, as any archive.
func SaveDaemonImage(ctx context.Context, ref Ref, dir string, opts ...Option) (Ref, error) {
	o, err := makeOptions(opts...)
	if err != nil {
		return Ref{}, err
	}
	tag, ok := ref.Name.(name.Tag)
	if ref.Transport != DockerDaemon || !ok {
		return Ref{}, fmt.Errorf("%w %s: not a docker-daemon:NAME[:TAG] image", ErrBadRef, ref)
	}
	sock, err := socketPath(o.dockerHost)
	if err != nil {
		return Ref{}, err
	}
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
		DisableCompression: true,
	}}
	defer client.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://docker/images/"+familiar(tag)+"/get", nil)
	if err != nil {
		return Ref{}, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return Ref{}, fmt.Errorf("%w at %s: %w; is dockerd running, and may this user use its socket? (set DOCKER_HOST for another one)", ErrDaemon, o.dockerHost, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return Ref{}, fmt.Errorf("%w at %s has no image %s", ErrDaemon, o.dockerHost, familiar(tag))
	case resp.StatusCode != http.StatusOK:
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return Ref{}, fmt.Errorf("%w at %s: GET /images/%s/get: %s: %s", ErrDaemon, o.dockerHost, familiar(tag), resp.Status, strings.TrimSpace(string(body)))
	}
	file := filepath.Join(dir, "docker-save.tar")
	if err := saveBody(file, resp.Body); err != nil {
		return Ref{}, fmt.Errorf("%w: saving %s from %s: %w", ErrDaemon, familiar(tag), o.dockerHost, err)
	}
	return Ref{Transport: DockerArchive, Path: file}, nil
}

// saveBody writes r to the new file, keeping its Close error.
func saveBody(file string, r io.Reader) (err error) {
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, f.Close()) }()
	_, err = io.Copy(f, r)
	return err
}
