package elfdeps

import (
	"fmt"
	"io"
	"strings"
)

// RuntimeFile is a data file the C library reads at run time for functions
// a program uses: the user database for getpwnam, the resolver's files for
// getaddrinfo.
type RuntimeFile struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// runtimeFiles are the files behind groups of C library functions.
var runtimeFiles = []struct {
	funcs []string
	files []string
}{
	{[]string{"getpwnam", "getpwnam_r", "getpwuid", "getpwuid_r", "getpwent"}, []string{"/etc/passwd"}},
	{[]string{"getgrnam", "getgrnam_r", "getgrgid", "getgrgid_r", "getgrent", "getgrouplist", "initgroups"}, []string{"/etc/group"}},
	{[]string{"getspnam", "getspnam_r"}, []string{"/etc/shadow"}},
	{nssHostFuncs, []string{"/etc/hosts", "/etc/resolv.conf", "/etc/nsswitch.conf"}},
	{[]string{"getservbyname", "getservbyname_r", "getservbyport"}, []string{"/etc/services"}},
	{[]string{"localtime", "localtime_r", "mktime", "tzset", "strftime"}, []string{"/etc/localtime", "/usr/share/zoneinfo"}},
}

// RuntimeFiles lists the data files that the functions the program prog
// imports read at run time. It knows only what dynamic programs import: a
// static program, or a file that is not ELF, gives none. The program may do
// without them; a failure of getpwnam is often a missing /etc/passwd.
func RuntimeFiles(prog io.ReaderAt) []RuntimeFile {
	o, err := readObjectParts(prog, false)
	if err != nil {
		return nil
	}
	imports := importSet(o)
	var out []RuntimeFile
	seen := map[string]bool{}
	for _, g := range runtimeFiles {
		fs := used(imports, g.funcs)
		if len(fs) == 0 {
			continue
		}
		for _, f := range g.files {
			if seen[f] {
				continue
			}
			seen[f] = true
			verb := "reads"
			if len(fs) > 1 {
				verb = "read"
			}
			out = append(out, RuntimeFile{Path: f, Reason: fmt.Sprintf("it calls %s, which %s %s", strings.Join(fs, ", "), verb, f)})
		}
	}
	return out
}
