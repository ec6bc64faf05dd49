package testenv

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestCA is a certificate authority made for one test, with the files of
// a server certificate for 127.0.0.1 and a client certificate it signed.
type TestCA struct {
	// CertFile is the CA's certificate (PEM): what a client adds to its
	// roots (Docker's certs.d/HOST:PORT/ca.crt).
	CertFile string
	// ServerCert and ServerKey are a certificate for the IP address
	// 127.0.0.1 and its key (PEM), signed by the CA.
	ServerCert, ServerKey string
	// ClientCert and ClientKey are a client certificate and its key (PEM),
	// signed by the CA (Docker's client.cert and client.key).
	ClientCert, ClientKey string

	pool *x509.CertPool
}

// NewCA makes a CA (ECDSA P-256, valid for a day) and certificates signed
// by it, in a temporary directory removed when the test ends.
func NewCA(t testing.TB) *TestCA {
	t.Helper()
	dir := t.TempDir()
	caKey := newKey(t)
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "scratchpack test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatalf("making the test CA: %v", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatalf("reading the test CA: %v", err)
	}
	c := &TestCA{CertFile: filepath.Join(dir, "ca.crt"), pool: x509.NewCertPool()}
	c.pool.AddCert(ca)
	writePEM(t, c.CertFile, "CERTIFICATE", caDER)

	sign := func(serial int64, tmpl *x509.Certificate, certFile, keyFile string) {
		key := newKey(t)
		tmpl.SerialNumber = big.NewInt(serial)
		tmpl.NotBefore, tmpl.NotAfter = now.Add(-time.Hour), now.Add(24*time.Hour)
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatalf("signing %s: %v", certFile, err)
		}
		keyDER, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		writePEM(t, certFile, "CERTIFICATE", der)
		writePEM(t, keyFile, "EC PRIVATE KEY", keyDER)
	}
	c.ServerCert, c.ServerKey = filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
	sign(2, &x509.Certificate{Subject: pkix.Name{CommonName: "127.0.0.1"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}, c.ServerCert, c.ServerKey)
	c.ClientCert, c.ClientKey = filepath.Join(dir, "client.cert"), filepath.Join(dir, "client.key")
	sign(3, &x509.Certificate{Subject: pkix.Name{CommonName: "scratchpack test client"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, c.ClientCert, c.ClientKey)
	return c
}

// Transport returns an HTTP transport that trusts only the CA and shows
// its client certificate.
func (c *TestCA) Transport(t testing.TB) *http.Transport {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(c.ClientCert, c.ClientKey)
	if err != nil {
		t.Fatalf("loading the test client certificate: %v", err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: c.pool, Certificates: []tls.Certificate{pair}}
	return tr
}

// CertsDir writes the CA's certificate, as Docker and podman look for it,
// into ROOT/HOST/ca.crt under a new ROOT (a stand-in for
// /etc/docker/certs.d or /etc/containers/certs.d), with the client
// certificate as client.cert and client.key when withClient is true, and
// returns ROOT.
func (c *TestCA) CertsDir(t testing.TB, host string, withClient bool) string {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, host)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"ca.crt": c.CertFile}
	if withClient {
		files["client.cert"], files["client.key"] = c.ClientCert, c.ClientKey
	}
	for name, src := range files {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		writeFileMode(t, filepath.Join(dir, name), string(b), 0o600)
	}
	return root
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("making a key: %v", err)
	}
	return k
}

func writePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	writeFileMode(t, path, string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})), 0o600)
}
