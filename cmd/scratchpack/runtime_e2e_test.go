package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scratchpack/scratchpack/elfdeps"
	"github.com/scratchpack/scratchpack/internal/testenv"
)

// inspectNeeds returns the run-time needs inspect --json predicts.
func inspectNeeds(t *testing.T, args ...string) []elfdeps.Need {
	t.Helper()
	var a struct {
		Needs []elfdeps.Need `json:"runtime_needs"`
	}
	out := mustRun(t, nil, append([]string{"inspect", "--json"}, args...)...)
	if err := jsonUnmarshal(out, &a); err != nil {
		t.Fatalf("inspect --json: %v\n%s", err, out)
	}
	return a.Needs
}

// testCA makes a CA and a server certificate it signs for 127.0.0.1 and
// localhost, valid for a day, as PEM files in dir.
func testCA(t *testing.T, dir string) (ca, cert, key string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "scratchpack test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srvTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), DNSNames: []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(srvKey)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return write("ca.pem", "CERTIFICATE", caDER), write("server.pem", "CERTIFICATE", srvDER), write("server.key", "EC PRIVATE KEY", keyDER)
}

// caRoot returns a --root directory whose only file is the test CA as the
// system bundle, /etc/ssl/certs/ca-certificates.crt: a static Go program
// needs no libraries, so --root only decides where the CA bundle comes from.
func caRoot(t *testing.T, ca string) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "root")
	if err := os.MkdirAll(filepath.Join(root, "etc/ssl/certs"), 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(ca)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, elfdeps.CABundlePath), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

// TestRuntimeExtrasInRunc packs each run-time-needs fixture onto scratch
// with the defaults and runs it in runc: it works. Packed with
// --no-runtime-extras, it fails, printing one of the messages inspect
// predicted for a need it found.
func TestRuntimeExtrasInRunc(t *testing.T) {
	dir := t.TempDir()
	ca, cert, key := testCA(t, dir)
	tlsFiles := []string{"--add", cert + ":/etc/gotls/cert.pem", "--add", key + ":/etc/gotls/key.pem"}
	tlsCmd := []string{"--", "/etc/gotls/cert.pem", "/etc/gotls/key.pem"}
	const tlsOK = "verified by the system CA bundle: hello over TLS\n"
	for _, tc := range []struct {
		name    string
		prog    string
		flags   []string // pack and inspect flags
		packArg []string // pack flags only
		withArg []string // pack flags only when the extras are wanted
		cmd     []string
		want    string // "" means what the program prints on the host
	}{
		{name: "nss", prog: "nss"},
		{name: "nss-static", prog: "nss-static"},
		{name: "iconv", prog: "iconv"},
		{name: "cancel", prog: "cancel"},
		{name: "gozone", prog: "gozone"},
		// The CA bundle comes from --root: the test CA stands for the system's.
		{name: "gotls --root", prog: "gotls", flags: []string{"--root", caRoot(t, ca)}, packArg: tlsFiles, cmd: tlsCmd, want: tlsOK},
		// Or from a file given by hand (which forces it in, so not with --no-runtime-extras).
		{name: "gotls --ca-bundle", prog: "gotls", packArg: tlsFiles, withArg: []string{"--ca-bundle", ca}, cmd: tlsCmd, want: tlsOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prog := testenv.Fixture(t, tc.prog)
			want := tc.want
			if want == "" {
				var code int
				if want, code = hostOutput(t, prog); code != 0 {
					t.Fatalf("on the host: exit %d, %q", code, want)
				}
			}
			pack := func(extra ...string) string {
				layout := filepath.Join(t.TempDir(), "layout")
				args := append(append(append([]string{"pack", "-o", "oci:" + layout + ":t"}, tc.flags...), tc.packArg...), extra...)
				mustRun(t, nil, append(append(args, prog), tc.cmd...)...)
				return layout
			}
			out, errOut, code := testenv.RunOCI(t, pack(tc.withArg...), "t")
			if out != want || code != 0 {
				t.Errorf("with the run-time extras: exit %d, stdout %q, stderr %q; want exit 0, %q", code, out, errOut, want)
			}

			var messages []string
			for _, n := range inspectNeeds(t, append(tc.flags, prog)...) {
				if n.Default {
					messages = append(messages, n.Messages...)
				}
			}
			if len(messages) == 0 {
				t.Fatal("inspect predicted no failure")
			}
			out, errOut, code = testenv.RunOCI(t, pack("--no-runtime-extras"), "t")
			predicted := false
			for _, m := range messages {
				predicted = predicted || strings.Contains(out+errOut, m)
			}
			if code == 0 || !predicted {
				t.Errorf("with --no-runtime-extras: exit %d, stdout %q, stderr %q; want a failure showing one of %q", code, out, errOut, messages)
			}
		})
	}
}

// TestRuntimeExtrasFiles checks what every image gets and what the NSS
// need writes: /tmp with mode 1777, the user database with root and
// nonroot, scratchpack's own nsswitch.conf and hosts; and that the report
// says why each went in.
func TestRuntimeExtrasFiles(t *testing.T) {
	prog := testenv.Fixture(t, "nss")
	layout := filepath.Join(t.TempDir(), "l")
	var res packResult
	out := mustRun(t, nil, "pack", "--json", "-o", "oci:"+layout+":t", prog)
	if err := jsonUnmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Needs) != 1 || res.Needs[0].Kind != elfdeps.NeedNSS || !res.Needs[0].Added {
		t.Errorf("runtime_needs = %+v, want the nss need, added", res.Needs)
	}
	rootfs := filepath.Join(testenv.UnpackOCI(t, layout, "t"), "rootfs")
	fi, err := os.Stat(filepath.Join(rootfs, "tmp"))
	if err != nil || fi.Mode()&fs.ModeSticky == 0 || fi.Mode().Perm() != 0o777 {
		t.Errorf("/tmp: %v %v, want drwxrwxrwt", fi.Mode(), err)
	}
	for file, want := range map[string][]string{
		"etc/passwd":        {"root:x:0:0:", "nonroot:x:65532:65532:"},
		"etc/group":         {"root:x:0:", "nonroot:x:65532:"},
		"etc/nsswitch.conf": {"passwd:    files\n", "hosts:     files dns\n"},
		"etc/hosts":         {"127.0.0.1\tlocalhost\n"},
	} {
		b, err := os.ReadFile(filepath.Join(rootfs, file))
		if err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		for _, w := range want {
			if !strings.Contains(string(b), w) {
				t.Errorf("%s does not contain %q:\n%s", file, w, b)
			}
		}
	}
	_, report, code := run(t, nil, "pack", "-o", "oci:"+filepath.Join(t.TempDir(), "l2"), prog)
	if code != 0 || !strings.Contains(report, "/etc/hosts") || !strings.Contains(report, "run-time nss: getaddrinfo, getgrnam, getpwnam") {
		t.Errorf("the pack report should say why /etc/hosts went in:\n%s", report)
	}
}

// TestIncludeLib adds a library by hand: with its closure, through the
// loader's search, reported as loaded at run time; a name that is nowhere
// is an error.
func TestIncludeLib(t *testing.T) {
	prog := testenv.Fixture(t, "hello-c")
	files := packedFiles(t, nil, "--include-lib", "libz.so.1", "-o", "oci:"+filepath.Join(t.TempDir(), "l"), prog)
	found := false
	for _, f := range files {
		found = found || strings.HasPrefix(filepath.Base(f), "libz.so.1")
	}
	if !found {
		t.Errorf("--include-lib libz.so.1 added no libz: %v", files)
	}
	_, errOut, code := run(t, nil, "pack", "--include-lib", "libnot-there.so.3", "-o", "oci:"+filepath.Join(t.TempDir(), "l"), prog)
	if code == 0 || !strings.Contains(errOut, "libnot-there.so.3") {
		t.Errorf("--include-lib of a missing library: exit %d, %s", code, errOut)
	}
}

// TestRuntimeExtrasReproducible: images with generated files and copied
// trees (the zone database, the gconv modules) have the same digest when
// packed twice, from different working directories.
func TestRuntimeExtrasReproducible(t *testing.T) {
	for _, name := range []string{"gozone", "iconv", "nss"} {
		prog := testenv.Fixture(t, name)
		digest := func(env ...string) string {
			return strings.TrimSpace(mustRun(t, env, "pack", "-o", "oci:"+filepath.Join(t.TempDir(), "l"), prog))
		}
		if a, b := digest(), digest("TMPDIR="+t.TempDir()); a != b || !strings.HasPrefix(a, "sha256:") {
			t.Errorf("%s: two packs of the same inputs: %s and %s", name, a, b)
		}
	}
}

// TestRuntimeExtrasOnBase: on a base, what the base already has (its user
// database, /tmp) is not replaced; what it lacks is added, and the program
// runs there.
func TestRuntimeExtrasOnBase(t *testing.T) {
	prog := testenv.Fixture(t, "nss")
	base := filepath.Join(t.TempDir(), "busybox")
	testenv.WriteOCILayout(t, testenv.BusyboxGlibcImage(t), base, "glibc")
	layout := filepath.Join(t.TempDir(), "l")
	got := packedFiles(t, nil, "--base", "oci:"+base+":glibc", "-o", "oci:"+layout+":t", prog)
	want := []string{"/app/nss", "/etc/hosts", "/etc/nsswitch.conf", "/etc/services"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("files added on the base: %v, want %v", got, want)
	}
	wantOut, _ := hostOutput(t, prog)
	if out, errOut, code := testenv.RunOCI(t, layout, "t"); out != wantOut || code != 0 {
		t.Errorf("on the base in runc: exit %d, %q %q", code, out, errOut)
	}
}

// TestCABundleAlwaysGoesIn: --ca-bundle FILE puts FILE in the image as the
// CA bundle even for a program in which no TLS need was found: what the
// user names explicitly goes in.
func TestCABundleAlwaysGoesIn(t *testing.T) {
	dir := t.TempDir()
	ca, _, _ := testCA(t, dir)
	layout := filepath.Join(dir, "l")
	mustRun(t, nil, "pack", "--ca-bundle", ca, "-o", "oci:"+layout+":t", testenv.Fixture(t, "hello-c"))
	rootfs := filepath.Join(testenv.UnpackOCI(t, layout, "t"), "rootfs")
	got, err := os.ReadFile(filepath.Join(rootfs, elfdeps.CABundlePath))
	want, _ := os.ReadFile(ca)
	if err != nil || string(got) != string(want) {
		t.Errorf("%s in the image: %v; want the --ca-bundle file", elfdeps.CABundlePath, err)
	}
}
