package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/scratchpack/scratchpack/internal/testenv"
	"github.com/scratchpack/scratchpack/transfer"
)

// busyboxBases writes the busybox:glibc-shaped base as an OCI layout (gzip
// layers) and as a docker save archive (uncompressed layers), and returns
// their references, and the paths of the base's file system.
func busyboxBases(t *testing.T) (map[string]string, []string) {
	t.Helper()
	img := testenv.BusyboxGlibcImage(t)
	dir := t.TempDir()
	testenv.WriteOCILayout(t, img, filepath.Join(dir, "oci"), "glibc")
	testenv.WriteDockerSave(t, img, filepath.Join(dir, "saved.tar"), "busybox:glibc")
	refs := map[string]string{
		"oci layout":         "oci:" + filepath.Join(dir, "oci") + ":glibc",
		"docker save":        "docker-archive:" + filepath.Join(dir, "saved.tar"),
		"docker save by tag": "docker-archive:" + filepath.Join(dir, "saved.tar") + ":busybox:glibc",
	}
	bfs, err := transfer.OpenBase(context.Background(), img)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	err = fs.WalkDir(bfs, ".", func(p string, d fs.DirEntry, err error) error {
		if p != "." {
			paths = append(paths, p)
		}
		return err
	})
	if err != nil || len(paths) < 10 {
		t.Fatalf("the base's paths: %v, %d of them", err, len(paths))
	}
	return refs, paths
}

// createdUnder runs scratchpack under strace with TMPDIR set to a new
// directory, and returns every path it created there (files, directories,
// links), relative to it. strace -y names the directory of each *at call.
func createdUnder(t *testing.T, args ...string) (created []string, out string, code int) {
	t.Helper()
	strace, err := exec.LookPath("strace")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("strace missing: scripts/install-deps.sh installs it")
		}
		t.Skip("SKIP: strace missing")
	}
	tmp := t.TempDir()
	log := filepath.Join(t.TempDir(), "strace.log")
	cmd := exec.Command(strace, append([]string{"-f", "-qq", "-y", "-o", log,
		"-e", "trace=openat,open,creat,mkdir,mkdirat,symlink,symlinkat,link,linkat,mknod,mknodat,rename,renameat,renameat2", bin}, args...)...)
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	trace, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	// openat(5</tmp/x/d>, "usr", O_RDONLY|O_CREAT...) = 7</tmp/x/d/usr>: the
	// result names what was opened or made; mkdirat and the others return 0,
	// so their directory (a descriptor, or AT_FDCWD</cwd>) and name are
	// joined, the last pair of the call being what it made (linkat and
	// renameat name the old path first).
	result := regexp.MustCompile(`= \d+<([^>]*)>$`)
	atCall := regexp.MustCompile(`(mkdirat|symlinkat|linkat|mknodat|renameat2?)\(.*(?:\d+|AT_FDCWD)(?:<([^>]*)>)?, "([^"]*)"[^"]*\) = 0$`)
	pathCall := regexp.MustCompile(`(mkdir|symlink|link|rename|mknod)\(.*"([^"]*)"[^"]*\) = 0$`)
	for _, line := range strings.Split(string(trace), "\n") {
		var p string
		switch {
		case strings.Contains(line, "O_CREAT") && result.MatchString(line):
			p = result.FindStringSubmatch(line)[1]
		case atCall.MatchString(line):
			m := atCall.FindStringSubmatch(line)
			p = m[3]
			if !filepath.IsAbs(p) && m[2] != "" {
				p = filepath.Join(m[2], p)
			}
		case pathCall.MatchString(line):
			p = pathCall.FindStringSubmatch(line)[2]
		}
		if rel, err := filepath.Rel(tmp, p); p != "" && err == nil && !strings.HasPrefix(rel, "..") {
			created = append(created, rel)
		}
	}
	return created, stdout.String() + stderr.String(), code
}

// TestBaseNotUnpacked: pack and check on a base, from an OCI layout and a
// docker save archive, create nothing of the base under TMPDIR (strace sees
// every file made there), and the image runs: the base is read from an
// index of its layers, never unpacked.
func TestBaseNotUnpacked(t *testing.T) {
	prog := testenv.Fixture(t, "hello-cc")
	refs, paths := busyboxBases(t)
	for name, base := range refs {
		t.Run(name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			for _, args := range [][]string{
				{"pack", "--no-cache", "--base", base, "-o", "oci:" + out + ":app", prog},
				{"check", "--no-cache", "--base", base, testenv.Fixture(t, "hello-c")},
			} {
				created, output, code := createdUnder(t, args...)
				if code != 0 {
					t.Fatalf("%s: exit %d\n%s", args[0], code, output)
				}
				if args[0] == "pack" && !slices.ContainsFunc(created, func(c string) bool { return !strings.Contains(c, "/") }) {
					t.Fatalf("pack made no work directory under TMPDIR, as strace saw it (%q): the watcher sees nothing", created)
				}
				for _, c := range created {
					for _, p := range paths {
						if c == p || strings.HasSuffix(c, "/"+p) {
							t.Errorf("%s created the base's %s under TMPDIR: %s", args[0], p, c)
						}
					}
				}
				t.Logf("%s created under TMPDIR: %q", args[0], created)
			}
			if got, _, code := testenv.RunOCI(t, out, "app"); got != "hello from C++\n" || code != 0 {
				t.Errorf("the program on the base printed %q, exit %d", got, code)
			}
		})
	}
}

// flipByte changes one byte of file at off, in place.
func flipByte(t *testing.T, file string, off int64) {
	t.Helper()
	if err := os.Chmod(file, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(file, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xff
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// layerBlob is the file and size of the only layer blob of the OCI layout
// dir's image.
func layerBlob(t *testing.T, dir string) (string, int64) {
	t.Helper()
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	l := m.Layers[len(m.Layers)-1]
	return filepath.Join(dir, "blobs", l.Digest.Algorithm, l.Digest.Hex), l.Size
}

// TestBaseIndexCache: the second check or pack on a base reads none of its
// layers (the base's layer is then damaged in place, and check still
// answers from the cache, where one without the cache fails), but a
// damaged layer never reaches an output: pack copies a base's blob without
// reading it only while its file is as it was when it was checked. A
// damaged cache (index or file blobs) costs a pass over the layers, never
// a wrong answer.
func TestBaseIndexCache(t *testing.T) {
	prog := testenv.Fixture(t, "hello-c")
	img := testenv.BusyboxGlibcImage(t)
	for _, tc := range []struct {
		name  string
		write func(dir string) (ref, file string, off int64)
	}{
		{"docker save", func(dir string) (string, string, int64) {
			file := filepath.Join(dir, "saved.tar")
			testenv.WriteDockerSave(t, img, file, "busybox:glibc")
			fi, err := os.Stat(file)
			if err != nil {
				t.Fatal(err)
			}
			return "docker-archive:" + file, file, fi.Size() / 2 // inside the layer, the bulk of the archive
		}},
		{"oci layout", func(dir string) (string, string, int64) {
			testenv.WriteOCILayout(t, img, filepath.Join(dir, "oci"), "glibc")
			blob, size := layerBlob(t, filepath.Join(dir, "oci"))
			return "oci:" + filepath.Join(dir, "oci") + ":glibc", blob, size / 2
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base, file, off := tc.write(t.TempDir())
			settle(t, file)
			cache := filepath.Join(t.TempDir(), "cache")
			check := func(args ...string) (string, int) {
				out, errOut, code := run(t, nil, append([]string{"check", "--base", base}, append(args, prog)...)...)
				return out + errOut, code
			}
			pack := func() (string, string, int) {
				out := filepath.Join(t.TempDir(), "out")
				digest, errOut, code := run(t, nil, "pack", "--cache", cache, "--base", base, "-o", "oci:"+out, prog)
				return strings.TrimSpace(digest), errOut, code
			}
			if out, code := check("--cache", cache); code != checkRuns {
				t.Fatalf("first check: exit %d\n%s", code, out)
			}
			want, errOut, code := pack()
			if code != 0 {
				t.Fatalf("first pack: exit %d\n%s", code, errOut)
			}
			original, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			flipByte(t, file, off)
			if out, code := check("--no-cache"); code != checkCantTell || !strings.Contains(out, "digest") {
				t.Fatalf("check --no-cache of the damaged base: exit %d (want %d, naming the digest)\n%s", code, checkCantTell, out)
			}
			if out, code := check("--cache", cache); code != checkRuns {
				t.Errorf("check with the cache read the damaged layer: exit %d\n%s", code, out)
			}
			if digest, errOut, code := pack(); code != exitRegistry || !strings.Contains(errOut, "digest") {
				t.Errorf("pack onto the damaged base with the cache: %s exit %d (want %d naming the digest)\n%s", digest, code, exitRegistry, errOut)
			}

			// The base as it was; the cache damaged: every blob it names.
			if err := os.WriteFile(file, original, 0o644); err != nil {
				t.Fatal(err)
			}
			settle(t, file)
			damageCache(t, cache)
			if out, code := check("--cache", cache); code != checkRuns {
				t.Errorf("check with a damaged cache: exit %d\n%s", code, out)
			}
			if got, errOut, code := pack(); code != 0 || got != want {
				t.Errorf("pack with a damaged cache: %s exit %d, want %s\n%s", got, code, want, errOut)
			}
		})
	}
}

// settle waits until file last changed more than two seconds ago: a file
// changed within the last moments is not trusted by its stamp afterwards
// (layercache.Stamp.Settled), and its ctime cannot be set back.
func settle(t *testing.T, file string) {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(file, &st); err != nil {
		t.Fatal(err)
	}
	if d := time.Until(time.Unix(st.Ctim.Unix()).Add(2100 * time.Millisecond)); d > 0 {
		time.Sleep(d)
	}
}

// damageCache flips a byte in every blob the cache's base records name
// (the index and the files read from the base).
func damageCache(t *testing.T, cache string) {
	t.Helper()
	records, err := filepath.Glob(filepath.Join(cache, "bases", "*.json"))
	if err != nil || len(records) == 0 {
		t.Fatalf("no base records in %s: %v", cache, err)
	}
	for _, r := range records {
		raw, err := os.ReadFile(r)
		if err != nil {
			t.Fatal(err)
		}
		var rec struct {
			Index v1.Hash
			Files []struct{ Digest v1.Hash }
		}
		if err := json.Unmarshal(raw, &rec); err != nil {
			t.Fatal(err)
		}
		blobs := []v1.Hash{rec.Index}
		for _, f := range rec.Files {
			blobs = append(blobs, f.Digest)
		}
		for _, h := range blobs {
			p := filepath.Join(cache, "blobs", h.Algorithm, h.Hex)
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			flipByte(t, p, fi.Size()/2)
		}
	}
}

// TestCheckSeveralPrograms: check takes several programs against one
// base, says of each whether it runs, and exits with the worst of their
// codes; --json gives one verdict a line.
func TestCheckSeveralPrograms(t *testing.T) {
	refs, _ := busyboxBases(t)
	base := refs["docker save"]
	runs, wontRun := testenv.Fixture(t, "hello-c"), testenv.Fixture(t, "hello-musl")
	notELF := filepath.Join(t.TempDir(), "script.sh")
	if err := os.WriteFile(notELF, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		progs []string
		code  int
		lines []string
	}{
		{[]string{runs, testenv.Fixture(t, "hello-go")}, checkRuns, []string{runs + " on " + base + ": runs", "hello-go on " + base + ": runs"}},
		{[]string{runs, wontRun}, checkWontRun, []string{runs + " on " + base + ": runs", wontRun + " on " + base + ": WILL NOT RUN"}},
		{[]string{notELF, wontRun, runs}, checkCantTell, []string{notELF + " on " + base + ": COULD NOT TELL", wontRun + " on " + base + ": WILL NOT RUN", runs + " on " + base + ": runs"}},
	} {
		out, errOut, code := run(t, nil, append([]string{"check", "--base", base}, tc.progs...)...)
		if code != tc.code {
			t.Errorf("check %q: exit %d, want %d\n%s%s", tc.progs, code, tc.code, out, errOut)
		}
		for _, l := range tc.lines {
			if !strings.Contains(out, l) {
				t.Errorf("check %q: no %q in\n%s", tc.progs, l, out)
			}
		}
		out, _, _ = run(t, nil, append([]string{"check", "--json", "--base", base}, tc.progs...)...)
		var got []string
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var v struct {
				Program string
				Runs    bool
				Error   string
			}
			if err := json.Unmarshal([]byte(line), &v); err != nil {
				t.Fatalf("check --json: %v\n%s", err, out)
			}
			got = append(got, v.Program)
			if (v.Error != "") != (v.Program == notELF) {
				t.Errorf("check --json: %s has error %q", v.Program, v.Error)
			}
		}
		if strings.Join(got, " ") != strings.Join(tc.progs, " ") {
			t.Errorf("check --json: programs %q, want %q in order", got, tc.progs)
		}
	}
}

// TestHostileBaseNotUnpacked: pack and check on a base whose layers reach
// outside its root (../ names, links out, a hard link to a file outside,
// a whiteout) create none of its paths, under TMPDIR or outside: the
// directory the layers point at holds only its canary, untouched.
func TestHostileBaseNotUnpacked(t *testing.T) {
	outside := t.TempDir()
	canary := filepath.Join(outside, "canary")
	if err := os.WriteFile(canary, []byte("untouched"), 0o644); err != nil {
		t.Fatal(err)
	}
	saved := filepath.Join(t.TempDir(), "hostile.tar")
	testenv.WriteDockerSave(t, hostileImage(t, outside), saved, "hostile:1")
	base := "docker-archive:" + saved
	out := filepath.Join(t.TempDir(), "out")
	for _, args := range [][]string{
		{"pack", "--no-cache", "--base", base, "-o", "oci:" + out + ":app", testenv.Fixture(t, "hello-cc")},
		{"check", "--no-cache", "--base", base, testenv.Fixture(t, "hello-c")},
	} {
		created, output, code := createdUnder(t, args...)
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s", args[0], code, output)
		}
		for _, c := range created {
			for _, name := range []string{"dotdot", "evil", "rel", "proc", "work", "gone", "through-link", "through-rel", "hard"} {
				if filepath.Base(c) == name {
					t.Errorf("%s created the base's %s under TMPDIR: %s", args[0], name, c)
				}
			}
		}
		t.Logf("%s created under TMPDIR: %q", args[0], created)
	}
	if b, err := os.ReadFile(canary); err != nil || string(b) != "untouched" {
		t.Errorf("canary: %q %v", b, err)
	}
	if entries, err := os.ReadDir(outside); err != nil || len(entries) != 1 {
		t.Errorf("outside the root now: %v %v; want only the canary", entries, err)
	}
}

// TestPackOnDamagedBaseNamesTheDamage: a docker save base whose ELF
// files were changed inside the archive (their magic, so that its loader
// and libc are no ELF files, and the host's would be added) is refused
// for its layer's digest, with no report of an image: pack reads the
// base's headers before its hash is known, and what it made of the bytes
// counts only once they are found right. No output and no cache record
// is left.
func TestPackOnDamagedBaseNamesTheDamage(t *testing.T) {
	prog := testenv.Fixture(t, "hello-c")
	file := filepath.Join(t.TempDir(), "saved.tar")
	testenv.WriteDockerSave(t, testenv.BusyboxGlibcImage(t), file, "busybox:glibc")
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	magic := []byte("\x7fELF\x02\x01\x01")
	if n := bytes.Count(b, magic); n < 2 {
		t.Fatalf("the base holds %d ELF files", n)
	}
	if err := os.WriteFile(file, bytes.ReplaceAll(b, magic, []byte("\x7fELG\x02\x01\x01")), 0o644); err != nil {
		t.Fatal(err)
	}
	settle(t, file)
	cache := filepath.Join(t.TempDir(), "cache")
	out := filepath.Join(t.TempDir(), "out")
	_, errOut, code := run(t, nil, "pack", "--cache", cache, "--base", "docker-archive:"+file, "-o", "oci:"+out, prog)
	// Not "packed ...": what was made of the bytes (the base's libc and
	// loader unreadable, the host's added instead) is not reported either.
	if code != exitRegistry || !strings.Contains(errOut, "digest") || strings.Contains(errOut, "packed") {
		t.Errorf("pack onto the damaged base: exit %d, want %d naming the layer's digest, and no report of an image\n%s", code, exitRegistry, errOut)
	}
	if _, err := os.Lstat(out); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the refused pack left %s: %v", out, err)
	}
	if records, _ := filepath.Glob(filepath.Join(cache, "bases", "*")); len(records) != 0 {
		t.Errorf("the refused pack left base records in the cache: %v", records)
	}
}
