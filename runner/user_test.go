package runner

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/scratchpack/scratchpack/elfdeps"
)

func TestLookupUser(t *testing.T) {
	root := elfdeps.NewRoot(fstest.MapFS{
		"etc/passwd": {Data: []byte("root:x:0:0:root:/root:/bin/sh\n# comment\n\napp:x:1000:1001:App:/home/app:/bin/sh\nnohome:x:1002:1002::\n")},
		"etc/group":  {Data: []byte("root:x:0:\napp:x:1001:\nwheel:x:10:app,other\naudio:x:29:other\nstaff:x:50:app\n")},
	}, "test")
	empty := elfdeps.NewRoot(fstest.MapFS{}, "empty")
	for _, tc := range []struct {
		name string
		root *elfdeps.Root
		spec string
		want *user
		err  string
	}{
		{name: "default", root: root, spec: "", want: &user{0, 0, nil, "/root"}},
		{name: "name", root: root, spec: "app", want: &user{1000, 1001, []uint32{10, 50}, "/home/app"}},
		{name: "uid", root: root, spec: "1000", want: &user{1000, 1001, []uint32{10, 50}, "/home/app"}},
		{name: "name:group", root: root, spec: "app:wheel", want: &user{1000, 10, []uint32{50}, "/home/app"}},
		{name: "uid:gid", root: root, spec: "1000:29", want: &user{1000, 29, []uint32{10, 50}, "/home/app"}},
		{name: "unknown uid", root: root, spec: "4242", want: &user{4242, 0, nil, "/"}},
		{name: "unknown uid:gid", root: root, spec: "4242:4243", want: &user{4242, 4243, nil, "/"}},
		{name: "no home", root: root, spec: "nohome", want: &user{1002, 1002, nil, "/"}},
		{name: "no passwd, uid", root: empty, spec: "65532:65532", want: &user{65532, 65532, nil, "/"}},
		{name: "unknown name", root: root, spec: "nobody", err: "unable to find user nobody"},
		{name: "no passwd, name", root: empty, spec: "nonroot", err: "unable to find user nonroot"},
		{name: "unknown group", root: root, spec: "app:games", err: "unable to find group games"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := lookupUser(tc.root, tc.spec)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(user{})); diff != "" {
				t.Errorf("user (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNewProcess(t *testing.T) {
	root := elfdeps.NewRoot(fstest.MapFS{}, "empty")
	for _, tc := range []struct {
		name string
		cfg  v1.Config
		opts []Option
		want process
		err  string
	}{
		{name: "entrypoint and cmd", cfg: v1.Config{Entrypoint: []string{"/app/x"}, Cmd: []string{"-v"}, Env: []string{"A=1"}, WorkingDir: "data"},
			want: process{Args: []string{"/app/x", "-v"}, Env: []string{"A=1", defaultPath, "HOME=/"}, Cwd: "/data", Hostname: hostname}},
		{name: "args replace cmd", cfg: v1.Config{Entrypoint: []string{"/app/x"}, Cmd: []string{"-v"}}, opts: []Option{WithArgs("--version")},
			want: process{Args: []string{"/app/x", "--version"}, Env: []string{defaultPath, "HOME=/"}, Cwd: "/", Hostname: hostname}},
		{name: "empty args drop cmd", cfg: v1.Config{Entrypoint: []string{"/app/x"}, Cmd: []string{"-v"}}, opts: []Option{WithArgs()},
			want: process{Args: []string{"/app/x"}, Env: []string{defaultPath, "HOME=/"}, Cwd: "/", Hostname: hostname}},
		{name: "entrypoint replaced", cfg: v1.Config{Entrypoint: []string{"/app/x"}, Cmd: []string{"-v"}, Env: []string{"PATH=/bin", "HOME=/h"}},
			opts: []Option{WithEntrypoint("/bin/sh")},
			want: process{Args: []string{"/bin/sh"}, Env: []string{"PATH=/bin", "HOME=/h"}, Cwd: "/", Hostname: hostname}},
		{name: "cmd only", cfg: v1.Config{Cmd: []string{"/bin/sh", "-c", "true"}},
			want: process{Args: []string{"/bin/sh", "-c", "true"}, Env: []string{defaultPath, "HOME=/"}, Cwd: "/", Hostname: hostname}},
		{name: "nothing to run", cfg: v1.Config{}, err: "no command to run"},
		{name: "user not in the image", cfg: v1.Config{Cmd: []string{"x"}, User: "app"}, err: "unable to find user app"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := makeOptions(tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			got, err := newProcess(tc.cfg, o, root)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(&tc.want, got); diff != "" {
				t.Errorf("process (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRuntimeSpec(t *testing.T) {
	p := &process{Args: []string{"/app/x"}, Env: []string{"A=1"}, Cwd: "/", UID: 1000, GID: 1001, Groups: []uint32{10}, Hostname: hostname}
	for _, tc := range []struct {
		hostNet bool
		want    []string
	}{
		{false, []string{"pid", "ipc", "uts", "mount", "network"}},
		{true, []string{"pid", "ipc", "uts", "mount"}},
	} {
		s := runtimeSpec(p, tc.hostNet)
		var ns []string
		for _, n := range s.Linux.Namespaces {
			ns = append(ns, string(n.Type))
		}
		if diff := cmp.Diff(tc.want, ns); diff != "" {
			t.Errorf("host network %t: namespaces (-want +got):\n%s", tc.hostNet, diff)
		}
		if s.Root.Readonly || s.Process.Terminal || s.Process.User.UID != 1000 || s.Process.User.GID != 1001 ||
			!cmp.Equal(s.Process.User.AdditionalGids, []uint32{10}) || s.Process.Args[0] != "/app/x" {
			t.Errorf("spec: %+v %+v", s.Root, s.Process)
		}
		var mounts []string
		for _, m := range s.Mounts {
			mounts = append(mounts, m.Destination)
		}
		if diff := cmp.Diff([]string{"/proc", "/dev", "/dev/pts", "/dev/shm"}, mounts); diff != "" {
			t.Errorf("mounts (-want +got):\n%s", diff)
		}
	}
}
