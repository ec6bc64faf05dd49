package runner

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"github.com/scratchpack/scratchpack/elfdeps"
)

// user is a resolved image user.
type user struct {
	uid, gid uint32
	groups   []uint32 // supplementary groups, from /etc/group
	home     string
}

// lookupUser resolves the image's User field (NAME, UID, NAME:GROUP,
// UID:GID, and mixes) as Docker does: names through the image's own
// /etc/passwd and /etc/group, a numeric uid without a passwd entry as
// itself with gid 0, and supplementary groups from /etc/group.
func lookupUser(root *elfdeps.Root, spec string) (*user, error) {
	if spec == "" {
		spec = "0"
	}
	name, group, hasGroup := strings.Cut(spec, ":")
	passwd, err := readDB(root, "/etc/passwd")
	if err != nil {
		return nil, err
	}
	u := &user{home: "/"}
	uname := ""
	if id, err := strconv.ParseUint(name, 10, 32); err == nil {
		u.uid = uint32(id)
		for _, f := range passwd {
			if len(f) >= 6 && f[2] == name {
				uname = f[0]
				u.gid, u.home = parseID(f[3]), f[5]
				break
			}
		}
	} else {
		found := false
		for _, f := range passwd {
			if len(f) >= 6 && f[0] == name {
				found, uname = true, name
				u.uid, u.gid, u.home = parseID(f[2]), parseID(f[3]), f[5]
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("unable to find user %s: no matching entries in the image's /etc/passwd", name)
		}
	}
	groups, err := readDB(root, "/etc/group")
	if err != nil {
		return nil, err
	}
	if hasGroup {
		if id, err := strconv.ParseUint(group, 10, 32); err == nil {
			u.gid = uint32(id)
		} else {
			found := false
			for _, f := range groups {
				if len(f) >= 3 && f[0] == group {
					found, u.gid = true, parseID(f[2])
					break
				}
			}
			if !found {
				return nil, fmt.Errorf("unable to find group %s: no matching entries in the image's /etc/group", group)
			}
		}
	}
	if uname != "" {
		for _, f := range groups {
			if len(f) < 4 {
				continue
			}
			for _, m := range strings.Split(f[3], ",") {
				if m == uname {
					if gid := parseID(f[2]); gid != u.gid {
						u.groups = append(u.groups, gid)
					}
				}
			}
		}
	}
	if u.home == "" {
		u.home = "/"
	}
	return u, nil
}

func parseID(s string) uint32 {
	n, _ := strconv.ParseUint(s, 10, 32)
	return uint32(n)
}

// readDB reads a colon-separated database of the image (nil if it has none).
func readDB(root *elfdeps.Root, name string) ([][]string, error) {
	b, err := root.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the image's %s: %w", name, err)
	}
	var out [][]string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, strings.Split(line, ":"))
	}
	return out, sc.Err()
}
