package slim

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// treeFile is a file of a test root: copied from a host file, written
// with data, or a symbolic link.
type treeFile struct {
	path, from, data, link string
	mode                   os.FileMode
}

// tree makes a root of files in a temporary directory.
func tree(t *testing.T, files ...treeFile) string {
	t.Helper()
	root := t.TempDir()
	for _, f := range files {
		p := filepath.Join(root, f.path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if f.link != "" {
			if err := os.Symlink(f.link, p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		b := []byte(f.data)
		if f.from != "" {
			var err error
			if b, err = os.ReadFile(f.from); err != nil {
				t.Skipf("SKIP (component missing): this machine's %s: %v", f.from, err)
			}
		}
		mode := f.mode
		if mode == 0 {
			mode = 0o755
		}
		if err := os.WriteFile(p, b, mode); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// hostELF is an ELF program of this machine every Debian has.
const hostELF = "/usr/bin/true"

func TestFindProgram(t *testing.T) {
	root := tree(t,
		treeFile{path: "usr/bin/server", from: hostELF},
		treeFile{path: "usr/bin/alias", link: "server"},
		treeFile{path: "bin", link: "usr/bin"},
		treeFile{path: "usr/bin/sh", from: hostELF},
		treeFile{path: "usr/bin/env", from: hostELF},
		treeFile{path: "usr/bin/python3", from: hostELF},
		treeFile{path: "app/start.sh", data: "#!/bin/sh\nexec server\n"},
		treeFile{path: "app/main.py", data: "#!/usr/bin/env python3\nprint(1)\n"},
		treeFile{path: "app/data.txt", data: "not a program", mode: 0o644},
		treeFile{path: "app/noshebang", data: "echo hi\n"},
	)
	path := []string{"PATH=/usr/local/bin:/usr/bin"}
	for _, tc := range []struct {
		name    string
		cfg     v1.Config
		named   string
		want    program
		wantErr error
	}{
		{name: "through PATH", cfg: v1.Config{Entrypoint: []string{"server"}, Env: path},
			want: program{named: "server", path: "/usr/bin/server", real: "/usr/bin/server"}},
		{name: "command only", cfg: v1.Config{Cmd: []string{"server", "-x"}, Env: path},
			want: program{named: "server", path: "/usr/bin/server", real: "/usr/bin/server"}},
		{name: "a link is resolved and kept", cfg: v1.Config{Entrypoint: []string{"/bin/alias"}},
			want: program{named: "/bin/alias", path: "/bin/alias", real: "/usr/bin/server"}},
		{name: "relative to the working directory", cfg: v1.Config{Entrypoint: []string{"../usr/bin/server"}, WorkingDir: "/app"},
			want: program{named: "../usr/bin/server", path: "/usr/bin/server", real: "/usr/bin/server"}},
		{name: "named overrides the entrypoint", cfg: v1.Config{Entrypoint: []string{"/app/start.sh"}}, named: "/usr/bin/server",
			want: program{named: "/usr/bin/server", path: "/usr/bin/server", real: "/usr/bin/server"}},
		{name: "a script keeps its interpreter", cfg: v1.Config{Entrypoint: []string{"/app/start.sh"}},
			want: program{named: "/app/start.sh", path: "/bin/sh", real: "/usr/bin/sh", script: "/app/start.sh",
				notes: []string{"/app/start.sh is a script (#!/bin/sh): it is kept with its interpreter, and what it runs is found only by tracing a run"}}},
		{name: "env finds the interpreter", cfg: v1.Config{Entrypoint: []string{"/app/main.py"}, Env: path},
			want: program{named: "/app/main.py", path: "/usr/bin/python3", real: "/usr/bin/python3", script: "/app/main.py", more: []string{"/usr/bin/env"},
				notes: []string{"/app/main.py is a script (#!/usr/bin/env python3): it is kept with its interpreter, and what it runs is found only by tracing a run"}}},
		{name: "a shell command says so", cfg: v1.Config{Entrypoint: []string{"sh", "-c", "server --fast"}, Env: path},
			want: program{named: "sh", path: "/usr/bin/sh", real: "/usr/bin/sh",
				notes: []string{`the image runs a shell command (sh -c "server --fast"): what it runs is found only by tracing a run`}}},
		{name: "nothing to run", cfg: v1.Config{}, wantErr: ErrNoProgram},
		{name: "not in PATH", cfg: v1.Config{Entrypoint: []string{"nginx"}, Env: path}, wantErr: ErrNoProgram},
		{name: "absent", cfg: v1.Config{Entrypoint: []string{"/usr/sbin/nginx"}}, wantErr: ErrNoProgram},
		{name: "not executable", cfg: v1.Config{Entrypoint: []string{"/app/data.txt"}}, wantErr: ErrNoProgram},
		{name: "neither ELF nor script", cfg: v1.Config{Entrypoint: []string{"/app/noshebang"}}, wantErr: ErrNoProgram},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := findProgram(root, tc.cfg, tc.named)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("findProgram: %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("findProgram: %v", err)
			}
			if diff := cmp.Diff(tc.want, *got, cmp.AllowUnexported(program{})); diff != "" {
				t.Errorf("findProgram (-want +got):\n%s", diff)
			}
		})
	}
}

func TestProgramPrograms(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    program
		want []string
	}{
		{"an ELF program", program{path: "/usr/bin/server", real: "/usr/bin/server"}, nil},
		{"through a link", program{path: "/usr/bin/redis-server", real: "/usr/bin/redis-check-rdb"}, []string{"/usr/bin/redis-server"}},
		{"a script through env", program{path: "/usr/bin/python3", real: "/usr/bin/python3.11", script: "/app/main.py", more: []string{"/usr/bin/env"}},
			[]string{"/app/main.py", "/usr/bin/python3", "/usr/bin/env"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.p.programs()); diff != "" {
				t.Errorf("programs (-want +got):\n%s", diff)
			}
		})
	}
}
