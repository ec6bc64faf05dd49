package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

// TestPrivateCARegistry: a registry behind TLS with a certificate from a
// CA made here. Without the CA, a push fails naming the three ways out;
// with it in /etc/containers/certs.d/HOST:PORT/ca.crt, in
// /etc/docker/certs.d/HOST:PORT/ca.crt (both seen through an overlay on
// /etc in a mount namespace of the test's: the real /etc is not written),
// in ~/.config/containers/certs.d/HOST:PORT/ca.crt (podman's own
// directory), with --cert-dir, with --tls-verify=false and with
// --insecure, pack pushes and ls reads.
func TestPrivateCARegistry(t *testing.T) {
	ca := testenv.NewCA(t)
	reg := testenv.Registry(t, testenv.WithTLS(ca))
	prog := testenv.Fixture(t, "hello-c")
	bare := t.TempDir() // a HOME without certificates
	trusting := t.TempDir()
	certsd := ca.CertsDir(t, reg.Addr, false)
	if err := os.MkdirAll(filepath.Join(trusting, ".config", "containers"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(certsd, filepath.Join(trusting, ".config", "containers", "certs.d")); err != nil {
		t.Fatal(err)
	}

	t.Run("untrusted", func(t *testing.T) {
		_, errOut, code := run(t, []string{"HOME=" + bare}, "pack", "-o", "docker://"+reg.Addr+"/app:1", prog)
		t.Logf("exit %d: %s", code, errOut)
		if code != exitRegistry {
			t.Fatalf("exit %d, want %d:\n%s", code, exitRegistry, errOut)
		}
		for _, want := range []string{"x509", "/etc/containers/certs.d/" + reg.Addr + "/ca.crt", "/etc/docker/certs.d/" + reg.Addr + "/ca.crt",
			"--tls-verify=false"} {
			if !strings.Contains(errOut, want) {
				t.Errorf("stderr does not say %q:\n%s", want, errOut)
			}
		}
	})
	for _, tc := range []struct {
		name string
		home string
		etc  string // the certs.d directory under /etc that holds the CA
		args []string
	}{
		{"etc-containers-certs.d", bare, "containers/certs.d", nil},
		{"etc-docker-certs.d", bare, "docker/certs.d", nil},
		{"home-certs.d", trusting, "", nil},
		{"cert-dir", bare, "", []string{"--cert-dir", filepath.Join(trusting, ".config", "containers", "certs.d", reg.Addr)}},
		{"tls-verify=false", bare, "", []string{"--tls-verify=false"}},
		{"insecure", bare, "", []string{"--insecure"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ref := reg.Addr + "/" + strings.NewReplacer("=", "-", ".", "-").Replace(tc.name) + ":1"
			env := []string{"HOME=" + tc.home}
			scratchpack := func(args ...string) string { return mustRun(t, env, args...) }
			if tc.etc != "" {
				upper := t.TempDir()
				dir := filepath.Join(upper, tc.etc, reg.Addr)
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				b, err := os.ReadFile(ca.CertFile)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, "ca.crt"), b, 0o644); err != nil {
					t.Fatal(err)
				}
				scratchpack = func(args ...string) string { return runWithEtc(t, upper, env, args...) }
			}
			scratchpack(append(append([]string{"pack", "-o", "docker://" + ref}, tc.args...), prog)...)
			out := scratchpack(append(append([]string{"ls"}, tc.args...), ref)...)
			if !strings.Contains(out, "/app/hello-c") {
				t.Errorf("ls %s does not list /app/hello-c:\n%s", ref, out)
			}
		})
	}
	t.Run("contradiction", func(t *testing.T) {
		_, errOut, code := run(t, nil, "ls", "--insecure", "--tls-verify=true", reg.Addr+"/app:1")
		if code != exitBadInput || !strings.Contains(errOut, "contradict") {
			t.Errorf("exit %d, want %d saying they contradict:\n%s", code, exitBadInput, errOut)
		}
	})
}

// runWithEtc runs scratchpack, which must exit 0, in a mount namespace of
// its own where /etc is an overlay of the real /etc and upper: the files
// of upper appear in /etc for it alone, and the real /etc is not written.
func runWithEtc(t *testing.T, upper string, env []string, args ...string) string {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("SKIP (requires root): an overlay on /etc in a mount namespace needs root")
	}
	unshare := hostTool(t, "unshare", "util-linux")
	work := t.TempDir()
	script := `mount -t overlay overlay -o lowerdir=/etc,upperdir="$1",workdir="$2" /etc && shift 2 && exec "$@"`
	cmd := exec.Command(unshare, append([]string{"-m", "--propagation", "private", "sh", "-c", script, "sh", upper, work, bin}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("scratchpack %s (with %s over /etc): %v\n%s", strings.Join(args, " "), upper, err, stderr.String())
	}
	return stdout.String()
}
