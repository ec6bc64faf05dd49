package testenv

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// RegistryServer is a running CNCF distribution registry on the loopback
// interface, speaking plain HTTP, or HTTPS with WithTLS.
type RegistryServer struct {
	// Addr is host:port, always 127.0.0.1:<port>.
	Addr string
	// User and Pass are the htpasswd credentials, empty without WithHtpasswd.
	User, Pass string
	// CA made the registry's certificate, with WithTLS; nil without.
	CA *TestCA
}

// RegistryOption configures Registry.
type RegistryOption func(*registryOptions)

type registryOptions struct {
	user, pass string
	ca         *TestCA
	clientCert bool
}

// WithTLS makes the registry speak HTTPS only, with a certificate for
// 127.0.0.1 that ca signed (NewCA): a registry with a private CA.
func WithTLS(ca *TestCA) RegistryOption {
	return func(o *registryOptions) { o.ca = ca }
}

// WithClientCertificates makes a registry WithTLS require a client
// certificate signed by its CA (ca.ClientCert is one), as Docker's
// certs.d/HOST/client.cert is for.
func WithClientCertificates() RegistryOption {
	return func(o *registryOptions) { o.clientCert = true }
}

// WithHtpasswd makes the registry require HTTP basic authentication with
// this one user, stored bcrypt-hashed in an htpasswd file.
func WithHtpasswd(user, pass string) RegistryOption {
	return func(o *registryOptions) { o.user, o.pass = user, pass }
}

// registryStartTimeout bounds how long Registry waits for GET /v2/.
const registryStartTimeout = 30 * time.Second

// Registry starts Debian's distribution registry (the docker-registry
// binary) with filesystem storage in a temporary directory, listening on
// 127.0.0.1 on a free port, and waits until GET /v2/ answers. The registry is
// stopped (SIGTERM, then SIGKILL) when the test ends.
func Registry(t testing.TB, opts ...RegistryOption) *RegistryServer {
	t.Helper()
	var o registryOptions
	for _, opt := range opts {
		opt(&o)
	}
	bin := tool(t, "docker-registry", "docker-registry")
	dir := t.TempDir()
	if o.clientCert && o.ca == nil {
		t.Fatal("testenv.WithClientCertificates needs WithTLS")
	}
	scheme, client := "http", &http.Client{Timeout: 2 * time.Second}
	if o.ca != nil {
		scheme, client.Transport = "https", o.ca.Transport(t)
	}

	htpasswdPath := ""
	if o.user != "" {
		if strings.Contains(o.user, ":") {
			t.Fatalf("testenv.WithHtpasswd: user %q contains ':', which htpasswd cannot store", o.user)
		}
		htpasswdPath = filepath.Join(dir, "htpasswd")
		writeHtpasswd(t, htpasswdPath, o.user, o.pass)
	}

	// The port is picked by binding :0 and closing it, so another process
	// can take it before the registry binds it; retry with a new port then.
	const attempts = 3
	for i := 1; ; i++ {
		addr := freeLoopbackAddr(t)
		configPath := filepath.Join(dir, "config.yml")
		logPath := filepath.Join(dir, fmt.Sprintf("registry-%d.log", i))
		writeFile(t, configPath, registryConfig(addr, filepath.Join(dir, "storage"), htpasswdPath, o))
		p := startRegistry(t, bin, configPath, logPath)
		err := waitHTTP(p, client, scheme+"://"+addr+"/v2/", registryStartTimeout)
		if err == nil {
			return &RegistryServer{Addr: addr, User: o.user, Pass: o.pass, CA: o.ca}
		}
		p.stop(5 * time.Second)
		if !p.exited() || i == attempts || !strings.Contains(tail(logPath, 20), "address already in use") {
			t.Fatalf("starting %s on %s: %v\nregistry log (%s):\n%s", bin, addr, err, logPath, tail(logPath, 30))
		}
	}
}

func startRegistry(t testing.TB, bin, configPath, logPath string) *process {
	t.Helper()
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatalf("creating registry log: %v", err)
	}
	defer logFile.Close()
	cmd := exec.Command(bin, "serve", configPath)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// distribution lets REGISTRY_* variables override the config file.
	cmd.Env = cleanEnv([]string{"REGISTRY_", "OTEL_"})
	p, err := start(cmd, syscall.SIGKILL)
	if err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	t.Cleanup(func() {
		if p.stop(10 * time.Second) {
			t.Logf("registry (pid %d) ignored SIGTERM for 10s and was killed", cmd.Process.Pid)
		}
	})
	return p
}

// registryConfig renders the distribution configuration. Strings are written
// as JSON strings, which YAML reads as double-quoted scalars.
func registryConfig(addr, storage, htpasswd string, o registryOptions) string {
	q := strconv.Quote
	secret := make([]byte, 16)
	_, _ = rand.Read(secret)
	var b strings.Builder
	fmt.Fprintf(&b, "version: 0.1\n")
	fmt.Fprintf(&b, "log:\n  level: info\n  accesslog:\n    disabled: true\n")
	fmt.Fprintf(&b, "storage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\n", q(storage))
	fmt.Fprintf(&b, "  maintenance:\n    uploadpurging:\n      enabled: false\n")
	fmt.Fprintf(&b, "http:\n  addr: %s\n  secret: %s\n", q(addr), q(hex.EncodeToString(secret)))
	if o.ca != nil {
		fmt.Fprintf(&b, "  tls:\n    certificate: %s\n    key: %s\n", q(o.ca.ServerCert), q(o.ca.ServerKey))
		if o.clientCert {
			fmt.Fprintf(&b, "    clientcas:\n      - %s\n", q(o.ca.CertFile))
		}
	}
	fmt.Fprintf(&b, "health:\n  storagedriver:\n    enabled: false\n")
	if htpasswd != "" {
		fmt.Fprintf(&b, "auth:\n  htpasswd:\n    realm: %s\n    path: %s\n", q("scratchpack-testenv"), q(htpasswd))
	}
	return b.String()
}

// writeHtpasswd writes a bcrypt htpasswd file with apache2-utils' htpasswd.
func writeHtpasswd(t testing.TB, path, user, pass string) {
	t.Helper()
	bin := tool(t, "htpasswd", "apache2-utils")
	out, err := exec.Command(bin, "-Bbn", user, pass).Output()
	if err != nil {
		t.Fatalf("hashing the registry password with %s -Bbn: %v", bin, exitDetail(err))
	}
	writeFile(t, path, strings.TrimSpace(string(out))+"\n")
}

// freeLoopbackAddr returns 127.0.0.1:<port> for a port that was free a
// moment ago.
func freeLoopbackAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port on 127.0.0.1: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}

// waitHTTP polls url with client until it answers 200 or 401, p exits, or
// timeout.
func waitHTTP(p *process, client *http.Client, url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		if p.exited() {
			return fmt.Errorf("exited before answering GET %s: %v", url, p.err)
		}
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				return nil
			}
			err = fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("no answer within %v: %v", timeout, last)
}

// Auth returns basic authentication with the registry's credentials, or
// authn.Anonymous when it has none.
func (r *RegistryServer) Auth() authn.Authenticator {
	if r.User == "" {
		return authn.Anonymous
	}
	return &authn.Basic{Username: r.User, Password: r.Pass}
}

// DockerConfig writes a Docker client configuration directory whose
// config.json holds basic auth for Addr, and returns it for DOCKER_CONFIG.
// Without credentials the file has an empty "auths".
func (r *RegistryServer) DockerConfig(t testing.TB) string {
	t.Helper()
	auths := map[string]any{}
	if r.User != "" {
		auths[r.Addr] = map[string]string{
			"auth": base64.StdEncoding.EncodeToString([]byte(r.User + ":" + r.Pass)),
		}
	}
	b, err := json.MarshalIndent(map[string]any{"auths": auths}, "", "\t")
	if err != nil {
		t.Fatalf("encoding docker config: %v", err)
	}
	dir := t.TempDir()
	writeFileMode(t, filepath.Join(dir, "config.json"), string(b)+"\n", 0o600)
	return dir
}

// PushImage pushes img to ref, which must name a registry on the loopback
// interface (so a test can never push to a public registry). It
// authenticates anonymously unless opts holds remote.WithAuth or
// remote.WithAuthFromKeychain.
func PushImage(t testing.TB, img v1.Image, ref string, opts ...remote.Option) {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure, name.StrictValidation)
	if err != nil {
		t.Fatalf("parsing %q: %v", ref, err)
	}
	if !isLoopback(r.Context().RegistryStr()) {
		t.Fatalf("testenv.PushImage: refusing to push %q outside the loopback interface (registry %q)", ref, r.Context().RegistryStr())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	all := append([]remote.Option{remote.WithAuth(authn.Anonymous), remote.WithContext(ctx)}, opts...)
	if err := remote.Write(r, img, all...); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
}

// isLoopback reports whether a registry host[:port] is localhost or in
// 127.0.0.0/8 or ::1.
func isLoopback(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
