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
