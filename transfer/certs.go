package transfer

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// DefaultCertDirs are where the certificates of a registry with a private
// CA are looked for unless WithCertDirs says otherwise, as podman and
// skopeo (/etc/containers/certs.d) and Docker (/etc/docker/certs.d) look
// for them: in DIR/HOST[:PORT]/ under the first of these that has that
// directory, ca.crt (any *.crt) is a CA trusted besides the system's, and
// client.cert with client.key (any *.cert with its *.key) a client
// certificate.
var DefaultCertDirs = []string{"/etc/containers/certs.d", "/etc/docker/certs.d"}

// ErrUntrustedCertificate is wrapped when a registry's certificate could
// not be verified: signed by a CA this machine does not trust, for another
// name, or expired.
var ErrUntrustedCertificate = errors.New("registry certificate not trusted")

// WithCertDirs sets the directories, each holding a HOST[:PORT]
// directory per registry, where the certificates of registries are looked
// for (DefaultCertDirs by default; none turns the lookup off). As podman
// does, only the first directory that has the registry's is read.
func WithCertDirs(dirs ...string) Option {
	return func(o *options) error {
		o.certDirs = append([]string(nil), dirs...)
		return nil
	}
}

// WithCertDir uses the certificates in dir (*.crt, *.cert and *.key, as
// in a certs.d/HOST[:PORT] directory) for every registry, instead of
// looking them up in the certs.d directories: skopeo's and podman's
// --cert-dir.
func WithCertDir(dir string) Option {
	return func(o *options) error {
		if dir == "" {
			return errors.New("WithCertDir: empty directory")
		}
		o.certDir = dir
		return nil
	}
}

// certDirFor is the directory whose certificates are used for reg, or ""
// for none.
func (o *options) certDirFor(reg name.Registry) (string, error) {
	if o.certDir != "" {
		return o.certDir, nil
	}
	for _, root := range o.certDirs {
		dir := filepath.Join(root, reg.RegistryStr())
		fi, err := os.Stat(dir)
		switch {
		case err == nil && fi.IsDir():
			return dir, nil
		case err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, fs.ErrPermission):
			return "", fmt.Errorf("reading the certificates for %s: %w", reg.RegistryStr(), err)
		}
	}
	return "", nil
}

// tlsConfig is the TLS configuration for reg: the CAs and client
// certificates of its certificate directory, and no verification for a
// registry declared insecure. It is nil when there is nothing to add.
func (o *options) tlsConfig(reg name.Registry) (*tls.Config, error) {
	dir, err := o.certDirFor(reg)
	if err != nil {
		return nil, err
	}
	if dir == "" && !o.insecure {
		return nil, nil
	}
	c := &tls.Config{InsecureSkipVerify: o.insecure} //nolint:gosec // asked for: WithInsecure
	if dir == "" {
		return c, nil
	}
	if err := readCertDir(c, dir); err != nil {
		return nil, fmt.Errorf("reading the certificates for %s: %w", reg.RegistryStr(), err)
	}
	return c, nil
}

// readCertDir adds the certificates of dir to c, as Docker and
// containers/image read a certs.d directory: every *.crt is a CA (trusted
// besides the system's), every *.cert a client certificate whose key is
// the *.key of the same name.
func readCertDir(c *tls.Config, dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	names := map[string]bool{}
	for _, e := range entries {
		names[e.Name()] = true
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, n := range sorted {
		p := filepath.Join(dir, n)
		switch filepath.Ext(n) {
		case ".crt":
			pem, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if c.RootCAs == nil {
				if c.RootCAs, err = x509.SystemCertPool(); err != nil {
					c.RootCAs = x509.NewCertPool()
				}
			}
			if !c.RootCAs.AppendCertsFromPEM(pem) {
				return fmt.Errorf("%s holds no PEM certificate", p)
			}
		case ".cert":
			key := strings.TrimSuffix(n, ".cert") + ".key"
			if !names[key] {
				return fmt.Errorf("%s is a client certificate without its key %s (a CA's certificate ends in .crt)", p, filepath.Join(dir, key))
			}
			pair, err := tls.LoadX509KeyPair(p, filepath.Join(dir, key))
			if err != nil {
				return err
			}
			c.Certificates = append(c.Certificates, pair)
		case ".key":
			if cert := strings.TrimSuffix(n, ".key") + ".cert"; !names[cert] {
				return fmt.Errorf("%s is a key without its client certificate %s", p, filepath.Join(dir, cert))
			}
		}
	}
	return nil
}

// certificateError explains a failed verification of reg's certificate,
// err, and the ways out; it returns nil when err is not one. It wraps the
// verification error alone: what a fallback to plain HTTP, tried next,
// answered says nothing useful.
func (o *options) certificateError(reg name.Registry, err error) error {
	var ve *tls.CertificateVerificationError
	if !errors.As(err, &ve) {
		return nil
	}
	host := reg.RegistryStr()
	var ua x509.UnknownAuthorityError
	if errors.As(err, &ua) {
		var where []string
		for _, d := range o.certDirs {
			where = append(where, filepath.Join(d, host, "ca.crt"))
		}
		trust := "give the registry's CA certificate as a certificate directory"
		if len(where) > 0 {
			trust = "put the certificate of the CA that signed it in " + strings.Join(where, " or ")
		}
		if o.certDir != "" {
			trust = fmt.Sprintf("%s has no certificate of the CA that signed it: add it there as ca.crt", o.certDir)
		}
		return fmt.Errorf("%w: %s: %w; %s, or, on a trusted network, skip verification for this registry",
			ErrUntrustedCertificate, host, ve, trust)
	}
	return fmt.Errorf("%w: %s: %w; fix the registry's certificate, or, on a trusted network, skip verification for this registry",
		ErrUntrustedCertificate, host, ve)
}
