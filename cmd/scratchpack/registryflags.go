package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/scratchpack/scratchpack/transfer"
)

// registryFlags are the flags of every command that reaches registries:
// TLS as skopeo and podman spell it (crane's --insecure kept as the same
// thing), and where credentials come from.
func registryFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "tls-verify", Value: true,
			Usage: "verify registries' certificates and require HTTPS; --tls-verify=false skips verification and allows plain HTTP (skopeo's)"},
		&cli.BoolFlag{Name: "insecure", Usage: "the same as --tls-verify=false (crane's --insecure)"},
		&cli.StringFlag{Name: "cert-dir", Usage: "use the certificates in `DIR` (*.crt CAs, *.cert and *.key client certificates) for every registry, " +
			"instead of ~/.config/containers/certs.d/HOST[:PORT], /etc/containers/certs.d/HOST[:PORT] or /etc/docker/certs.d/HOST[:PORT]"},
		&cli.StringFlag{Name: "authfile", Usage: "read registry credentials from `FILE` only (default: $REGISTRY_AUTH_FILE or " +
			"$XDG_RUNTIME_DIR/containers/auth.json, then ~/.config/containers/auth.json, then ~/.docker/config.json, the first with an entry for the registry)"},
	}
}

// registryOptions are the transfer options of registryFlags, with the
// environment that says where credentials and certificates are.
func registryOptions(c *cli.Context) ([]transfer.Option, error) {
	var opts []transfer.Option
	switch {
	case c.Bool("insecure") && c.IsSet("tls-verify") && c.Bool("tls-verify"):
		return nil, errors.New("--insecure and --tls-verify=true contradict each other: give one")
	case c.Bool("insecure") || !c.Bool("tls-verify"):
		opts = append(opts, transfer.WithInsecure())
	}
	home, _ := os.UserHomeDir()
	dirs := transfer.DefaultCertDirs
	if home != "" {
		// podman and skopeo look in the user's own directory first.
		dirs = append([]string{filepath.Join(home, ".config", "containers", "certs.d")}, dirs...)
	}
	opts = append(opts, transfer.WithCertDirs(dirs...))
	if d := c.String("cert-dir"); d != "" {
		if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("--cert-dir %s: not a directory", d)
		}
		opts = append(opts, transfer.WithCertDir(d))
	}
	env := transfer.AuthEnv{
		AuthFile:         c.String("authfile"),
		RegistryAuthFile: os.Getenv("REGISTRY_AUTH_FILE"),
		XDGRuntimeDir:    os.Getenv("XDG_RUNTIME_DIR"),
		XDGConfigHome:    os.Getenv("XDG_CONFIG_HOME"),
		DockerConfig:     os.Getenv("DOCKER_CONFIG"),
		Home:             home,
		UID:              os.Getuid(),
	}
	if env.AuthFile != "" {
		if fi, err := os.Stat(env.AuthFile); err != nil || fi.IsDir() {
			return nil, fmt.Errorf("--authfile %s: not a file", env.AuthFile)
		}
	}
	return append(opts, transfer.WithAuthFiles(transfer.AuthFiles(env)...)), nil
}
