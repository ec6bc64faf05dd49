package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

// readmeWorkDir makes the working directory the examples run in, with the
// files TestREADMEExamples lists, and returns its path.
func readmeWorkDir(t *testing.T, md string) string {
	t.Helper()
	dir := t.TempDir()
	testdata, err := filepath.Abs("../../testdata")
	if err != nil {
		t.Fatal(err)
	}
	mkdirs(t, dir, "bin", "conf", "etc", "build/amd64", "build/arm64", "bases")
	symlinkTo(t, bin, filepath.Join(dir, "bin", "scratchpack"))
	symlinkTo(t, testdata, filepath.Join(dir, "testdata"))
	for dst, fixture := range map[string]string{
		"app": "app", "hello": "hello-c", "server": "gotls",
		"build/server": "gotls", "build/amd64/tool": "hello-c", "build/arm64/tool": "hello-c-arm64",
	} {
		copyFile(t, testenv.Fixture(t, fixture), filepath.Join(dir, dst), 0o755)
	}
	writeTestFile(t, filepath.Join(dir, "conf", "app.conf"), "answer = 42\n")
	writeTestFile(t, filepath.Join(dir, "etc", "app.conf"), "answer = 42\n")
	writeTestFile(t, filepath.Join(dir, "corp-ca.pem"), selfSignedCA(t))
	writeTestFile(t, filepath.Join(dir, "app.env"), "# run --env-file\nLANG=C.UTF-8\n")
	writeTestFile(t, filepath.Join(dir, "scratchpack.yaml"), readmeYAML(t, md))
	testenv.WriteOCIArchive(t, testenv.BusyboxGlibcImage(t), filepath.Join(dir, "bases", "busybox.tar"), "glibc")
	return dir
}

// readmeYAML returns README's yaml code block, the scratchpack.yaml that
// its build example reads; there must be exactly one.
func readmeYAML(t *testing.T, md string) string {
	t.Helper()
	var found []codeBlock
	for _, b := range codeBlocks(md) {
		if b.info == "yaml" {
			found = append(found, b)
		}
	}
	if len(found) != 1 {
		t.Fatalf("README.md has %d yaml code blocks; the build example's scratchpack.yaml is the one", len(found))
	}
	return strings.Join(found[0].lines, "\n") + "\n"
}

// selfSignedCA returns a new self-signed CA certificate, PEM-encoded.
func selfSignedCA(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "scratchpack README test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// mkdirs creates the directories names under dir.
func mkdirs(t *testing.T, dir string, names ...string) {
	t.Helper()
	for _, n := range names {
		if err := os.MkdirAll(filepath.Join(dir, n), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// symlinkTo creates the symbolic link link pointing at target.
func symlinkTo(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// writeTestFile writes content to path, mode 0644.
func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// copyFile copies the file src to dst with mode perm.
func copyFile(t *testing.T, src, dst string, perm os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, perm); err != nil {
		t.Fatal(err)
	}
}
