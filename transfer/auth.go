package transfer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/types"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// AuthEnv is what decides where registry credentials are read from: the
// environment, which the caller reads.
type AuthEnv struct {
	// AuthFile is a file named by the user (skopeo's and podman's
	// --authfile): when set, the only file read.
	AuthFile string
	// RegistryAuthFile is $REGISTRY_AUTH_FILE: podman's file, read in
	// place of the one under XDGRuntimeDir.
	RegistryAuthFile string
	XDGRuntimeDir    string // $XDG_RUNTIME_DIR
	XDGConfigHome    string // $XDG_CONFIG_HOME
	DockerConfig     string // $DOCKER_CONFIG
	Home             string // the user's home directory
	UID              int    // the user's id, for /run/containers/UID
}

// AuthFiles returns the files that registry credentials are read from, in
// the order podman and skopeo read them (containers-auth.json(5)), Docker's
// last:
//
//  1. $REGISTRY_AUTH_FILE, else $XDG_RUNTIME_DIR/containers/auth.json,
//     else /run/containers/UID/auth.json;
//  2. $XDG_CONFIG_HOME/containers/auth.json (~/.config/containers/auth.json);
//  3. $DOCKER_CONFIG/config.json, else ~/.docker/config.json.
//
// For each registry the first file with an entry for it (or a credential
// helper it names) gives the credentials. A file the user names (AuthFile)
// is the only one.
func AuthFiles(e AuthEnv) []string {
	if e.AuthFile != "" {
		return []string{e.AuthFile}
	}
	var files []string
	switch {
	case e.RegistryAuthFile != "":
		files = append(files, e.RegistryAuthFile)
	case e.XDGRuntimeDir != "":
		files = append(files, filepath.Join(e.XDGRuntimeDir, "containers", "auth.json"))
	default:
		files = append(files, fmt.Sprintf("/run/containers/%d/auth.json", e.UID))
	}
	switch {
	case e.XDGConfigHome != "":
		files = append(files, filepath.Join(e.XDGConfigHome, "containers", "auth.json"))
	case e.Home != "":
		files = append(files, filepath.Join(e.Home, ".config", "containers", "auth.json"))
	}
	switch {
	case e.DockerConfig != "":
		files = append(files, filepath.Join(e.DockerConfig, "config.json"))
	case e.Home != "":
		files = append(files, filepath.Join(e.Home, ".docker", "config.json"))
	}
	return files
}

// WithAuthFiles reads registry credentials from files (see AuthFiles), in
// place of go-containerregistry's default keychain, which reads podman's
// files only when Docker's does not exist. For each registry the first file
// with an entry for it gives the credentials; a file that does not exist is
// skipped, one that cannot be read or parsed is an error. Entries, as in
// Docker's config.json, hold "auth" (or "username" and "password") or an
// identity token, or name a credential helper (credHelpers, credsStore).
func WithAuthFiles(files ...string) Option {
	return func(o *options) error {
		o.keychain = &authFiles{files: append([]string(nil), files...)}
		return nil
	}
}

// authFiles is the keychain of WithAuthFiles.
type authFiles struct {
	files []string
}

// Resolve implements authn.Keychain.
func (k *authFiles) Resolve(target authn.Resource) (authn.Authenticator, error) {
	a, _, err := k.resolve(target)
	return a, err
}

// resolve returns the credentials for target and the file they come from
// ("" for none).
func (k *authFiles) resolve(target authn.Resource) (authn.Authenticator, string, error) {
	for _, file := range k.files {
		cfg, err := lookupAuth(file, target)
		if err != nil {
			return nil, "", fmt.Errorf("reading registry credentials from %s: %w", file, err)
		}
		if cfg != (types.AuthConfig{}) {
			return authn.FromConfig(authn.AuthConfig{Username: cfg.Username, Password: cfg.Password, Auth: cfg.Auth,
				IdentityToken: cfg.IdentityToken, RegistryToken: cfg.RegistryToken}), file, nil
		}
	}
	return authn.Anonymous, "", nil
}

// lookupAuth is the entry of the file for target, by repository
// ("registry/namespace", as podman allows) then by registry, as
// go-containerregistry's keychain looks it up; empty if there is none or
// the file does not exist.
func lookupAuth(file string, target authn.Resource) (types.AuthConfig, error) {
	f, err := os.Open(file)
	if errors.Is(err, fs.ErrNotExist) {
		return types.AuthConfig{}, nil
	} else if err != nil {
		return types.AuthConfig{}, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return types.AuthConfig{}, errors.New("a directory, not an auth file")
	}
	cf, err := config.LoadFromReader(f)
	if err != nil {
		return types.AuthConfig{}, err
	}
	for _, key := range []string{target.String(), target.RegistryStr()} {
		if key == name.DefaultRegistry {
			key = authn.DefaultAuthKey
		}
		cfg, err := cf.GetAuthConfig(key)
		if err != nil {
			return types.AuthConfig{}, err
		}
		cfg.ServerAddress = "" // set by GetAuthConfig whatever it found
		if cfg != (types.AuthConfig{}) {
			return cfg, nil
		}
	}
	return types.AuthConfig{}, nil
}

// credentialSource says where credentials for reg were looked for and
// what was found, for the error of a refusal; push says whether the
// refusal was of a push.
func (o *options) credentialSource(reg name.Registry, push bool) string {
	host := reg.RegistryStr()
	login := fmt.Sprintf("credentials come from ~/.docker/config.json, $DOCKER_CONFIG or a credential helper: run `docker login %s`, or check the image name", host)
	var auth authn.Authenticator
	var err error
	where, file := "the keychain", ""
	switch k := o.keychain.(type) {
	case *authFiles:
		login = fmt.Sprintf("credentials are read from %s, the first with an entry for %s: run `docker login %s` or `podman login %s`",
			strings.Join(k.files, ", "), host, host, host)
		auth, file, err = k.resolve(reg)
		where = file
		if file == "" {
			where = "any of those files"
		}
	default:
		if o.keychain == authn.DefaultKeychain {
			where = "the Docker configuration"
		}
		auth, err = o.keychain.Resolve(reg)
	}
	if err != nil {
		return fmt.Sprintf("reading credentials for %s failed (%v); %s", host, err, login)
	}
	if auth == authn.Anonymous {
		if push {
			return fmt.Sprintf("%s needs credentials to push, and there are none for it in %s, so none were sent; %s", host, where, login)
		}
		return fmt.Sprintf("no credentials for %s were found in %s, so none were sent: the image may not exist, or needs them; %s",
			host, where, login)
	}
	cfg, err := auth.Authorization()
	if err != nil || cfg == nil {
		return fmt.Sprintf("credentials for %s from %s could not be read; %s", host, where, login)
	}
	switch {
	case cfg.Username != "":
		return fmt.Sprintf("the credentials for %s from %s (user %q) were refused; %s", host, where, cfg.Username, login)
	case cfg.IdentityToken != "" || cfg.RegistryToken != "":
		return fmt.Sprintf("the token for %s from %s was refused; %s", host, where, login)
	}
	return fmt.Sprintf("the credentials for %s from %s were refused; %s", host, where, login)
}
