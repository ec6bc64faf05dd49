package slim

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const testPasswd = `root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
redis:x:100:102::/var/lib/redis:/usr/sbin/nologin
www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin
`

const testGroup = `root:x:0:
daemon:x:1:
www-data:x:33:
redis:x:102:
adm:x:4:redis,daemon
`

func TestKeptUsers(t *testing.T) {
	root := tree(t,
		treeFile{path: "etc/passwd", data: testPasswd, mode: 0o644},
		treeFile{path: "etc/group", data: testGroup, mode: 0o644})
	for _, tc := range []struct {
		name, user string
		want       users
		wantErr    bool
	}{
		{name: "no user is root", user: "",
			want: users{passwd: []string{"root:x:0:0:root:/root:/bin/bash"}, group: []string{"root:x:0:"}, name: "root", home: "/root"}},
		{name: "by name, with its groups", user: "redis",
			want: users{passwd: []string{"root:x:0:0:root:/root:/bin/bash", "redis:x:100:102::/var/lib/redis:/usr/sbin/nologin"},
				group: []string{"root:x:0:", "redis:x:102:", "adm:x:4:redis,daemon"}, name: "redis", home: "/var/lib/redis", uid: 100, gid: 102}},
		{name: "by uid", user: "33",
			want: users{passwd: []string{"root:x:0:0:root:/root:/bin/bash", "www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin"},
				group: []string{"root:x:0:", "www-data:x:33:"}, name: "www-data", home: "/var/www", uid: 33, gid: 33}},
		{name: "with a group", user: "www-data:adm",
			want: users{passwd: []string{"root:x:0:0:root:/root:/bin/bash", "www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin"},
				group: []string{"root:x:0:", "www-data:x:33:", "adm:x:4:redis,daemon"}, name: "www-data", home: "/var/www", uid: 33, gid: 33}},
		{name: "a uid without a line", user: "1000:1000",
			want: users{passwd: []string{"root:x:0:0:root:/root:/bin/bash"}, group: []string{"root:x:0:"}, uid: 1000, gid: 1000,
				notes: []string{"the image's user 1000 has no line in its /etc/passwd"}}},
		{name: "an unknown name", user: "nginx", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := keptUsers(root, tc.user)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("keptUsers(%q): no error", tc.user)
				}
				return
			}
			if err != nil {
				t.Fatalf("keptUsers(%q): %v", tc.user, err)
			}
			if diff := cmp.Diff(tc.want, *got, cmp.AllowUnexported(users{}), cmpopts.IgnoreFields(users{}, "allPasswd", "allGroup")); diff != "" {
				t.Errorf("keptUsers(%q) (-want +got):\n%s", tc.user, diff)
			}
		})
	}
}

func TestKeptUsersNoDatabase(t *testing.T) {
	root := t.TempDir()
	u, err := keptUsers(root, "")
	if err != nil || len(u.passwd) != 0 || len(u.group) != 0 {
		t.Errorf("keptUsers in a root without /etc/passwd: %+v, %v; want nothing and no error", u, err)
	}
	if _, err := keptUsers(root, "app"); err == nil {
		t.Error("keptUsers(app) in a root without /etc/passwd: no error")
	}
}

func TestKeepAllUsers(t *testing.T) {
	root := tree(t,
		treeFile{path: "etc/passwd", data: testPasswd, mode: 0o644},
		treeFile{path: "etc/group", data: testGroup, mode: 0o644})
	u, err := keptUsers(root, "")
	if err != nil {
		t.Fatal(err)
	}
	u.keepAll()
	if diff := cmp.Diff([]string{"root", "daemon", "redis", "www-data"}, u.names()); diff != "" {
		t.Errorf("after keepAll, users (-want +got):\n%s", diff)
	}
	if len(u.group) != 5 || len(u.notes) != 1 {
		t.Errorf("after keepAll: %d groups, notes %q; want 5 and one note", len(u.group), u.notes)
	}
}
