package transfer

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

// TestPrivateCA: a registry whose certificate a private CA signed is
// reached through podman's and Docker's certs.d layouts (the first root
// with the registry's directory wins), through one certificate directory
// for every registry, or without verification; without any of them the
// error names the ways out.
func TestPrivateCA(t *testing.T) {
	ca := testenv.NewCA(t)
	reg := testenv.Registry(t, testenv.WithTLS(ca))
	img := testImage(t, amd64, 1)
	empty := t.TempDir()
	containers := ca.CertsDir(t, reg.Addr, false) // stands for /etc/containers/certs.d
	docker := ca.CertsDir(t, reg.Addr, false)     // stands for /etc/docker/certs.d
	for _, tc := range []struct {
		name string
		opts []Option
	}{
		{"containers certs.d", []Option{WithCertDirs(containers, empty)}},
		{"docker certs.d", []Option{WithCertDirs(empty, docker)}},
		{"cert dir", []Option{WithCertDirs(), WithCertDir(filepath.Join(containers, reg.Addr))}},
		{"insecure", []Option{WithCertDirs(), WithInsecure()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ref := mustParse(t, "docker://"+reg.Addr+"/"+strings.ReplaceAll(tc.name, " ", "-")+":v1")
			if _, err := Write(bg, img, []Ref{ref}, tc.opts...); err != nil {
				t.Fatal(err)
			}
			got, err := load(t, ref, amd64, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if digest(t, got) != digest(t, img) {
				t.Error("read back another image")
			}
		})
	}

	t.Run("untrusted", func(t *testing.T) {
		ref := mustParse(t, "docker://"+reg.Addr+"/app:v1")
		dirs := []string{filepath.Join(empty, "containers"), filepath.Join(empty, "docker")}
		_, werr := Write(bg, img, []Ref{ref}, WithCertDirs(dirs...), fastRetry)
		_, lerr := load(t, ref, amd64, WithCertDirs(dirs...), fastRetry)
		for _, err := range []error{werr, lerr} {
			if !errors.Is(err, ErrUntrustedCertificate) {
				t.Fatalf("err = %v, want ErrUntrustedCertificate", err)
			}
			for _, want := range []string{reg.Addr, filepath.Join(dirs[0], reg.Addr, "ca.crt"), filepath.Join(dirs[1], reg.Addr, "ca.crt"),
				"skip verification", "x509"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
		}
	})

	t.Run("first root wins", func(t *testing.T) {
		// podman reads only the first certs.d that has the registry's
		// directory: an empty one there hides the CA further down.
		hiding := t.TempDir()
		if err := os.Mkdir(filepath.Join(hiding, reg.Addr), 0o755); err != nil {
			t.Fatal(err)
		}
		ref := mustParse(t, "docker://"+reg.Addr+"/hidden:v1")
		if _, err := Write(bg, img, []Ref{ref}, WithCertDirs(hiding, docker), fastRetry); !errors.Is(err, ErrUntrustedCertificate) {
			t.Fatalf("err = %v, want ErrUntrustedCertificate", err)
		}
	})
}

// TestClientCertificate: a registry that asks for a client certificate gets
// the client.cert and client.key of its certs.d directory.
func TestClientCertificate(t *testing.T) {
	ca := testenv.NewCA(t)
	reg := testenv.Registry(t, testenv.WithTLS(ca), testenv.WithClientCertificates())
	img := testImage(t, amd64, 1)
	ref := mustParse(t, "docker://"+reg.Addr+"/app:v1")
	if _, err := Write(bg, img, []Ref{ref}, WithCertDirs(ca.CertsDir(t, reg.Addr, false)), fastRetry); err == nil {
		t.Fatal("pushed without a client certificate")
	}
	if _, err := Write(bg, img, []Ref{ref}, WithCertDirs(ca.CertsDir(t, reg.Addr, true))); err != nil {
		t.Fatal(err)
	}
}

func TestCertDirErrors(t *testing.T) {
	ca := testenv.NewCA(t)
	for _, tc := range []struct {
		name  string
		files map[string]string // name in the directory → source
		want  string
	}{
		{"certificate without key", map[string]string{"client.cert": ca.ClientCert}, "without its key"},
		{"key without certificate", map[string]string{"client.key": ca.ClientKey}, "without its client certificate"},
		{"not a certificate", map[string]string{"ca.crt": ca.ClientKey}, "no PEM certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, "registry.scratchpack.test")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			for n, src := range tc.files {
				b, err := os.ReadFile(src)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, n), b, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			ref := mustParse(t, "docker://registry.scratchpack.test/app:v1")
			_, err := Write(bg, testImage(t, amd64, 1), []Ref{ref}, WithCertDirs(root), fastRetry)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), dir) {
				t.Fatalf("err = %v, want one naming %s and saying %q", err, dir, tc.want)
			}
		})
	}
}
