package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scratchpack/scratchpack/internal/testenv"

	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// Hostile inputs given to pack through the CLI: each must give a clear error
// or a correct image, in bounded time and memory, and read nothing it was not
// asked to read.

// runBounded runs scratchpack, killing it after limit; it returns stderr, the
// exit code and the peak RSS in KiB.
func runBounded(t *testing.T, limit time.Duration, args ...string) (string, int, int64) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(limit, func() { cmd.Process.Kill() })
	err := cmd.Wait()
	if !timer.Stop() {
		t.Fatalf("scratchpack %s: still running after %s (killed)", strings.Join(args, " "), limit)
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss
	return stderr.String(), cmd.ProcessState.ExitCode(), rss
}

func TestPackProgramNotARegularFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	sparse := filepath.Join(dir, "sparse")
	f, err := os.Create(sparse)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(4 << 30); err != nil {
		t.Fatal(err)
	}
	f.Close()
	elfSparse := filepath.Join(dir, "sparse-elf")
	hello, err := os.ReadFile(testenv.Fixture(t, "hello-c"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(elfSparse, hello, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(elfSparse, 4<<30); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, program string
		code          int
		want          string
	}{
		{"fifo", fifo, exitBadInput, "not a regular file"},
		{"/dev/zero", "/dev/zero", exitBadInput, "not a regular file"},
		{"/dev/null", "/dev/null", exitBadInput, "not a regular file"},
		{"directory", dir, exitBadInput, "not a regular file"},
		{"4 GiB of zeros", sparse, exitBadInput, "not an ELF"},
		// A real ELF header with 4 GiB of zeros behind it: the packer reads
		// what the headers point at, not the whole file, until it writes it.
		{"4 GiB ELF", elfSparse, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "img.tar")
			start := time.Now()
			errOut, code, rss := runBounded(t, 2*time.Minute, "pack", "-o", "oci-archive:"+out, tc.program)
			t.Logf("%s: exit %d in %s, peak RSS %d MiB", tc.name, code, time.Since(start).Round(time.Millisecond), rss>>10)
			if code != tc.code || !strings.Contains(errOut, tc.want) {
				t.Fatalf("exit %d, want %d with %q:\n%s", code, tc.code, tc.want, errOut)
			}
			if rss > 256<<10 {
				t.Errorf("peak RSS %d MiB: memory is not bounded by the input's headers", rss>>10)
			}
			if code != 0 {
				if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("a failed pack left %s (%v)", out, err)
				}
			}
		})
	}
}

// TestPackAddRefusals: sources --add will not copy, each refused with exit 2
// and nothing written.
func TestPackAddRefusals(t *testing.T) {
	hello := testenv.Fixture(t, "hello-c")
	dir := t.TempDir()
	shadowLink := filepath.Join(dir, "config.yaml")
	if err := os.Symlink("/etc/shadow", shadowLink); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	fake := filepath.Join(dir, "ld.so")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other")
	if err := os.WriteFile(other, []byte("other\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		adds []string
		want string
	}{
		{"symlink to /etc/shadow", []string{shadowLink + ":/etc/app/config.yaml"}, "never read through links"},
		{"device", []string{"/dev/null:/dev/null"}, "only files, directories and links"},
		{"fifo", []string{fifo + ":/fifo"}, "only files, directories and links"},
		{"over the interpreter", []string{fake + ":/lib64/ld-linux-x86-64.so.2"}, "interpreter"},
		{"over the file behind the interpreter", []string{fake + ":/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"}, "interpreter"},
		// Conflicts are bad input too (exit 2), not I/O failures.
		{"two files at one path", []string{fake + ":/etc/app.conf", other + ":/etc/app.conf"}, "two different files"},
		{"a file where a directory must be", []string{fake + ":/etc/app", other + ":/etc/app/conf"}, "needs it to be a directory"},
		{"over the program", []string{other + ":/app/hello-c"}, "two different files"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "img.tar")
			args := []string{"pack"}
			for _, a := range tc.adds {
				args = append(args, "--add", a)
			}
			errOut, code, _ := runBounded(t, time.Minute, append(args, "-o", "oci-archive:"+out, hello)...)
			if code != exitBadInput || !strings.Contains(errOut, tc.want) {
				t.Fatalf("exit %d, want %d with %q:\n%s", code, exitBadInput, tc.want, errOut)
			}
			if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a refused pack left %s (%v)", out, err)
			}
		})
	}
}

// TestPackImageHeaders: whatever the host modes and owners, the layer has
// no setuid/setgid bits (unless --keep-suid, and then only where the source
// had them), the sticky bit only on /tmp, no devices, owner 0:0, and links
// inside an added directory stay links (the file behind them is never read).
func TestPackImageHeaders(t *testing.T) {
	hello := testenv.Fixture(t, "hello-c")
	src := t.TempDir()
	suid := filepath.Join(src, "suid")
	if err := os.WriteFile(suid, []byte("x"), 0o755); err != nil {
		t.Fatal(err)
	}
	tree := filepath.Join(src, "tree")
	if err := os.MkdirAll(tree, 0o755); err != nil {
		t.Fatal(err)
	}
	for p, mode := range map[string]os.FileMode{suid: 0o755 | os.ModeSetuid | os.ModeSetgid, tree: 0o755 | os.ModeSetgid | os.ModeSticky} {
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("/etc/shadow", filepath.Join(tree, "shadow")); err != nil {
		t.Fatal(err)
	}
	owned := filepath.Join(tree, "owned")
	if err := os.WriteFile(owned, []byte("y"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chown(owned, 1234, 5678)                                  // as root; otherwise the file is the invoking user's
	if err := os.Chmod(owned, 0o644|os.ModeSetuid); err != nil { // after chown, which clears it
		t.Fatal(err)
	}
	for _, tc := range []struct {
		flags []string
		modes map[string]int64 // tar header modes of some files
	}{
		{nil, map[string]int64{"usr/bin/suid": 0o755, "data/owned": 0o644, "data/": 0o755, "tmp/": 0o1777}},
		{[]string{"--keep-suid"}, map[string]int64{"usr/bin/suid": 0o6755, "data/owned": 0o4644, "data/": 0o755, "app/hello-c": 0o755}},
	} {
		t.Run(fmt.Sprint(tc.flags), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "oci")
			args := append([]string{"pack", "--add", suid + ":/usr/bin/suid", "--add", tree + ":/data", "-o", "oci:" + out}, tc.flags...)
			seen := layerHeaders(t, out, append(args, hello)...)
			for name, mode := range tc.modes {
				if h := seen[name]; h == nil || h.Mode != mode {
					t.Errorf("%s: %+v, want mode %#o", name, h, mode)
				}
			}
			for name, h := range seen {
				if h.Mode&0o6000 != 0 && tc.modes[name] == 0 {
					t.Errorf("%s: mode %#o has setuid/setgid bits its source did not have", name, h.Mode)
				}
			}
			if h := seen["data/shadow"]; h == nil || h.Typeflag != tar.TypeSymlink || h.Linkname != "/etc/shadow" || h.Size != 0 {
				t.Errorf("data/shadow: %+v, want a link to /etc/shadow", h)
			}
		})
	}
}

// layerHeaders runs scratchpack with args, which write the image to the
// oci: layout out, and returns the headers of its layers by name, checking
// what holds for every image: owner 0:0 without names (/home/nonroot is
// 65532:65532), only files,
// directories and links, the sticky bit on /tmp alone.
func layerHeaders(t *testing.T, out string, args ...string) map[string]*tar.Header {
	t.Helper()
	mustRun(t, nil, args...)
	idx, err := layout.ImageIndexFromPath(out)
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	img, err := idx.Image(m.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]*tar.Header{}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			seen[h.Name] = h
			if h.Mode&0o1000 != 0 && h.Name != "tmp/" {
				t.Errorf("%s: mode %#o has the sticky bit", h.Name, h.Mode)
			}
			owner := 0 // but nonroot's home, as distroless has it
			if h.Name == "home/nonroot/" {
				owner = 65532
			}
			if h.Uid != owner || h.Gid != owner || h.Uname != "" || h.Gname != "" {
				t.Errorf("%s: owner %d:%d (%q:%q), want %d:%d and no names", h.Name, h.Uid, h.Gid, h.Uname, h.Gname, owner, owner)
			}
			switch h.Typeflag {
			case tar.TypeReg, tar.TypeDir, tar.TypeSymlink:
			default:
				t.Errorf("%s: tar type %q: only files, directories and links belong in an image", h.Name, h.Typeflag)
			}
		}
		rc.Close()
	}
	return seen
}

// TestPackSysrootStaysInside: links in a --sysroot that point outside it
// (absolute, or with ..) resolve inside it, as in a chroot. The files
// outside are a working glibc: reading them would make the pack succeed, so
// it must fail for want of the loader; strace shows nothing outside was opened.
func TestPackSysrootStaysInside(t *testing.T) {
	hello := testenv.Fixture(t, "hello-c")
	strace, err := exec.LookPath("strace")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("strace missing: scripts/install-deps.sh installs it")
		}
		t.Skip("SKIP: strace missing")
	}
	outside := t.TempDir() // the canary: a working loader and libc
	for _, d := range []string{"lib64", "lib/x86_64-linux-gnu"} {
		if err := os.MkdirAll(filepath.Join(outside, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/libc.so.6"} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Skipf("SKIP: no host glibc at %s: %v", f, err)
		}
		if err := os.WriteFile(filepath.Join(outside, f), data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	tests := map[string]func(root string) error{
		"absolute links": func(root string) error {
			if err := os.Symlink(filepath.Join(outside, "lib64"), filepath.Join(root, "lib64")); err != nil {
				return err
			}
			return os.Symlink(filepath.Join(outside, "lib"), filepath.Join(root, "lib"))
		},
		"dot-dot links": func(root string) error {
			up := strings.Repeat("../", strings.Count(root, "/")+2)
			if err := os.Symlink(up+strings.TrimPrefix(outside, "/")+"/lib64", filepath.Join(root, "lib64")); err != nil {
				return err
			}
			return os.Symlink(up+strings.TrimPrefix(outside, "/")+"/lib", filepath.Join(root, "lib"))
		},
		"loops": func(root string) error {
			if err := os.Symlink("lib64", filepath.Join(root, "lib64")); err != nil {
				return err
			}
			if err := os.Symlink("b", filepath.Join(root, "lib")); err != nil {
				return err
			}
			return os.Symlink("lib", filepath.Join(root, "b"))
		},
	}
	for name, setup := range tests {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			if err := setup(root); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "img.tar")
			log := filepath.Join(t.TempDir(), "strace.log")
			cmd := exec.Command(strace, "-f", "-qq", "-e", "trace=%file", "-o", log, bin, "pack", "--sysroot", root, "-o", "oci-archive:"+out, hello)
			errOut, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != exitWontRun {
				t.Fatalf("pack --sysroot with %s: %v, want exit %d (no loader inside the root):\n%s", name, err, exitWontRun, errOut)
			}
			trace, err := os.ReadFile(log)
			if err != nil {
				t.Fatal(err)
			}
			for _, line := range strings.Split(string(trace), "\n") {
				if strings.Contains(line, outside) && !strings.Contains(line, "readlink") {
					t.Errorf("read outside the sysroot: %s", line)
				}
			}
		})
	}
}
