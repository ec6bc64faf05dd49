package main

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/scratchpack/scratchpack/internal/testenv"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// TestPackInterrupted sends SIGINT, SIGTERM or SIGHUP to pack at random points and
// checks each time that the destination is as it was, or complete: an
// oci-archive that did not exist is absent or readable by skopeo, a FILE.tar
// that existed is byte for byte the old one or a valid new image, and an oci:
// layout keeps its old tag, valid, with the new one either absent or whole.
// Nothing is left beside the destination.
func TestPackInterrupted(t *testing.T) {
	sk := skopeo(t)
	hello := testenv.Fixture(t, "hello-cc")
	runs := 15 // per destination
	seed := time.Now().UnixNano()
	t.Logf("random seed %d", seed)
	rng := rand.New(rand.NewSource(seed))

	type dest struct {
		name    string
		prepare func(t *testing.T, dir string) string // returns the -o value
		check   func(t *testing.T, dir string, old []byte) bool
	}
	oldTar := func(t *testing.T, dir string) string {
		mustRun(t, nil, "pack", "--env", "OLD=1", "-o", filepath.Join(dir, "app.tar"), hello)
		return filepath.Join(dir, "app.tar")
	}
	dests := []dest{
		{"oci-archive", func(t *testing.T, dir string) string { return "oci-archive:" + filepath.Join(dir, "app.tar") },
			func(t *testing.T, dir string, _ []byte) bool {
				f := filepath.Join(dir, "app.tar")
				if _, err := os.Stat(f); err != nil {
					return false
				}
				runTool(t, sk, "inspect", "oci-archive:"+f)
				return true
			}},
		{"FILE.tar", oldTar, func(t *testing.T, dir string, old []byte) bool {
			f := filepath.Join(dir, "app.tar")
			got, err := os.ReadFile(f)
			if err != nil {
				t.Fatalf("the old %s is gone: %v", f, err)
			}
			if bytes.Equal(got, old) {
				return false
			}
			img, err := tarball.ImageFromPath(f, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := validate.Image(img); err != nil {
				t.Fatalf("%s is neither the old file nor a valid image: %v", f, err)
			}
			return true
		}},
		{"oci", func(t *testing.T, dir string) string {
			mustRun(t, nil, "pack", "--env", "OLD=1", "-o", "oci:"+filepath.Join(dir, "layout")+":old", hello)
			return "oci:" + filepath.Join(dir, "layout") + ":new"
		}, func(t *testing.T, dir string, _ []byte) bool {
			l := filepath.Join(dir, "layout")
			idx, err := layout.ImageIndexFromPath(l)
			if err != nil {
				t.Fatal(err)
			}
			if err := validate.Index(idx); err != nil {
				t.Fatalf("%s is not a valid layout: %v", l, err)
			}
			runTool(t, sk, "inspect", "oci:"+l+":old")
			m, err := idx.IndexManifest()
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range m.Manifests {
				if d.Annotations["org.opencontainers.image.ref.name"] == "new" {
					runTool(t, sk, "inspect", "oci:"+l+":new")
					return true
				}
			}
			return false
		}},
	}
	for _, d := range dests {
		t.Run(d.name, func(t *testing.T) {
			// How long an uninterrupted pack takes: signals land uniformly in [0, 1.2×that].
			dir := t.TempDir()
			o := d.prepare(t, dir)
			start := time.Now()
			mustRun(t, nil, "pack", "-o", o, hello)
			full := time.Since(start)
			var interrupted, completed, killedEarly int
			for i := 0; i < runs; i++ {
				dir := t.TempDir()
				o := d.prepare(t, dir)
				var old []byte
				if f := filepath.Join(dir, "app.tar"); strings.HasSuffix(o, ".tar") && !strings.HasPrefix(o, "oci-archive:") {
					old, _ = os.ReadFile(f)
				}
				before := listDir(t, dir)
				sig := []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP}[i%3]
				delay := time.Duration(rng.Int63n(int64(full) * 6 / 5))
				tmp := t.TempDir()
				cmd := exec.Command(bin, "pack", "-o", o, hello)
				cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				time.Sleep(delay)
				cmd.Process.Signal(sig)
				err := cmd.Wait()
				code := cmd.ProcessState.ExitCode()
				// A signal that comes before main installs its handler ends the
				// process the default way, before it has written anything.
				early := code == -1 && cmd.ProcessState.Sys().(syscall.WaitStatus).Signaled()
				if err != nil && code != exitInterrupt && !early {
					t.Fatalf("run %d (%s after %s): exit %d, want 0 or %d:\n%s", i, sig, delay, code, exitInterrupt, stderr.String())
				}
				written := d.check(t, dir, old)
				if code == exitInterrupt && written && d.name != "oci" {
					// A rename that happened before the signal was seen is fine; report it.
					t.Logf("run %d: interrupted after the destination was committed", i)
				}
				if code == 0 && !written {
					t.Fatalf("run %d: exit 0 but the destination is not written", i)
				}
				if after := listDir(t, dir); fmt.Sprint(after) != fmt.Sprint(before) && !(len(before) == 0 && fmt.Sprint(after) == "[app.tar]") {
					t.Fatalf("run %d (%s after %s): left %v beside the destination (was %v)", i, sig, delay, after, before)
				}
				if left := listDir(t, tmp); len(left) > 0 {
					t.Fatalf("run %d (%s after %s): left %v in TMPDIR", i, sig, delay, left)
				}
				switch {
				case early:
					killedEarly++
				case code == exitInterrupt:
					interrupted++
				default:
					completed++
				}
			}
			t.Logf("%s: %d runs (a pack takes %s): %d interrupted (exit 130), %d killed before the handler, %d completed; destination intact every time",
				d.name, runs, full.Round(time.Millisecond), interrupted, killedEarly, completed)
		})
	}
}

// listDir returns the names in dir, sorted.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

// TestPackConcurrentLayout runs packs to one oci: layout at once, each with
// its own tag: all succeed, and the layout holds every tag, valid.
func TestPackConcurrentLayout(t *testing.T) {
	sk := skopeo(t)
	hello := testenv.Fixture(t, "hello-c")
	for round := 0; round < 3; round++ {
		l := filepath.Join(t.TempDir(), "layout") // absent: the first rename wins, the others add
		const n = 4
		var wg sync.WaitGroup
		errs := make([]string, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				out, err := exec.Command(bin, "pack", "--env", fmt.Sprintf("N=%d", i), "-o", fmt.Sprintf("oci:%s:t%d", l, i), hello).CombinedOutput()
				if err != nil {
					errs[i] = fmt.Sprintf("pack %d: %v\n%s", i, err, out)
				}
			}(i)
		}
		wg.Wait()
		for _, e := range errs {
			if e != "" {
				t.Fatal(e)
			}
		}
		idx, err := layout.ImageIndexFromPath(l)
		if err != nil {
			t.Fatal(err)
		}
		if err := validate.Index(idx); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		for i := 0; i < n; i++ {
			runTool(t, sk, "inspect", fmt.Sprintf("oci:%s:t%d", l, i))
		}
		runTool(t, "umoci", "stat", "--image", l+":t0")
	}
}
