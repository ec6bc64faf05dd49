package elfdeps

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
)

var conformanceDirs = flag.String("conformance.dirs", "/usr/bin,/usr/sbin,/usr/lib/x86_64-linux-gnu",
	"comma-separated directories whose ELF files (recursively) the conformance test resolves")

// TestConformanceWithLoader resolves every ELF file of the host's system
// directories with the pure resolver and with the host's own loader (ld.so
// --list, through u-root's pkg/ldd), and compares the sets of real files.
func TestConformanceWithLoader(t *testing.T) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skipf("SKIP: the conformance test compares with the x86-64 host loader; this is %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	if testing.Short() {
		t.Skip("SKIP: -short")
	}
	root := DirRoot("/")
	var files []string
	for _, dir := range strings.Split(*conformanceDirs, ",") {
		err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if e.Type().IsRegular() {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var agree, total int
	var disagreements []string
	for _, file := range files {
		rep, err := InspectFile(file)
		if err != nil {
			if errors.Is(err, ErrNotELF) || errors.Is(err, ErrScript) || errors.Is(err, fs.ErrPermission) {
				continue
			}
			t.Errorf("%s: %v", file, err)
			continue
		}
		if rep.Arch != "amd64" || rep.Kind == KindStatic || rep.Kind == KindStaticPIE || (rep.Interpreter == "" && len(rep.Needed) == 0) {
			continue
		}
		total++
		got, want, why := compareWithLoader(t, root, file, rep)
		if why == "" {
			agree++
			continue
		}
		disagreements = append(disagreements, fmt.Sprintf("%s: %s\n\tbuiltin: %v\n\tld.so:   %v", file, why, got, want))
	}
	t.Logf("agreement: %d/%d", agree, total)
	fmt.Printf("conformance agreement: %d/%d ELF files in %s\n", agree, total, *conformanceDirs)
	if total == 0 {
		t.Fatal("no dynamic ELF files found: the test compared nothing")
	}
	for _, d := range disagreements {
		t.Error(d)
	}
}

// compareWithLoader returns the real paths of both closures (without the
// loader itself, which ld.so --list of a library adds by guessing) and a
// reason when they differ.
func compareWithLoader(t *testing.T, root *Root, file string, rep *Report) (got, want []string, why string) {
	dir := filepath.Dir(file)
	c, err := Resolve(root, rep, WithOrigin(dir, dir))
	if err != nil {
		return nil, nil, "builtin resolver: " + err.Error()
	}
	oracle, oerr := ResolveWithLoader(file, rep)
	loader := "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
	for _, l := range c.Libraries {
		if l.RealPath != loader {
			got = append(got, l.RealPath)
		}
	}
	if oerr != nil {
		// ld.so --list exits non-zero when a library is missing.
		if len(c.Missing) > 0 {
			return got, nil, ""
		}
		return got, nil, "ld.so failed but the builtin resolver found everything: " + firstLine(oerr.Error())
	}
	for _, l := range oracle.Libraries {
		if l.RealPath != loader {
			want = append(want, l.RealPath)
		}
	}
	if len(oracle.Warnings) > 0 && len(c.Missing) == 0 {
		return got, want, "ld.so reports a library not found, the builtin resolver found all"
	}
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		return got, want, "different files"
	}
	return got, want, ""
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
