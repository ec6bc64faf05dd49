package slim

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/scratchpack/scratchpack/packer"
)

// users is the part of the image's user database the slim image keeps:
// root, and the user the image runs as, with their groups.
type users struct {
	passwd, group []string // the lines kept, in the image's order
	allPasswd     []string // the image's own, all of them
	allGroup      []string
	home          string // the home of the image's user, from its passwd line
	uid, gid      int
	name          string // the user's name, "" when the image names a uid without a passwd line
	notes         []string
}

// keptUsers picks from the root's /etc/passwd and /etc/group what the
// image's User needs: root's lines, the user's line, its primary group,
// the group User names, and the groups that list the user as a member.
// An image without a user database gets none.
func keptUsers(root, spec string) (*users, error) {
	u := &users{}
	passwd, err := readDB(root, "/etc/passwd")
	if err != nil {
		return nil, err
	}
	group, err := readDB(root, "/etc/group")
	if err != nil {
		return nil, err
	}
	u.allPasswd, u.allGroup = passwd, group
	name, grp, _ := strings.Cut(spec, ":")
	if name == "" {
		name = "0"
	}
	for _, l := range passwd {
		f := strings.Split(l, ":")
		if len(f) < 7 {
			continue
		}
		if f[2] == "0" {
			u.passwd = append(u.passwd, l)
		}
		if f[0] == name || (f[2] == name && u.name == "") {
			if !slices.Contains(u.passwd, l) {
				u.passwd = append(u.passwd, l)
			}
			u.name, u.home = f[0], f[5]
			u.uid, _ = strconv.Atoi(f[2])
			u.gid, _ = strconv.Atoi(f[3])
		}
	}
	if u.name == "" {
		id, err := strconv.Atoi(name)
		if err != nil {
			if len(passwd) == 0 {
				return nil, fmt.Errorf("the image's user %q: the image has no /etc/passwd to find it in", name)
			}
			return nil, fmt.Errorf("the image's user %q is not in its /etc/passwd", name)
		}
		u.uid = id
		if id != 0 && len(passwd) > 0 {
			u.notes = append(u.notes, fmt.Sprintf("the image's user %d has no line in its /etc/passwd", id))
		}
	}
	if grp != "" {
		if id, err := strconv.Atoi(grp); err == nil {
			u.gid = id
		}
	}
	for _, l := range group {
		f := strings.Split(l, ":")
		if len(f) < 4 {
			continue
		}
		members := strings.Split(f[3], ",")
		keep := f[2] == "0" || f[2] == strconv.Itoa(u.gid) || (grp != "" && f[0] == grp) || (u.name != "" && slices.Contains(members, u.name))
		if keep {
			u.group = append(u.group, l)
		}
	}
	return u, nil
}

// keepAll keeps every line of the image's user database: a traced run read
// it, and what it looked up there (nginx's worker user) is not known.
func (u *users) keepAll() {
	if len(u.allPasswd) == len(u.passwd) && len(u.allGroup) == len(u.group) {
		return
	}
	u.passwd, u.group = u.allPasswd, u.allGroup
	u.notes = append(u.notes, "the traced run read the user database: all of the image's /etc/passwd and /etc/group is kept")
}

// readDB returns the lines of a user database file of the root; none when
// the root has no such file.
func readDB(root, p string) ([]string, error) {
	real, fi := statIn(root, p)
	if fi == nil {
		return nil, nil
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("the image's %s is not a regular file", p)
	}
	b, err := os.ReadFile(hostPath(root, real))
	if err != nil {
		return nil, fmt.Errorf("reading the image's %s: %w", p, err)
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if l := sc.Text(); strings.TrimSpace(l) != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	return lines, sc.Err()
}

// additions writes the kept lines into dir and returns them as files to
// add at /etc/passwd and /etc/group.
func (u *users) additions(dir string) ([]packer.Addition, error) {
	var adds []packer.Addition
	for _, db := range []struct {
		name  string
		lines []string
	}{{"passwd", u.passwd}, {"group", u.group}} {
		if len(db.lines) == 0 {
			continue
		}
		f := filepath.Join(dir, db.name)
		if err := os.WriteFile(f, []byte(strings.Join(db.lines, "\n")+"\n"), 0o644); err != nil {
			return nil, err
		}
		adds = append(adds, packer.Addition{Src: f, Dest: "/etc/" + db.name})
	}
	return adds, nil
}

// names lists the users kept, for the report.
func (u *users) names() []string {
	var out []string
	for _, l := range u.passwd {
		name, _, _ := strings.Cut(l, ":")
		out = append(out, name)
	}
	return out
}
