package testenv

import (
	"archive/tar"
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// aptSourcesGlob is where DebianRoot looks for this machine's apt sources.
const aptSourcesGlob = "/etc/apt/sources.list.d/*.sources"

// defaultBookwormSources stand in for this machine's sources when none of
// them names bookworm (a machine of another release or distribution).
var defaultBookwormSources = []aptSource{
	{Text: "deb http://deb.debian.org/debian bookworm main"},
	{Text: "deb http://deb.debian.org/debian bookworm-updates main"},
	{Text: "deb http://deb.debian.org/debian-security bookworm-security main"},
}

// mergedUsrHooks is mmdebstrap's hook directory that makes /bin, /sbin and
// /lib links into /usr before anything is unpacked, as debootstrap does.
const mergedUsrHooks = "/usr/share/mmdebstrap/hooks/merged-usr"

// mmdebstrapTimeout bounds one mmdebstrap run (it downloads ~100 MB).
const mmdebstrapTimeout = 15 * time.Minute

// mmdebstrapRuns counts this process's mmdebstrap runs by root name, for
// the test that the cache is used.
var mmdebstrapRuns struct {
	sync.Mutex
	n map[string]int
}

func countMmdebstrapRun(name string) {
	mmdebstrapRuns.Lock()
	defer mmdebstrapRuns.Unlock()
	if mmdebstrapRuns.n == nil {
		mmdebstrapRuns.n = map[string]int{}
	}
	mmdebstrapRuns.n[name]++
}

func mmdebstrapRunsOf(name string) int {
	mmdebstrapRuns.Lock()
	defer mmdebstrapRuns.Unlock()
	return mmdebstrapRuns.n[name]
}

// aptSource is one mmdebstrap MIRROR argument: a deb822 sources file of
// this machine (File and its content), or a one-line "deb …" entry.
type aptSource struct {
	File string `json:"file,omitempty"`
	Text string `json:"text"`
}

// arg is the MIRROR argument: mmdebstrap pastes an existing file's content
// into the root's sources list, and takes "deb …" as one entry.
func (s aptSource) arg() string {
	if s.File != "" {
		return s.File
	}
	return s.Text
}

// bookwormSources returns this machine's deb822 apt sources files that
// name a bookworm suite, in name order, or defaultBookwormSources.
func bookwormSources() ([]aptSource, error) {
	files, err := filepath.Glob(aptSourcesGlob)
	if err != nil {
		return nil, err
	}
	var sources []aptSource
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("reading apt sources: %w", err)
		}
		if namesBookworm(string(b)) {
			sources = append(sources, aptSource{File: f, Text: string(b)})
		}
	}
	if len(sources) == 0 {
		return defaultBookwormSources, nil
	}
	return sources, nil
}

// namesBookworm reports whether a deb822 sources file has a Suites field
// with bookworm or one of its suites (bookworm-updates, ...).
func namesBookworm(deb822 string) bool {
	for _, line := range strings.Split(deb822, "\n") {
		suites, ok := strings.CutPrefix(strings.TrimSpace(line), "Suites:")
		if !ok {
			continue
		}
		for _, s := range strings.Fields(suites) {
			if s == debianSuite || strings.HasPrefix(s, debianSuite+"-") {
				return true
			}
		}
	}
	return false
}

// options are mmdebstrap's options and suite for this root (no mirrors):
// the image history records them.
func (r *debianRoot) options() []string {
	args := []string{"--variant=" + r.spec.Variant, "--architectures=" + r.spec.Arch}
	if len(r.spec.Packages) > 0 {
		args = append(args, "--include="+strings.Join(r.spec.Packages, ","))
	}
	if r.spec.Variant == "extract" {
		args = append(args, "--hook-dir="+mergedUsrHooks)
	}
	return append(args, debianSuite)
}

// build runs mmdebstrap (the executable bin) and writes its tar, filtered
// by filterRootTar, to out. mmdebstrap's messages go to NAME.log next to
// the root, and the cache key to NAME.json.
func (r *debianRoot) build(bin string, out io.Writer) (err error) {
	if r.spec.Variant == "extract" {
		if _, err := os.Stat(mergedUsrHooks); err != nil {
			return fmt.Errorf("mmdebstrap's merged-/usr hooks are missing (reinstall the Debian package mmdebstrap): %w", err)
		}
	}
	base := filepath.Join(debianCacheDir, r.name)
	logPath := base + ".log"
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()

	args := append([]string{"--mode=root", "--format=tar"}, r.options()...)
	args = append(args, "-") // the tar goes to standard output
	for _, s := range r.sources {
		args = append(args, s.arg())
	}
	ctx, cancel := context.WithTimeout(context.Background(), mmdebstrapTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = cleanEnv([]string{"SOURCE_DATE_EPOCH="}, "SOURCE_DATE_EPOCH="+strconv.FormatInt(debianEpoch.Unix(), 10))
	cmd.Stderr = logFile
	// On timeout, SIGTERM to the whole group lets mmdebstrap unmount what
	// it mounted in its chroot and remove it; SIGKILL a minute later.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = time.Minute
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmdline := "mmdebstrap " + strings.Join(args, " ")
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", cmdline, err)
	}
	countMmdebstrapRun(r.name)
	ferr := filterRootTar(out, stdout)
	if ferr != nil {
		cmd.Cancel()
		io.Copy(io.Discard, stdout)
	}
	werr := cmd.Wait()
	if ctx.Err() != nil {
		werr = fmt.Errorf("%w after %v", ctx.Err(), mmdebstrapTimeout)
	}
	switch {
	case werr != nil:
		return fmt.Errorf("%s: %w\nthe last lines of %s:\n%s\n(it needs network access to the mirrors of %s)",
			cmdline, werr, logPath, tail(logPath, 15), sourcesNames(r.sources))
	case ferr != nil:
		return fmt.Errorf("reading the tar of %s: %w", cmdline, ferr)
	}
	return writeDebianKey(base+".json", r, cmdline, time.Since(start))
}

func sourcesNames(sources []aptSource) string {
	var names []string
	for _, s := range sources {
		names = append(names, s.arg())
	}
	return strings.Join(names, ", ")
}

// writeDebianKey writes, for people, what the root at base+".tar" was made
// of and how long it took.
func writeDebianKey(path string, r *debianRoot, cmdline string, took time.Duration) error {
	b, err := json.MarshalIndent(struct {
		debianKey
		Command string `json:"command"`
		Seconds int    `json:"seconds"`
	}{
		debianKey{debianRecipe, debianSuite, r.spec.Arch, r.spec.Variant, r.spec.Packages, r.sources},
		cmdline, int(took.Seconds()),
	}, "", "\t")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// filterRootTar copies the tar stream src to dst less the entries no
// image holds: everything under dev/ (mmdebstrap's device nodes and
// /proc/self/fd links; the directory itself stays) and etc/resolv.conf and
// etc/hostname, copies of this machine's.
func filterRootTar(dst io.Writer, src io.Reader) error {
	bw := bufio.NewWriterSize(dst, 1<<20)
	tr := tar.NewReader(bufio.NewReaderSize(src, 1<<20))
	tw := tar.NewWriter(bw)
	entries := 0
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(hdr.Name, "./")
		if strings.HasPrefix(name, "dev/") && name != "dev/" || name == "etc/resolv.conf" || name == "etc/hostname" {
			continue
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("%s: %w", hdr.Name, err)
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return fmt.Errorf("%s: %w", hdr.Name, err)
		}
		entries++
	}
	if entries == 0 {
		return errors.New("the tar is empty")
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return bw.Flush()
}
