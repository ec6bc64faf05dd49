package elfdeps

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/scratchpack/scratchpack/internal/elftest"
)

// fuzzSeedPrefix is how much of a real ELF file is a seed: its headers,
// dynamic section and string tables, not its code.
const fuzzSeedPrefix = 64 << 10

// FuzzInspect checks that Inspect never panics and fails only with the
// documented sentinels, and that Resolve of what it accepts never panics
// either, in a root made of the input itself.
func FuzzInspect(f *testing.F) {
	entries, err := os.ReadDir(malformedDir)
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(malformedDir, e.Name()))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	// A few small real programs and libraries, when they are there.
	for _, name := range []string{
		filepath.Join(fixtureDir, "hello-c"),
		filepath.Join(fixtureDir, "hello-musl"),
		filepath.Join(fixtureDir, "hello-c-arm64"),
		filepath.Join(fixtureDir, "rpath", "bin", "greet"),
		filepath.Join(fixtureDir, "rpath", "lib", "libgreet.so.1"),
	} {
		if fh, err := os.Open(name); err == nil {
			b, _ := io.ReadAll(io.LimitReader(fh, fuzzSeedPrefix))
			fh.Close()
			f.Add(b)
		}
	}
	// Crafted files of every architecture, and an armhf one with build
	// attributes, so the fuzzer reaches the .ARM.attributes reader.
	for _, name := range elftest.ArchNames() {
		f.Add(elftest.Program(elftest.Archs[name], "libc.so.6").Bytes())
	}
	arm := elftest.Program(elftest.Archs["arm"], "libc.so.6")
	arm.Sections = append(arm.Sections, elftest.ARMAttributes(binary.LittleEndian, "6KZ", 7))
	f.Add(arm.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := Inspect(bytes.NewReader(data))
		if err != nil {
			if rep != nil {
				t.Fatalf("Inspect returned a report with its error %v", err)
			}
			if !errors.Is(err, ErrNotELF) && !errors.Is(err, ErrScript) && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		if rep == nil {
			t.Fatal("Inspect returned neither a report nor an error")
		}
		if rep.Needed == nil || rep.RPath == nil || rep.RunPath == nil || rep.Warnings == nil || rep.Arch == "" || rep.Kind == "" {
			t.Fatalf("incomplete report: %+v", rep)
		}
		// A root where the interpreter and every needed library is the input.
		file := &fstest.MapFile{Mode: 0o755, Data: data}
		fsys := fstest.MapFS{}
		for _, p := range append([]string{rep.Interpreter}, rep.Needed...) {
			if name := fsName(p); fs.ValidPath(name) && name != "." {
				fsys[name] = file
			}
			if name := path.Join("lib", path.Base(p)); fs.ValidPath(name) {
				fsys[name] = file
			}
		}
		c, err := Resolve(NewRoot(fsys, "fuzz"), rep, WithOrigin("/", "/"), WithLibraryPath("/lib"))
		if err == nil && (c == nil || c.Libraries == nil || c.Missing == nil || c.Warnings == nil) {
			t.Fatalf("incomplete closure %+v", c)
		}
	})
}
