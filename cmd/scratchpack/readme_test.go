package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

// readmeHubImages are the Docker Hub images README's examples name, and the
// local images that stand for them in the test registry.
var readmeHubImages = []struct {
	name  string
	image func(testing.TB) v1.Image
}{
	{"busybox:glibc", testenv.BusyboxGlibcImage},
	{"alpine:3.20", testenv.MuslImage},
}

// readmeRegistryNames are the registry addresses README's examples push to.
var readmeRegistryNames = []string{"127.0.0.1:5000", "registry.example.com"}

// readmeExitStatus is the exit status of the examples that README shows
// failing, keyed by the example's text; every other example must exit 0.
var readmeExitStatus = map[string]int{
	// README shows the smoke run failing: exit 3, "a failed --smoke run".
	"bin/scratchpack pack --smoke --no-runtime-extras -o oci:out:pw testdata/bin/getpwnam": exitWontRun,
}

// readmeAfter is shell run right after an example, in its shell, where the
// exit status cannot show that the example failed, keyed by the example's
// text: source <(...) succeeds whatever the command in it does.
var readmeAfter = map[string]string{
	"source <(bin/scratchpack completion bash)      # or zsh; fish: completion fish > ~/.config/fish/completions/scratchpack.fish": "complete -p scratchpack >/dev/null",
}

// readmeNotRun are the examples this test cannot run, with the reason,
// keyed by the example's text. Keep it empty, or nearly.
var readmeNotRun = map[string]string{}

// exampleTimeout bounds one example; the slowest (a build of two images, a
// run under qemu) take seconds.
const exampleTimeout = 3 * time.Minute

// TestREADMEExamples makes README.md's examples a contract: it runs every
// command line of the tool in README's code blocks (see
// parseREADMEExamples), in README order, with bash, in one working
// directory shared by all of them, so that what one example writes
// (oci:out, app.tar, busybox.tar) is there for the next. The command text
// runs as written; only the placeholders below stand for what this test
// provides. Where an example cannot work as written, fix README (add the
// missing step, correct the example), not this test.
//
// In the working directory, without changing any text:
//
//	bin/scratchpack        the binary TestMain builds
//	testdata/              the repository's testdata (a symbolic link)
//	./app                  testdata/bin/app: greets, --version, --selftest (dlopens libm); exit 2 on other arguments
//	./hello                testdata/bin/hello-c
//	./server               testdata/bin/gotls, a static Go HTTPS server
//	./conf/                a directory with app.conf, for --add ./conf:/etc/app
//	./corp-ca.pem          a self-signed CA certificate made here
//	./app.env              KEY=VALUE lines, for run --env-file
//	./scratchpack.yaml     README's own yaml block, with the files it names:
//	                       build/server (./server), build/amd64/tool (hello-c),
//	                       build/arm64/tool (hello-c-arm64), bases/busybox.tar
//	docker                 the CLI of a private dockerd (testenv.Dockerd), with DOCKER_HOST set,
//	                       for the examples that use a Docker daemon
//
// Replaced in the text (readmePlaceholders), as whole words:
//
//	busybox:glibc, alpine:3.20           ADDR/busybox:glibc, ADDR/alpine:3.20 in a local registry
//	                                     (testenv.BusyboxGlibcImage, testenv.MuslImage)
//	127.0.0.1:5000, registry.example.com ADDR, that registry's 127.0.0.1:PORT
//	/etc/app.conf                        DIR/etc/app.conf in the working directory
//
// An example that runs an arm64 image runs with qemu-user registered
// (testenv.QemuBinfmt). Every example must exit 0, except those
// readmeExitStatus lists; readmeAfter checks what an exit status cannot
// show; and where README shows output after a "$ " prompt, the lines it
// shows must appear in that order (see matchShownOutput).
func TestREADMEExamples(t *testing.T) {
	md, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	examples := parseREADMEExamples(string(md))
	if len(examples) == 0 {
		t.Fatal("found no examples of bin/scratchpack in README.md's code blocks")
	}
	checkTablesUsed(t, examples)

	reg := testenv.Registry(t)
	for _, hub := range readmeHubImages {
		testenv.PushImage(t, hub.image(t), reg.Addr+"/"+hub.name)
	}
	dir := readmeWorkDir(t, string(md))
	placeholders := readmePlaceholders(reg.Addr, dir)
	env := readmeEnv(t)

	for _, ex := range examples {
		name := fmt.Sprintf("README.md:%d", ex.line)
		if why, ok := readmeNotRun[ex.text]; ok {
			t.Logf("%s NOT RUN: %s: %s", name, ex.text, why)
			continue
		}
		t.Run(name, func(t *testing.T) {
			runReadmeExample(t, ex, dir, substitute(ex.text, placeholders), env)
		})
	}
}

// checkTablesUsed fails the test for an entry of readmeExitStatus,
// readmeAfter or readmeNotRun whose example README no longer has: the entry
// would silently stop applying.
func checkTablesUsed(t *testing.T, examples []readmeExample) {
	t.Helper()
	texts := map[string]bool{}
	for _, ex := range examples {
		texts[ex.text] = true
	}
	var keys []string
	for k := range readmeExitStatus {
		keys = append(keys, k)
	}
	for k := range readmeAfter {
		keys = append(keys, k)
	}
	for k := range readmeNotRun {
		keys = append(keys, k)
	}
	for _, k := range keys {
		if !texts[k] {
			t.Errorf("readme_test.go has an entry for %q, which is no example of README.md (changed? update the entry)", k)
		}
	}
}

// runReadmeExample runs one example (already substituted as cmd) and checks
// its exit status and the output README shows.
func runReadmeExample(t *testing.T, ex readmeExample, dir, cmd string, env []string) {
	t.Helper()
	env = append(env, exampleNeeds(t, cmd)...)
	script := cmd
	if after, ok := readmeAfter[ex.text]; ok {
		script = cmd + "\nrc=$?\nif [ $rc -ne 0 ]; then exit $rc; fi\n" + after
	}
	out, code := runBash(t, dir, env, script)
	t.Logf("$ %s\n%s", cmd, out) // shown with -v or when the example fails
	want := readmeExitStatus[ex.text]
	if code != want {
		t.Errorf("README.md:%d: exit %d, want %d", ex.line, code, want)
		return
	}
	if ex.output != nil {
		if err := matchShownOutput(ex.output, out); err != nil {
			t.Errorf("README.md:%d: the output differs from what README shows: %v", ex.line, err)
		}
	}
}

// dockerCLIRE matches a command line that runs the docker CLI.
var dockerCLIRE = regexp.MustCompile(`(^|[;&|(]\s*)docker\s`)

// exampleNeeds starts what an example needs besides the registry, for the
// duration of its subtest, and returns the environment to run it with: a
// private Docker daemon for docker-daemon: and the docker CLI, qemu-user
// through binfmt_misc for an arm64 image that runs.
func exampleNeeds(t *testing.T, cmd string) []string {
	t.Helper()
	var env []string
	if strings.Contains(cmd, "docker-daemon:") || dockerCLIRE.MatchString(cmd) {
		d := testenv.Dockerd(t)
		cliDir := t.TempDir()
		if err := os.Symlink(d.CLI, filepath.Join(cliDir, "docker")); err != nil {
			t.Fatal(err)
		}
		env = append(env, "DOCKER_HOST="+d.Host, "PATH="+cliDir+string(os.PathListSeparator)+os.Getenv("PATH"))
	}
	if strings.Contains(cmd, "scratchpack run") && strings.Contains(cmd, "linux/arm64") {
		if err := testenv.QemuBinfmt(t, "aarch64"); err != nil {
			t.Skipf("SKIP (binfmt_misc): this arm64 example needs qemu-user registered with binfmt_misc, which failed: %v", err)
		}
	}
	return env
}

// runBash runs script with bash in dir and returns its standard output and
// error, interleaved, and its exit status. The script and everything it
// starts are killed after exampleTimeout.
func runBash(t *testing.T, dir string, env []string, script string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), exampleTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", script)
	cmd.Dir, cmd.Env = dir, env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("%s: still running after %v, killed\n%s", script, exampleTimeout, out.String())
	case errors.As(err, &ee):
		return out.String(), ee.ExitCode()
	case err != nil:
		t.Fatalf("running bash: %v", err)
	}
	return out.String(), 0
}

// readmeEnv is the environment the examples run in: this process's (with
// XDG_CACHE_HOME from TestMain), a HOME of their own (no credentials from
// ~/.docker), no Docker settings, and a proxy that does not exist for
// everything but the loopback interface, so that an example naming a
// registry this test does not replace fails instead of reaching the
// Internet.
func readmeEnv(t *testing.T) []string {
	t.Helper()
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "DOCKER_"), k == "HOME", strings.EqualFold(k, "http_proxy"),
			strings.EqualFold(k, "https_proxy"), strings.EqualFold(k, "no_proxy"), k == "SOURCE_DATE_EPOCH":
			continue
		}
		env = append(env, kv)
	}
	const nowhere = "http://127.0.0.1:9" // the discard port: nothing listens
	return append(env, "HOME="+t.TempDir(),
		"HTTP_PROXY="+nowhere, "HTTPS_PROXY="+nowhere, "http_proxy="+nowhere, "https_proxy="+nowhere,
		"NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost")
}
