package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
)

// loadBase adds the base rows of scripts/bench-base.sh (base-hyperfine.json,
// base-runs.tsv) to r; ok is false when the bench did not make them.
func (r *report) loadBase(dir string) (ok bool, err error) {
	raw, err := os.ReadFile(filepath.Join(dir, "base-hyperfine.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var hf struct{ Results []result }
	if err := json.Unmarshal(raw, &hf); err != nil {
		return false, fmt.Errorf("base-hyperfine.json: %w", err)
	}
	for _, res := range hf.Results {
		r.times[res.Name] = res
	}
	runs, err := readTSV(filepath.Join(dir, "base-runs.tsv"))
	if err != nil {
		return false, err
	}
	for _, row := range runs {
		r.runs[row[0]] = row[1:]
	}
	return true, nil
}

// printBase prints the base rows and issue 20's targets, as ratios of
// times measured in the same hyperfine run.
func (r *report) printBase(w io.Writer) {
	scratch, scratchCached, cp := r.mean("base/scratch"), r.mean("base/scratch-cached"), r.mean("base/cp")
	first, cached := r.mean("base/pack-first"), r.mean("base/pack-cached")
	crane := r.mean("base/crane-append")
	regFirst, regCached := r.mean("base/pack-registry-first"), r.mean("base/pack-registry-cached")
	craneTar := r.mean("base/crane-append-tar")
	tarFirst, tarCached := r.mean("base/pack-registry-tar-first"), r.mean("base/pack-registry-tar-cached")
	fmt.Fprintf(w, "\n## The C++ hello onto a 230 MB Debian 12 base (redis, nginx, python3, curl)\n\n")
	fmt.Fprintln(w, "The base is a `docker save` archive (its one layer an uncompressed tar), or the same root")
	fmt.Fprintln(w, "as a gzip layer pushed to a local docker-registry. First: an empty cache; cached: the")
	fmt.Fprintln(w, "base's index (and the program's layer) already in the cache.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| way to make the image | time | CPU | ratio | output | peak RSS |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- |")
	r.row(w, "base/scratch", "scratchpack → oci:, on scratch, --no-cache", "1.00×")
	r.row(w, "base/scratch-cached", "scratchpack → oci:, on scratch, cached", "1.00×")
	r.row(w, "base/cp", "`cp` of the base's blob (229 MB)", "1.00×")
	r.row(w, "base/pack-first", "scratchpack → oci:, on the docker save base, first", times(first, scratch+cp)+" scratch + cp")
	r.row(w, "base/pack-cached", "scratchpack → oci:, on the docker save base, cached", times(cached, scratchCached+cp)+" scratch (cached) + cp")
	r.row(w, "base/pack-no-cache", "scratchpack → oci:, on the docker save base, --no-cache", times(r.mean("base/pack-no-cache"), scratch+cp)+" scratch + cp")
	r.row(w, "base/check-first", "`check --base` the docker save base, first", "—")
	r.row(w, "base/check-cached", "`check --base` the docker save base, cached", fmt.Sprintf("%.1f%% of the first", 100*r.mean("base/check-cached")/r.mean("base/check-first")))
	r.row(w, "base/crane-append", "`crane append -b REGISTRY/base` → the registry", "1.00×")
	r.row(w, "base/pack-registry-first", "scratchpack, on REGISTRY/base → the registry, first", times(regFirst, crane)+" crane append")
	r.row(w, "base/pack-registry-cached", "scratchpack, on REGISTRY/base → the registry, cached", times(regCached, crane)+" crane append")
	r.row(w, "base/crane-append-tar", "`crane append -b REGISTRY/base -o FILE.tar`", "1.00×")
	r.row(w, "base/pack-registry-tar-first", "scratchpack, on REGISTRY/base → docker-archive:FILE.tar, first", times(tarFirst, craneTar)+" crane append -o")
	r.row(w, "base/pack-registry-tar-cached", "scratchpack, on REGISTRY/base → docker-archive:FILE.tar, cached", times(tarCached, craneTar)+" crane append -o")

	fmt.Fprintf(w, "\n## The targets of issue 20\n\n")
	fmt.Fprintln(w, "| target | measured | met |")
	fmt.Fprintln(w, "| --- | --- | --- |")
	target := func(what string, got, limit float64, format string) {
		fmt.Fprintf(w, "| %s | "+format+" | %s |\n", what, got, yes(got <= limit && !math.IsNaN(got)))
	}
	target("`check --base` on the 230 MB base, first ≤ 1 s", r.mean("base/check-first"), 1, "%.2f s")
	target("`check --base` on it, cached ≤ 60 ms", 1000*r.mean("base/check-cached"), 60, "%.0f ms")
	target("pack onto it, first ≤ 1.5× (pack on scratch + cp of the base's blob)", first/(scratch+cp), 1.5, "%.2f×")
	target("pack onto it, cached ≤ 1.2× (pack on scratch + cp)", cached/(scratchCached+cp), 1.2, "%.2f×")
	target("pack onto the registry base no slower than crane append (first)", regFirst/crane, 1, "%.2f×")
	target("pack onto the registry base no slower than crane append (cached)", regCached/crane, 1, "%.2f×")
	target("pack onto the registry base → FILE.tar no slower than crane append -o (first)", tarFirst/craneTar, 1, "%.2f×")
	target("pack onto the registry base → FILE.tar no slower than crane append -o (cached)", tarCached/craneTar, 1, "%.2f×")
	rss := math.NaN()
	for _, n := range []string{"base/pack-first", "base/pack-cached", "base/pack-no-cache", "base/pack-registry-first", "base/pack-registry-cached", "base/pack-registry-tar-first", "base/pack-registry-tar-cached"} {
		if run := r.runs[n]; run != nil {
			rss = math.Max(nanZero(rss), num(run[0])/1024)
		}
	}
	target("peak RSS of a pack onto the base < 128 MiB", rss, 128, "%.0f MiB")
}

func nanZero(f float64) float64 {
	if math.IsNaN(f) {
		return 0
	}
	return f
}
