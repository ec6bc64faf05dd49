package sbom

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/scratchpack/scratchpack/elfdeps"
)

// DebPackage is an installed Debian package.
type DebPackage struct {
	Name         string
	Version      string
	Architecture string
	Source       string // the source package, if it differs from Name
	Maintainer   string
}

// Dpkg is the dpkg database of a system (var/lib/dpkg under the root of an
// fs.FS), asked which package owns which files.
type Dpkg struct {
	fsys    fs.FS
	root    *elfdeps.Root
	pkgs    map[string]DebPackage // by list-file stem: "libc6:amd64" or "ca-certificates"
	distro  string                // "debian-12", from etc/os-release, for package URLs
	dirs    map[string]string     // directory → its real path, through the root's links
	readErr error
}

const dpkgDir = "var/lib/dpkg"

// ErrNoDpkg is returned by OpenDpkg for a root without var/lib/dpkg/status.
var ErrNoDpkg = errors.New("no dpkg database")

// OpenDpkg reads the status file of the dpkg database in fsys, the root of
// a Debian system (a host, a sysroot, an unpacked image). fsys should
// implement fs.ReadLinkFS, so that paths dpkg lists before /usr was merged
// (/lib/x86_64-linux-gnu/libc.so.6) are matched with the real files behind
// the root's links (/usr/lib/x86_64-linux-gnu/libc.so.6).
func OpenDpkg(fsys fs.FS) (*Dpkg, error) {
	status, err := fs.ReadFile(fsys, dpkgDir+"/status")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNoDpkg
	} else if err != nil {
		return nil, fmt.Errorf("reading /%s/status: %w", dpkgDir, err)
	}
	d := &Dpkg{fsys: fsys, root: elfdeps.NewRoot(fsys, "the dpkg root"), pkgs: map[string]DebPackage{}, dirs: map[string]string{}}
	for _, p := range ParseStatus(status) {
		d.pkgs[p.Name+":"+p.Architecture] = p
		if _, ok := d.pkgs[p.Name]; !ok || p.Architecture == "all" {
			d.pkgs[p.Name] = p
		}
	}
	d.distro = distro(fsys)
	return d, nil
}

// ParseStatus returns the installed packages of a dpkg status file, sorted
// by name and architecture. Malformed paragraphs are skipped.
func ParseStatus(data []byte) []DebPackage {
	var out []DebPackage
	for _, para := range bytes.Split(data, []byte("\n\n")) {
		f := fields(para)
		if f["Package"] == "" || f["Version"] == "" || !strings.HasSuffix(f["Status"], " installed") {
			continue
		}
		p := DebPackage{Name: f["Package"], Version: f["Version"], Architecture: f["Architecture"], Maintainer: f["Maintainer"]}
		if src, _, _ := strings.Cut(f["Source"], " "); src != p.Name {
			p.Source = src
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Architecture < out[j].Architecture
	})
	return out
}

// fields reads the "Key: value" lines of one paragraph (continuation lines
// are dropped: no field scratchpack reads has them).
func fields(para []byte) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(string(para), "\n") {
		if line == "" || line[0] == ' ' || line[0] == '\t' {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if ok {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m
}

// owned is a file dpkg says a package installed, with the MD5 it recorded.
type owned struct {
	pkg DebPackage
	md5 string // hex; "" if the package lists none for the file
}

// Owners returns, for each of paths (absolute, in the dpkg root) that an
// installed package lists, that package and the file's recorded MD5. Paths
// are compared after following the root's directory links on both sides.
func (d *Dpkg) owners(paths []string) (map[string]owned, error) {
	want := map[string]string{} // real path → asked path
	bases := map[string]bool{}
	for _, p := range paths {
		want[d.real(p)] = p
		bases[path.Base(p)] = true
	}
	out := map[string]owned{}
	infos, err := fs.Glob(d.fsys, dpkgDir+"/info/*.list")
	if err != nil {
		return nil, err
	}
	for _, list := range infos {
		stem := strings.TrimSuffix(path.Base(list), ".list")
		pkg, ok := d.pkgs[stem]
		if !ok {
			continue // not installed (a leftover list)
		}
		data, err := fs.ReadFile(d.fsys, list)
		if err != nil {
			return nil, fmt.Errorf("reading /%s: %w", list, err)
		}
		var sums map[string]string
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			listed := sc.Text()
			if !bases[path.Base(listed)] {
				continue
			}
			asked, ok := want[d.real(listed)]
			if !ok {
				continue
			}
			if sums == nil {
				sums = d.md5sums(stem)
			}
			o := owned{pkg: pkg, md5: sums[strings.TrimPrefix(listed, "/")]}
			if prev, dup := out[asked]; !dup || (prev.md5 == "" && o.md5 != "") {
				out[asked] = o
			}
		}
	}
	return out, nil
}

// md5sums reads the MD5s a package recorded for its files: path (without
// the leading /) → hex.
func (d *Dpkg) md5sums(stem string) map[string]string {
	m := map[string]string{}
	data, err := fs.ReadFile(d.fsys, dpkgDir+"/info/"+stem+".md5sums")
	if err != nil {
		return m
	}
	for _, line := range strings.Split(string(data), "\n") {
		sum, p, ok := strings.Cut(line, "  ")
		if ok && len(sum) == 32 {
			m[p] = sum
		}
	}
	return m
}

// real is p with its directory resolved through the root's symbolic links.
func (d *Dpkg) real(p string) string {
	p = path.Clean("/" + p)
	dir := path.Dir(p)
	r, ok := d.dirs[dir]
	if !ok {
		var err error
		if r, err = d.root.ResolveExisting(dir); err != nil {
			r = dir
		}
		d.dirs[dir] = r
	}
	return path.Join(r, path.Base(p))
}

// distro is ID-VERSION_ID from the root's os-release ("debian-12"), or "".
func distro(fsys fs.FS) string {
	for _, name := range []string{"etc/os-release", "usr/lib/os-release"} {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			continue
		}
		vals := map[string]string{}
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, "="); ok {
				vals[k] = strings.Trim(v, `"'`)
			}
		}
		if vals["ID"] != "" && vals["VERSION_ID"] != "" {
			return vals["ID"] + "-" + vals["VERSION_ID"]
		}
	}
	return ""
}
