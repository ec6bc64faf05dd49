package packer

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func paths(s *FileSet) []string {
	var out []string
	for _, e := range s.Entries() {
		out = append(out, e.Path)
	}
	return out
}

func TestLayeringSplit(t *testing.T) {
	lib := func(p string) Entry {
		return Entry{Path: p, Type: TypeFile, Mode: 0o755, Source: "/host" + p, Size: 1, Shared: true}
	}
	set := NewFileSet()
	for _, e := range []Entry{
		{Path: "/lib", Type: TypeSymlink, Target: "usr/lib"},               // placed first by a library outside the set...
		{Path: "/lib", Type: TypeSymlink, Target: "usr/lib", Shared: true}, // ...and again by one inside it
		lib("/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"),
		lib("/usr/lib/x86_64-linux-gnu/libc.so.6"),
		{Path: "/lib64/ld-linux-x86-64.so.2", Type: TypeSymlink, Target: "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", Shared: true},
		{Path: "/usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30", Type: TypeFile, Mode: 0o755, Source: "/host/libstdc++", Size: 1},
		{Path: "/app/prog", Type: TypeFile, Mode: 0o755, Source: "/host/prog", Size: 1},
		{Path: "/etc/app", Type: TypeDir, Mode: 0o755, Why: "--add ./empty"},
	} {
		if err := set.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	if !set.Get("/lib").Shared {
		t.Error("an entry added again as shared is not marked shared")
	}

	groups, err := LibsLayer.split(set)
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) != 2 || groups[0].comment != libsComment || groups[1].comment != programComment {
		t.Fatalf("got %d layers %+v; want the C library set, then the program", len(groups), groups)
	}
	wantLibs := []string{"/lib", "/lib64", "/lib64/ld-linux-x86-64.so.2", "/usr", "/usr/lib", "/usr/lib/x86_64-linux-gnu",
		"/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", "/usr/lib/x86_64-linux-gnu/libc.so.6"}
	if diff := cmp.Diff(wantLibs, paths(groups[0].files)); diff != "" {
		t.Errorf("C library layer (-want +got):\n%s", diff)
	}
	wantProg := []string{"/app", "/app/prog", "/etc", "/etc/app", "/usr", "/usr/lib", "/usr/lib/x86_64-linux-gnu",
		"/usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30"}
	if diff := cmp.Diff(wantProg, paths(groups[1].files)); diff != "" {
		t.Errorf("program layer (-want +got):\n%s", diff)
	}

	one, err := OneLayer.split(set)
	if err != nil || len(one) != 1 || one[0].files != set {
		t.Errorf("OneLayer: %d layers, %v; want the whole set", len(one), err)
	}

	static := NewFileSet()
	if err := static.Add(Entry{Path: "/app/prog", Type: TypeFile, Mode: 0o755, Source: "/host/prog", Size: 1}); err != nil {
		t.Fatal(err)
	}
	if groups, err := LibsLayer.split(static); err != nil || len(groups) != 1 || groups[0].comment != programComment {
		t.Errorf("libs layering of a static program: %d layers, %v; want the program's only", len(groups), err)
	}
}

func TestParseLayering(t *testing.T) {
	for _, l := range []Layering{OneLayer, LibsLayer} {
		if got, err := ParseLayering(l.String()); err != nil || got != l {
			t.Errorf("ParseLayering(%q) = %v, %v", l, got, err)
		}
	}
	if _, err := ParseLayering("many"); err == nil {
		t.Error("ParseLayering(many): no error")
	}
}
