package elfdeps

import (
	"bytes"
	"debug/elf"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/scratchpack/scratchpack/internal/testenv"

	"github.com/google/go-cmp/cmp"
)

// hostObjects are real programs and libraries to check the symbol readers on.
func hostObjects(t *testing.T) []string {
	files, _ := filepath.Glob("/usr/lib/x86_64-linux-gnu/lib*.so.*")
	files = append(files, "/usr/bin/bash", "/usr/bin/git", "/usr/bin/node", "/usr/bin/curl", "/usr/lib/x86_64-linux-gnu/libc.so.6")
	if fs, err := filepath.Glob(filepath.Join(fixtureDir, "*")); err == nil {
		files = append(files, fs...)
	}
	return files
}

// debugElfImports is what debug/elf says a file imports: its undefined dynamic symbols.
func debugElfImports(f *elf.File) ([]string, bool) {
	syms, err := f.DynamicSymbols()
	if err != nil {
		return nil, false
	}
	seen := map[string]bool{}
	var out []string
	for _, s := range syms {
		if s.Section == elf.SHN_UNDEF && s.Name != "" && !seen[s.Name] {
			seen[s.Name] = true
			out = append(out, s.Name)
		}
	}
	sort.Strings(out)
	return out, true
}

// TestImportsMatchDebugElf compares the fast import reader (the head of
// .dynsym before the GNU hash table's symoffset) with debug/elf's full
// decoding, on every host library and a few programs, with and without
// section headers.
func TestImportsMatchDebugElf(t *testing.T) {
	checked := 0
	for _, name := range hostObjects(t) {
		f, err := elf.Open(name)
		if err != nil {
			continue
		}
		want, ok := debugElfImports(f)
		f.Close()
		if !ok {
			continue
		}
		rep, err := InspectFile(name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if rep.Kind == KindStatic || rep.Kind == KindStaticPIE {
			continue
		}
		if diff := cmp.Diff(want, rep.Imports); diff != "" {
			t.Errorf("%s: imports (-debug/elf +ours):\n%s", name, diff)
		}
		checked++
		if checked > 300 {
			break
		}
	}
	if checked < 10 {
		if _, err := os.Stat("/usr/lib/x86_64-linux-gnu"); err == nil {
			t.Fatalf("compared only %d files", checked)
		}
		t.Skip("SKIP: no x86-64 libraries on this machine")
	}
}

// TestImportsWithoutSectionHeaders reads imports through the dynamic array
// alone (a file stripped of its section headers), as the loader would.
func TestImportsWithoutSectionHeaders(t *testing.T) {
	requireFixtures(t)
	for _, name := range []string{"hello-c", "hello-cc", "nss", "cancel", "rpath/lib/libgreet.so.1"} {
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(testenv.Fixture(t, name))
			if err != nil {
				t.Fatal(err)
			}
			with, err := Inspect(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			without, err := Inspect(bytes.NewReader(stripSectionHeaders(t, b)))
			if err != nil {
				t.Fatal(err)
			}
			if len(with.Imports) == 0 {
				t.Fatal("no imports read with section headers")
			}
			if diff := cmp.Diff(with.Imports, without.Imports); diff != "" {
				t.Errorf("imports without section headers (-with +without):\n%s", diff)
			}
		})
	}
}

// TestDefinesAndStaticFunctions checks the two readers of defined symbols:
// libc.so.6 has nss_files built in (glibc 2.34+), a static program shows
// getaddrinfo linked in, and a stripped one shows nothing.
func TestDefinesAndStaticFunctions(t *testing.T) {
	f, err := os.Open("/usr/lib/x86_64-linux-gnu/libc.so.6")
	if err != nil {
		t.Skipf("SKIP: no host libc.so.6: %v", err)
	}
	defer f.Close()
	o, err := readObject(f)
	if err != nil {
		t.Fatal(err)
	}
	got, err := o.defines(nssFilesBuiltin, "printf", "no_such_function_here")
	if err != nil {
		t.Fatal(err)
	}
	if !got["printf"] || got["no_such_function_here"] {
		t.Errorf("defines(printf, no_such_function_here) = %v", got)
	}
	if v := providedVersions(o.verdefs)["GLIBC"]; CompareVersions(v, "2.34") >= 0 && !got[nssFilesBuiltin] {
		t.Errorf("glibc %s should have %s built in", v, nssFilesBuiltin)
	}

	requireFixtures(t)
	for _, tc := range []struct {
		name string
		want []string
	}{
		{"hello-c-static", []string{"dlopen"}}, // libc.a links dlopen in for its own use
		{"nss-static", []string{"dlopen", "getaddrinfo", "getgrnam", "getgrnam_r", "getpwnam", "getpwnam_r", "getservbyname_r", "gethostbyname2_r"}},
	} {
		rep, err := InspectFile(testenv.Fixture(t, tc.name))
		if err != nil {
			t.Fatal(err)
		}
		want := append([]string(nil), tc.want...)
		sort.Strings(want)
		if diff := cmp.Diff(want, rep.Imports); diff != "" {
			t.Errorf("%s: needs functions in .symtab (-want +got):\n%s", tc.name, diff)
		}
	}
}
