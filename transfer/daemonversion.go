package transfer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// ErrUnsupported is wrapped when a destination cannot read what it is
// given, such as zstd layers for a Docker daemon older than 23.0.
var ErrUnsupported = errors.New("the destination cannot read this image")

// daemonVersion is what GET /version says of a daemon.
type daemonVersion struct {
	Version    string `json:"Version"`
	APIVersion string `json:"ApiVersion"`
	Components []struct {
		Name    string `json:"Name"`
		Version string `json:"Version"`
	} `json:"Components"`
}

// zstdAPIVersion is the Engine API version of Docker 23.0, the first Docker
// that decompresses zstd layers (moby/moby#41759); Docker 20.10 reads the
// layer as a plain tar and fails with "archive/tar: invalid tar header".
const zstdAPIVersion = "1.42"

// readsZstd reports whether the daemon decompresses zstd layers: Docker from
// API 1.42 (23.0), and podman's Docker-compatible service, whatever API
// version it reports.
func (v daemonVersion) readsZstd() bool {
	for _, c := range v.Components {
		if strings.Contains(c.Name, "Podman") {
			return true
		}
	}
	return !apiBefore(v.APIVersion, zstdAPIVersion)
}

// apiBefore reports whether the Engine API version a (MAJOR.MINOR) is older
// than b. An unreadable a counts as new: then the daemon itself decides.
func apiBefore(a, b string) bool {
	parse := func(s string) (int, int, bool) {
		maj, min, ok := strings.Cut(s, ".")
		x, err1 := strconv.Atoi(maj)
		y, err2 := strconv.Atoi(min)
		return x, y, ok && err1 == nil && err2 == nil
	}
	amaj, amin, ok := parse(a)
	bmaj, bmin, _ := parse(b)
	return ok && (amaj < bmaj || amaj == bmaj && amin < bmin)
}

// checkDaemonReads refuses, before anything is sent, an image with zstd
// layers for a daemon that cannot decompress them.
func checkDaemonReads(ctx context.Context, client *http.Client, host string, img v1.Image) error {
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	zstd := false
	for _, l := range layers {
		if mt, err := l.MediaType(); err == nil && mt == types.OCILayerZStd {
			zstd = true
		}
	}
	if !zstd {
		return nil
	}
	v, err := askVersion(ctx, client, host)
	if err != nil {
		return err
	}
	if v.readsZstd() {
		return nil
	}
	return fmt.Errorf("%w: the Docker daemon at %s is Docker %s (Engine API %s), which cannot decompress zstd layers "+
		"(Docker reads them from 23.0, Engine API %s): write the image with gzip or no compression for it",
		ErrUnsupported, host, v.Version, v.APIVersion, zstdAPIVersion)
}

// askVersion asks the daemon at host for its version.
func askVersion(ctx context.Context, client *http.Client, host string) (daemonVersion, error) {
	var v daemonVersion
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://docker/version", nil)
	if err != nil {
		return v, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return v, fmt.Errorf("%w at %s: %w; is dockerd running, and may this user use its socket? (set DOCKER_HOST for another one)", ErrDaemon, host, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return v, fmt.Errorf("%w at %s: GET /version: %s: %s", ErrDaemon, host, resp.Status, strings.TrimSpace(string(body)))
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&v); err != nil {
		return v, fmt.Errorf("%w at %s: reading GET /version: %w", ErrDaemon, host, err)
	}
	return v, nil
}
