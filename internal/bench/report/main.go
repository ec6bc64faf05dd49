// Command report prints the table of `make bench` (scripts/bench.sh) from
// the files it leaves in -dir: hyperfine.json (times), runs.tsv (peak memory
// and output size of one more run of each command), big.tsv (the 1 GiB
// program), sizes.tsv (image sizes of the fixtures), levels.tsv
// (compression levels), and base-hyperfine.json and base-runs.tsv of
// scripts/bench-base.sh (packs onto a Debian base). Ratios are computed
// here; nothing is measured.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

func main() {
	dir := flag.String("dir", "", "directory with the bench results")
	node := flag.String("node", "", "the node binary and its version, for the heading")
	cpus := flag.Int("cpus", 0, "CPUs of this machine")
	baseOnly := flag.Bool("base", false, "print only the rows of scripts/bench-base.sh")
	flag.Parse()
	if *baseOnly {
		r := &report{times: map[string]result{}, runs: map[string][]string{}}
		if ok, err := r.loadBase(*dir); err != nil || !ok {
			fmt.Fprintln(os.Stderr, "report: no base rows:", err)
			os.Exit(1)
		}
		r.printBase(os.Stdout)
		return
	}
	r, err := load(*dir)
	if err == nil {
		r.hasBase, err = r.loadBase(*dir)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
	r.print(os.Stdout, *node, *cpus)
	if r.hasBase {
		r.printBase(os.Stdout)
	}
}

type result struct {
	Name   string    `json:"command"`
	Mean   float64   `json:"mean"`
	Stddev float64   `json:"stddev"`
	User   float64   `json:"user"`
	System float64   `json:"system"`
	Times  []float64 `json:"times"`
}

type report struct {
	times   map[string]result
	runs    map[string][]string // name → rss kB, output bytes
	big     [][]string          // name, seconds, rss kB, bytes
	sizes   [][]string          // fixture, files, layers (tar), image
	levels  [][]string          // setting, bytes, seconds
	hasBase bool                // the base rows were measured
}

func load(dir string) (*report, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "hyperfine.json"))
	if err != nil {
		return nil, err
	}
	var hf struct{ Results []result }
	if err := json.Unmarshal(raw, &hf); err != nil {
		return nil, fmt.Errorf("hyperfine.json: %w", err)
	}
	r := &report{times: map[string]result{}, runs: map[string][]string{}}
	for _, res := range hf.Results {
		r.times[res.Name] = res
	}
	runs, err := readTSV(filepath.Join(dir, "runs.tsv"))
	if err != nil {
		return nil, err
	}
	for _, row := range runs {
		r.runs[row[0]] = row[1:]
	}
	if r.big, err = readTSV(filepath.Join(dir, "big.tsv")); err != nil {
		return nil, err
	}
	if r.sizes, err = readTSV(filepath.Join(dir, "sizes.tsv")); err != nil {
		return nil, err
	}
	if r.levels, err = readTSV(filepath.Join(dir, "levels.tsv")); err != nil {
		return nil, err
	}
	return r, nil
}

func readTSV(name string) ([][]string, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var rows [][]string
	s := bufio.NewScanner(f)
	for s.Scan() {
		if line := s.Text(); line != "" {
			rows = append(rows, append(strings.Split(line, "\t"), "", "", ""))
		}
	}
	return rows, s.Err()
}

func num(s string) float64 {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return math.NaN()
	}
	return f
}

func mb(bytes float64) string {
	if math.IsNaN(bytes) {
		return "—"
	}
	return fmt.Sprintf("%.1f MB", bytes/1e6)
}

func secs(s float64) string {
	if s < 1 {
		return fmt.Sprintf("%.0f ms", s*1000)
	}
	return fmt.Sprintf("%.2f s", s)
}

// mean is the mean time of name, NaN if it was not measured.
func (r *report) mean(name string) float64 {
	if res, ok := r.times[name]; ok {
		return res.Mean
	}
	return math.NaN()
}

func (r *report) row(w io.Writer, name, label, ratio string) {
	label = strings.ReplaceAll(label, "|", `\|`) // a pipe inside a cell, even in code, ends it
	res, ok := r.times[name]
	if !ok {
		fmt.Fprintf(w, "| %s | not measured | | | | |\n", label)
		return
	}
	rss, size := "—", "—"
	if run := r.runs[name]; run != nil {
		if kb := num(run[0]); !math.IsNaN(kb) {
			rss = fmt.Sprintf("%.0f MiB", kb/1024)
		}
		size = mb(num(run[1]))
	}
	fmt.Fprintf(w, "| %s | %s ± %s | %s | %s | %s | %s |\n", label, secs(res.Mean), secs(res.Stddev),
		secs(res.User+res.System), ratio, size, rss)
}

func times(a, b float64) string { return fmt.Sprintf("%.2f×", a/b) }

func (r *report) print(w io.Writer, node string, cpus int) {
	fmt.Fprintf(w, "\n# scratchpack make bench (%d CPUs)\n\n", cpus)
	fmt.Fprintf(w, "Times are hyperfine means of %d runs (after a warm-up run); CPU is user+system of the\n", len(r.times["node/gzip"].Times))
	fmt.Fprintf(w, "command and its children (for docker, only the client's: dockerd does the work);\n")
	fmt.Fprintf(w, "output is the image written (or the floor's compressed stream); peak RSS is GNU\n")
	fmt.Fprintf(w, "time's %%M of one more run (largest single process).\n\n")

	gz, zs, none := r.mean("node/floor-gzip"), r.mean("node/floor-zstd"), r.mean("node/floor-none")
	fmt.Fprintf(w, "## node: %s and its libraries\n\n", node)
	fmt.Fprintln(w, "| way to make the image | time | CPU | ratio | output | peak RSS |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- |")
	r.row(w, "node/docker", "`docker build` (FROM scratch, COPY rootfs) + `docker save`", times(r.mean("node/docker"), gz)+" gzip floor")
	r.row(w, "node/crane", "`crane append` of a tar of the rootfs (gzip)", times(r.mean("node/crane"), gz)+" gzip floor")
	r.row(w, "node/floor-gzip", "floor: `tar | pigz -1 -p N | sha256sum`", "1.00×")
	r.row(w, "node/floor-zstd", "floor: `tar | zstd -3 -TN | sha256sum`", "1.00×")
	r.row(w, "node/floor-none", "floor: `tar | sha256sum`", "1.00×")
	r.row(w, "node/gzip", "scratchpack → oci:, gzip (default level)", times(r.mean("node/gzip"), gz)+" gzip floor")
	r.row(w, "node/zstd", "scratchpack → oci:, zstd", times(r.mean("node/zstd"), zs)+" zstd floor")
	r.row(w, "node/none-docker-archive", "scratchpack → docker-archive:, none", times(r.mean("node/none-docker-archive"), none)+" tar floor")
	r.row(w, "node/gzip-docker-archive", "scratchpack → docker-archive:, gzip", times(r.mean("node/gzip-docker-archive"), gz)+" gzip floor")
	r.row(w, "node/cache-first", "scratchpack → oci:, gzip, empty cache", times(r.mean("node/cache-first"), gz)+" gzip floor")
	r.row(w, "node/cache-second", "scratchpack → oci:, gzip, second pack (cache)",
		fmt.Sprintf("%.1f%% of the first", 100*r.mean("node/cache-second")/r.mean("node/cache-first")))

	sp := r.mean("cc/scratchpack")
	ccDocker, ccCrane := r.mean("cc/docker"), r.mean("cc/crane")
	spNone, spGzip1 := r.mean("cc/scratchpack-none-docker-archive"), r.mean("cc/scratchpack-gzip1")
	fmt.Fprintf(w, "\n## The C++ hello (testdata/bin/hello-cc: libstdc++, libm, libgcc_s, libc, ld.so)\n\n")
	fmt.Fprintln(w, "Every row but the last starts from nothing: docker build --no-cache, scratchpack --no-cache.")
	fmt.Fprintln(w, "docker save writes uncompressed layers and crane append gzips at level 1 (BestSpeed);")
	fmt.Fprintln(w, "scratchpack's default is gzip level 5, so each alternative also has a row making its kind of output.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| way to make the image | time | CPU | ratio | output | peak RSS |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- |")
	r.row(w, "cc/docker", "`docker build` + `docker save` (uncompressed)", times(ccDocker, sp)+" scratchpack, "+times(ccDocker, spNone)+" scratchpack uncompressed")
	r.row(w, "cc/crane", "`crane append` (gzip 1)", times(ccCrane, sp)+" scratchpack, "+times(ccCrane, spGzip1)+" scratchpack gzip 1")
	r.row(w, "cc/floor-gzip", "floor: `tar | pigz -1 -p N | sha256sum`", "1.00×")
	r.row(w, "cc/floor-none", "floor: `tar | sha256sum`", "1.00×")
	r.row(w, "cc/scratchpack", "scratchpack → oci:, gzip (default level 5)", times(sp, r.mean("cc/floor-gzip"))+" gzip floor")
	r.row(w, "cc/scratchpack-gzip1", "scratchpack → oci:, gzip level 1 (crane's)", times(spGzip1, r.mean("cc/floor-gzip"))+" gzip floor")
	r.row(w, "cc/scratchpack-none-docker-archive", "scratchpack → docker-archive:, none (docker save's)", times(spNone, r.mean("cc/floor-none"))+" tar floor")
	r.row(w, "cc/scratchpack-docker-archive", "scratchpack → docker-archive:, gzip", times(r.mean("cc/scratchpack-docker-archive"), sp)+" scratchpack → oci:")
	cached := r.mean("cc/scratchpack-cached")
	r.row(w, "cc/scratchpack-cached", "scratchpack → oci:, gzip, second pack (cache)",
		fmt.Sprintf("%.1f× / %.1f× faster than docker / crane", r.mean("cc/docker")/cached, r.mean("cc/crane")/cached))

	fmt.Fprintf(w, "\n## A 1 GiB program (hello-cc with 1 GiB of node's bytes appended), one run each\n\n")
	fmt.Fprintln(w, "| compression | time | peak RSS | image |")
	fmt.Fprintln(w, "| --- | --- | --- | --- |")
	bigRSS := 0.0
	for _, b := range r.big {
		kb := num(b[2])
		bigRSS = math.Max(bigRSS, kb)
		fmt.Fprintf(w, "| %s | %s | %.0f MiB | %s |\n", strings.TrimPrefix(b[0], "big/"), secs(num(b[1])), kb/1024, mb(num(b[3])))
	}

	fmt.Fprintf(w, "\n## Image sizes of the fixtures (--compression none: the image is its tars, config and manifest)\n\n")
	fmt.Fprintln(w, "| fixture | files it holds | image | overhead | within 1% + 8 KiB |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- |")
	sizesOK := len(r.sizes) > 0
	for _, s := range r.sizes {
		files, img := num(s[1]), num(s[3])
		ok := img <= files*1.01+8192
		sizesOK = sizesOK && ok
		fmt.Fprintf(w, "| %s | %.0f | %.0f | %.0f B (%.2f%%) | %s |\n", s[0], files, img, img-files, 100*(img-files)/files, yes(ok))
	}

	fmt.Fprintf(w, "\n## Compression levels (scratchpack's own layer writer, node's rootfs)\n\n")
	fmt.Fprintln(w, "| setting | blob | of the tar | vs gzip 6 | time |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- |")
	var tarSize, gzip6 float64
	for _, l := range r.levels {
		switch l[0] {
		case "none":
			tarSize = num(l[1])
		case "gzip 6":
			gzip6 = num(l[1])
		}
	}
	for _, l := range r.levels {
		b := num(l[1])
		t := "—"
		if !math.IsNaN(num(l[2])) {
			t = secs(num(l[2]))
		}
		fmt.Fprintf(w, "| %s | %.0f | %.2f%% | %+.1f%% | %s |\n", l[0], b, 100*b/tarSize, 100*(b-gzip6)/gzip6, t)
	}

	fmt.Fprintf(w, "\n## The targets of issue 5\n\n")
	fmt.Fprintln(w, "| target | measured | met |")
	fmt.Fprintln(w, "| --- | --- | --- |")
	target := func(what string, got, limit float64, format string, below bool) {
		ok := got <= limit
		if !below {
			ok = got >= limit
		}
		fmt.Fprintf(w, "| %s | "+format+" | %s |\n", what, got, yes(ok && !math.IsNaN(got)))
	}
	target("node → gzip image ≤ 1.25× the gzip floor", r.mean("node/gzip")/gz, 1.25, "%.2f×", true)
	target("node → zstd image ≤ 1.25× the zstd floor", r.mean("node/zstd")/zs, 1.25, "%.2f×", true)
	target("node → uncompressed docker-archive ≤ 1.5× the tar floor", r.mean("node/none-docker-archive")/none, 1.5, "%.2f×", true)
	target("C++ hello ≥ 15× faster than docker build + save (scratchpack's default gzip 5)", ccDocker/sp, 15, "%.1f×", false)
	target("C++ hello ≥ 15× faster than docker build + save (both uncompressed docker-archive)", ccDocker/spNone, 15, "%.1f×", false)
	target("C++ hello ≥ 3× faster than crane append (scratchpack's default gzip 5)", ccCrane/sp, 3, "%.1f×", false)
	target("C++ hello ≥ 3× faster than crane append (both gzip level 1)", ccCrane/spGzip1, 3, "%.1f×", false)
	target("second pack with the cache ≤ 10% of the first", 100*r.mean("node/cache-second")/r.mean("node/cache-first"), 10, "%.1f%%", true)
	target("1 GiB program: peak RSS < 64 MiB", bigRSS/1024, 64, "%.0f MiB", true)
	fmt.Fprintf(w, "| image sizes within 1%% + 8 KiB of their files | %d fixtures | %s |\n", len(r.sizes), yes(sizesOK))
}

func yes(ok bool) string {
	if ok {
		return "yes"
	}
	return "NO"
}
