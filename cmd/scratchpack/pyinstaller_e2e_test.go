package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scratchpack/scratchpack/internal/pyitest"
	"github.com/scratchpack/scratchpack/internal/testenv"
)

// pyiOutput is what the bootloader stand-in prints once it has loaded the
// embedded Python library stand-in and run the script entry.
const pyiOutput = "Python 3.11 stand-in ran app.py: cbrt(27) = 3, hello from an embedded extension, thread exit 42\n"

// pyiPrograms builds PyInstaller-format programs around the bootloader
// stand-in, in the documented CArchive format: onefile with the archive
// appended, onefile with it in an ELF "pydata" section (objcopy, as
// PyInstaller does on Linux), and onedir (dist/app/app plus _internal/).
func pyiPrograms(t *testing.T) map[string]string {
	t.Helper()
	read := func(name string) []byte {
		b, err := os.ReadFile(testenv.Fixture(t, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	boot, py, ext := read("pyi/boot"), read("pyi/libpython3.11.so.1.0"), read("pyi/libpyext.so.1")
	opts := pyitest.Entry{Name: "pyi-runtime-tmpdir", Type: 'o'}
	script := pyitest.Entry{Name: "app", Type: 's', Data: []byte("app.py"), Compress: true}
	onefile := pyitest.Archive([]pyitest.Entry{
		opts,
		{Name: "libpython3.11.so.1.0", Type: 'b', Data: py, Compress: true},
		{Name: "libpyext.so.1", Type: 'b', Data: ext},
		{Name: "base_library.zip", Type: 'x', Data: []byte("PK\x05\x06" + strings.Repeat("\x00", 18)), Compress: true},
		script,
	}, 311, "libpython3.11.so.1.0")
	dir := t.TempDir()
	progs := map[string]string{}
	write := func(p string, b []byte, mode os.FileMode) {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, mode); err != nil {
			t.Fatal(err)
		}
	}
	progs["onefile"] = filepath.Join(dir, "onefile", "app")
	write(progs["onefile"], append(append([]byte(nil), boot...), onefile...), 0o755)

	pkg := filepath.Join(dir, "pkg")
	write(pkg, onefile, 0o644)
	progs["onefile pydata section"] = filepath.Join(dir, "section", "app")
	os.MkdirAll(filepath.Dir(progs["onefile pydata section"]), 0o755)
	if out, err := exec.Command("objcopy", "--add-section", "pydata="+pkg, "--set-section-flags", "pydata=noload,readonly",
		testenv.Fixture(t, "pyi/boot"), progs["onefile pydata section"]).CombinedOutput(); err != nil {
		t.Fatalf("objcopy: %v\n%s", err, out)
	}

	progs["onedir"] = filepath.Join(dir, "dist", "app", "app")
	write(progs["onedir"], append(append([]byte(nil), boot...), pyitest.Archive([]pyitest.Entry{opts, script}, 311, "libpython3.11.so.1.0")...), 0o755)
	write(filepath.Join(dir, "dist", "app", "_internal", "libpython3.11.so.1.0"), py, 0o755)
	write(filepath.Join(dir, "dist", "app", "_internal", "libpyext.so.1"), ext, 0o755)
	return progs
}

// TestPyInstallerInRunc packs PyInstaller-format programs onto scratch and
// runs them in runc: the onefile ones extract their libraries into /tmp and
// run themselves again, the onedir one loads them from _internal/; all need
// libm.so.6, which PyInstaller leaves out and pack adds, and libgcc_s.so.1,
// which glibc loads for the embedded library's pthread_exit.
func TestPyInstallerInRunc(t *testing.T) {
	for name, prog := range pyiPrograms(t) {
		t.Run(name, func(t *testing.T) {
			if out, code := hostOutput(t, prog); out != pyiOutput || code != 0 {
				t.Fatalf("on the host: exit %d, %q", code, out)
			}
			report := mustRun(t, nil, "inspect", prog)
			for _, want := range []string{"Python 3.11 (libpython3.11.so.1.0)", "libpyext.so.1", "libm.so.6", "unwind: libgcc_s.so.1"} {
				if !strings.Contains(report, want) {
					t.Errorf("inspect should show %q:\n%s", want, report)
				}
			}
			layout := filepath.Join(t.TempDir(), "l")
			mustRun(t, nil, "pack", "-o", "oci:"+layout+":t", prog)
			if out, errOut, code := testenv.RunOCI(t, layout, "t"); out != pyiOutput || code != 0 {
				t.Errorf("in runc: exit %d, stdout %q, stderr %q", code, out, errOut)
			}
		})
	}
}

// TestPyInstallerTLS: PyInstaller programs shaped as PyInstaller 6 writes
// them for a script that imports ssl and sqlite3: Debian's _ssl and _sqlite3
// extension modules beside libssl.so.3, libcrypto.so.3 and libsqlite3.so.0,
// in _internal/ (onedir) or in the archive (onefile). The embedded libssl
// makes the CA bundle a need, with the links where this OpenSSL looks; the
// onedir libraries are read while their files are open (they were read
// after closing: "file already closed", and no CA bundle).
func TestPyInstallerTLS(t *testing.T) {
	const dynload = "/usr/lib/python3.11/lib-dynload/"
	libs := map[string]string{
		"libssl.so.3":     "/usr/lib/x86_64-linux-gnu/libssl.so.3",
		"libcrypto.so.3":  "/usr/lib/x86_64-linux-gnu/libcrypto.so.3",
		"libsqlite3.so.0": "/usr/lib/x86_64-linux-gnu/libsqlite3.so.0",
		"lib-dynload/_ssl.cpython-311-x86_64-linux-gnu.so":     dynload + "_ssl.cpython-311-x86_64-linux-gnu.so",
		"lib-dynload/_sqlite3.cpython-311-x86_64-linux-gnu.so": dynload + "_sqlite3.cpython-311-x86_64-linux-gnu.so",
	}
	for _, p := range libs {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("SKIP: %s missing (Debian's python3.11, libssl3, libsqlite3-0)", p)
		}
	}
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	boot, py, ext := read(testenv.Fixture(t, "pyi/boot")), read(testenv.Fixture(t, "pyi/libpython3.11.so.1.0")), read(testenv.Fixture(t, "pyi/libpyext.so.1"))
	opts := pyitest.Entry{Name: "pyi-runtime-tmpdir", Type: 'o'}
	script := pyitest.Entry{Name: "app", Type: 's', Data: []byte("app.py"), Compress: true}
	dir := t.TempDir()
	write := func(p string, b []byte) {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	progs := map[string]string{"onedir": filepath.Join(dir, "dist", "app", "app"), "onefile": filepath.Join(dir, "onefile", "app")}
	internal := filepath.Join(dir, "dist", "app", "_internal")
	write(progs["onedir"], append(append([]byte(nil), boot...), pyitest.Archive([]pyitest.Entry{opts, script}, 311, "libpython3.11.so.1.0")...))
	write(filepath.Join(internal, "libpython3.11.so.1.0"), py)
	write(filepath.Join(internal, "libpyext.so.1"), ext)
	entries := []pyitest.Entry{opts, {Name: "libpython3.11.so.1.0", Type: 'b', Data: py, Compress: true}, {Name: "libpyext.so.1", Type: 'b', Data: ext}}
	for name, src := range libs {
		b := read(src)
		write(filepath.Join(internal, name), b)
		entries = append(entries, pyitest.Entry{Name: name, Type: 'b', Data: b, Compress: true})
	}
	write(progs["onefile"], append(append([]byte(nil), boot...), pyitest.Archive(append(entries, script), 311, "libpython3.11.so.1.0")...))

	for name, prog := range progs {
		t.Run(name, func(t *testing.T) {
			inspect := mustRun(t, nil, "inspect", prog)
			if !strings.Contains(inspect, "ca-certs") || strings.Contains(inspect, "already closed") {
				t.Errorf("inspect should show the ca-certs need, without reading errors:\n%s", inspect)
			}
			layout := filepath.Join(t.TempDir(), "l")
			_, report, code := run(t, nil, "pack", "-o", "oci:"+layout+":t", prog)
			if code != 0 || strings.Contains(report, "already closed") {
				t.Fatalf("pack: exit %d\n%s", code, report)
			}
			var files []struct{ Path, Target string }
			if err := jsonUnmarshal(mustRun(t, nil, "ls", "--json", "oci:"+layout+":t"), &files); err != nil {
				t.Fatal(err)
			}
			have := map[string]string{}
			for _, f := range files {
				have[f.Path] = f.Target
			}
			if _, ok := have["/etc/ssl/certs/ca-certificates.crt"]; !ok {
				t.Errorf("the image has no CA bundle:\n%s", report)
			}
			if have["/usr/lib/ssl/cert.pem"] == "" {
				t.Errorf("the image has no /usr/lib/ssl/cert.pem link to the bundle (OPENSSLDIR of the embedded libcrypto):\n%s", report)
			}
			if out, errOut, code := testenv.RunOCI(t, layout, "t"); out != pyiOutput || code != 0 {
				t.Errorf("in runc: exit %d, stdout %q, stderr %q", code, out, errOut)
			}
		})
	}
}
