// Command corpus is `make corpus`: a measurement of scratchpack on real
// software, not a test. It packs every ELF program of this machine's
// /usr/bin and /usr/sbin whose --version (else --help) exits 0 here, runs
// each image once with runc (through scratchpack run), and compares what
// it prints and returns with the program run here: once packed with
// default flags, once with --trace -- FLAG. It prints N/M identical for
// each, and every difference with a one-word cause.
//
// It runs the programs of this machine as root, each with one flag, in an
// empty directory, with no input, for at most -timeout; a few that act
// whatever their arguments (reboot, killall5, init, ...) are never run.
// It installs nothing. Results go to -out (results.json, summary.txt).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	var o options
	flag.StringVar(&o.bin, "scratchpack", "bin/scratchpack", "the scratchpack binary")
	flag.StringVar(&o.dirs, "dirs", "/usr/bin,/usr/sbin", "comma-separated directories of programs")
	flag.StringVar(&o.filter, "filter", "", "only programs whose path matches this regular expression")
	flag.IntVar(&o.jobs, "jobs", runtime.NumCPU(), "programs measured at once")
	flag.StringVar(&o.out, "out", "testdata/out/corpus", "directory for results and temporary images")
	flag.DurationVar(&o.timeout, "timeout", 10*time.Second, "bound of each run of a program")
	flag.BoolVar(&o.noTrace, "no-trace", false, "only the default packs")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "corpus:", err)
		os.Exit(1)
	}
}

type options struct {
	bin, dirs, filter, out string
	jobs                   int
	timeout                time.Duration
	noTrace                bool
}

// result is what one program gave.
type result struct {
	Path     string   `json:"path"`
	Flag     string   `json:"flag"` // --version or --help
	Defaults *outcome `json:"defaults"`
	Trace    *outcome `json:"trace,omitempty"`
}

// outcome is one pack and run of a program, against the host.
type outcome struct {
	Identical bool    `json:"identical"`
	Cause     string  `json:"cause,omitempty"` // one word, for a difference
	Detail    string  `json:"detail,omitempty"`
	Seconds   float64 `json:"seconds"`
}

func run(ctx context.Context, o options) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("run as root: the images run in runc")
	}
	bin, err := filepath.Abs(o.bin)
	if err != nil {
		return err
	}
	o.bin = bin
	var re *regexp.Regexp
	if o.filter != "" {
		if re, err = regexp.Compile(o.filter); err != nil {
			return fmt.Errorf("-filter: %w", err)
		}
	}
	progs, links, err := programs(strings.Split(o.dirs, ","), re)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	work, err := os.MkdirTemp(o.out, "work-")
	if err != nil {
		return err
	}
	if work, err = filepath.Abs(work); err != nil {
		return err
	}
	defer os.RemoveAll(work)
	fmt.Fprintf(os.Stderr, "corpus: %d ELF programs (%d links to others left out), %d at a time\n", len(progs), links, o.jobs)
	start := time.Now()
	results := make([]*result, len(progs))
	var wg sync.WaitGroup
	next := make(chan int)
	var mu sync.Mutex
	done := 0
	for w := 0; w < o.jobs; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				results[i] = measure(ctx, o, work, progs[i])
				mu.Lock()
				done++
				if r := results[i]; r != nil {
					fmt.Fprintf(os.Stderr, "corpus: [%d/%d] %s %s: %s\n", done, len(progs), r.Path, r.Flag, r.brief())
				}
				mu.Unlock()
			}
		}()
	}
	for i := range progs {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	var kept []*result
	for _, r := range results {
		if r != nil {
			kept = append(kept, r)
		}
	}
	sort.Slice(kept, func(i, j int) bool { return kept[i].Path < kept[j].Path })
	b, err := json.MarshalIndent(kept, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(o.out, "results.json"), b, 0o644); err != nil {
		return err
	}
	summary := summarize(kept, len(progs), time.Since(start), o)
	fmt.Print(summary)
	return os.WriteFile(filepath.Join(o.out, "summary.txt"), []byte(summary), 0o644)
}

func (r *result) brief() string {
	s := "defaults " + r.Defaults.word()
	if r.Trace != nil {
		s += ", --trace " + r.Trace.word()
	}
	return s
}

func (o *outcome) word() string {
	if o.Identical {
		return "identical"
	}
	return "differs (" + o.Cause + ")"
}

// summarize is the report: the counts, then every difference.
func summarize(rs []*result, candidates int, took time.Duration, o options) string {
	var b strings.Builder
	def, tr, trN := 0, 0, 0
	for _, r := range rs {
		if r.Defaults.Identical {
			def++
		}
		if r.Trace != nil {
			trN++
			if r.Trace.Identical {
				tr++
			}
		}
	}
	fmt.Fprintf(&b, "corpus %s: %d ELF programs in %s, %d whose --version or --help exits 0 here; %s with %d jobs\n",
		time.Now().Format("2006-01-02"), candidates, o.dirs, len(rs), took.Round(time.Second), o.jobs)
	fmt.Fprintf(&b, "defaults:        %d/%d identical\n", def, len(rs))
	if trN > 0 {
		fmt.Fprintf(&b, "--trace -- FLAG: %d/%d identical\n", tr, trN)
	}
	causes := map[string]int{}
	for _, mode := range []string{"defaults", "--trace"} {
		var lines []string
		for _, r := range rs {
			oc := r.Defaults
			if mode == "--trace" {
				oc = r.Trace
			}
			if oc == nil || oc.Identical {
				continue
			}
			causes[mode+" "+oc.Cause]++
			lines = append(lines, fmt.Sprintf("  %-40s %-10s %s", r.Path+" "+r.Flag, oc.Cause, oc.Detail))
		}
		if len(lines) > 0 {
			fmt.Fprintf(&b, "differences with %s:\n%s\n", mode, strings.Join(lines, "\n"))
		}
	}
	var cs []string
	for c, n := range causes {
		cs = append(cs, fmt.Sprintf("%s: %d", c, n))
	}
	sort.Strings(cs)
	if len(cs) > 0 {
		fmt.Fprintf(&b, "causes: %s\n", strings.Join(cs, ", "))
		seen := map[string]bool{}
		for c := range causes {
			_, word, _ := strings.Cut(c, " ")
			seen[word] = true
		}
		for _, l := range legend {
			if seen[l[0]] {
				fmt.Fprintf(&b, "  %-12s %s\n", l[0], l[1])
			}
		}
	}
	return b.String()
}

// legend says what each cause means, environment first.
var legend = [][2]string{
	{"varies", "environment: two runs here differ (PIDs, order of subprocesses)"},
	{"numbers", "environment: only numbers differ (PIDs, times)"},
	{"hostname", "environment: the host name (the container's is scratchpack)"},
	{"timezone", "environment: this machine's /etc/localtime (an image is on UTC)"},
	{"home", "environment: the state of this machine's home directory (~/.gnupg exists here)"},
	{"terminal", "environment: a terminal here or there"},
	{"container", "environment: what a container lacks or forbids (/sys, devices)"},
	{"stdlib", "an interpreter's standard library: pack reports it (NOT ADDED: stdlib), --trace or --include adds it"},
	{"needs-trace", "files or programs only a run shows (data files, plugins found with access, programs it runs): --trace makes it identical"},
	{"missing", "a file the image lacks: to fix"},
	{"start", "the image does not start: to fix"},
	{"pack", "pack failed: to fix"},
	{"timeout", "the image's run did not end"},
	{"other", "not classified: look at it"},
}
