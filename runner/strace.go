package runner

import (
	"bufio"
	"io"
	"path"
	"strconv"
	"strings"
)

// traceKind is how a traced call used a path.
type traceKind int

// The ways a traced call uses a path.
const (
	traceOpen  traceKind = iota // opened (open, openat, openat2)
	traceExec                   // executed (execve, execveat)
	traceStat                   // resolved without opening: stat, lstat, statx, access, readlink and their *at forms
	traceList                   // listed: getdents64 on a directory descriptor
	traceMkdir                  // made: mkdir, mkdirat (what it needs is the directory it is made in)
)

// straceCalls are the calls traced, with how each uses its path. Other
// calls of strace's %file class (mkdir, unlink, rename, chmod, statfs, ...)
// are in the log but say nothing about what an image needs.
var straceCalls = map[string]traceKind{
	"open": traceOpen, "openat": traceOpen, "openat2": traceOpen,
	"execve": traceExec, "execveat": traceExec,
	"stat": traceStat, "lstat": traceStat, "newfstatat": traceStat, "fstatat64": traceStat, "statx": traceStat,
	"stat64": traceStat, "lstat64": traceStat,
	"access": traceStat, "faccessat": traceStat, "faccessat2": traceStat,
	"readlink": traceStat, "readlinkat": traceStat, "chdir": traceStat,
	"getdents64": traceList, "getdents": traceList,
	"mkdir": traceMkdir, "mkdirat": traceMkdir,
}

// straceArgs are the strace options that write the log parseStrace reads:
// every process (-f), descriptors decorated with their paths (-y), only
// successful calls (-z), the calls taking a file name and directory reads.
var straceArgs = []string{"-f", "-qq", "-y", "-z", "-e", "trace=%file,getdents64,getdents", "-e", "signal=none"}

// straceEvent is one successful call that used a path.
type straceEvent struct {
	pid  string // the process that made the call
	path string // absolute, as asked for (links not followed)
	real string // as strace -y showed the opened descriptor, if it did
	kind traceKind
}

// parseStrace reads the log of strace with straceArgs and returns the
// successful calls of straceCalls, joining calls that strace split in
// "<unfinished ...>" and "<... resumed>" lines.
func parseStrace(r io.Reader) ([]straceEvent, error) {
	var out []straceEvent
	pending := map[string]string{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		pid, rest, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok {
			continue
		}
		rest = strings.TrimSpace(rest)
		if from, found := strings.CutPrefix(rest, "+++ superseded by execve in pid "); found {
			// A thread other than the leader executed a program: its
			// execve resumes under the leader's pid.
			from = strings.TrimSuffix(from, " +++")
			if head, ok := pending[from]; ok {
				pending[pid] = head
				delete(pending, from)
			}
			continue
		}
		if head, found := strings.CutSuffix(rest, " <unfinished ...>"); found {
			pending[pid] = head
			continue
		}
		if strings.HasPrefix(rest, "<... ") {
			call, tail, found := strings.Cut(rest, " resumed>")
			if !found {
				continue
			}
			head, ok := pending[pid]
			if !ok && strings.HasPrefix(call, "<... execve") && strings.HasSuffix(strings.TrimSpace(tail), "= 0") {
				// A program executed by a thread other than the
				// leader: strace -z leaves out the unfinished half,
				// which has the path.
				out = append(out, straceEvent{pid: pid, kind: traceExec})
				continue
			}
			rest = head + tail
			delete(pending, pid)
		}
		if ev, ok := parseCall(rest); ok {
			ev.pid = pid
			out = append(out, ev)
		}
	}
	return out, sc.Err()
}

// parseCall parses one call: `openat(AT_FDCWD</cwd>, "path", FLAGS) =
// 3</real>`, `execve("/bin/x", [...], ...) = 0`, `newfstatat(3</usr>,
// "lib", {...}, 0) = 0`, `getdents64(3</etc/x.d>, ...) = 160`.
func parseCall(s string) (straceEvent, bool) {
	name, args, ok := strings.Cut(s, "(")
	if !ok {
		return straceEvent{}, false
	}
	kind, ok := straceCalls[name]
	if !ok {
		return straceEvent{}, false
	}
	eq := strings.LastIndex(s, ") = ")
	if eq < 0 {
		return straceEvent{}, false
	}
	ret := s[eq+len(") = "):]
	num, deco, _ := strings.Cut(ret, "<")
	n, err := strconv.Atoi(strings.TrimSpace(strings.Fields(num + " ")[0]))
	if err != nil || n < 0 {
		return straceEvent{}, false
	}
	ev := straceEvent{kind: kind}
	if kind == traceList {
		// The directory is the descriptor's decoration: 3</etc/apt/apt.conf.d>.
		lt, gt := strings.IndexByte(args, '<'), strings.Index(args, ">,")
		if lt < 0 || gt < lt {
			return straceEvent{}, false
		}
		d := args[lt+1 : gt]
		if !path.IsAbs(d) {
			return straceEvent{}, false
		}
		ev.path, ev.real = path.Clean(d), path.Clean(d)
		return ev, true
	}
	q := strings.IndexByte(args, '"')
	if q < 0 {
		return straceEvent{}, false
	}
	p, ok := unquoteC(args[q:])
	if !ok || p == "" {
		return straceEvent{}, false
	}
	if kind == traceOpen {
		if i := strings.LastIndexByte(deco, '>'); i >= 0 {
			ev.real = deco[:i]
		}
	}
	switch {
	case path.IsAbs(p):
		ev.path = path.Clean(p)
	case strings.Contains(args[:q], "<"):
		// A directory descriptor, decorated by -y: AT_FDCWD</cwd> or 3</usr/lib>.
		d := args[strings.IndexByte(args, '<')+1 : q]
		d = d[:strings.LastIndexByte(d, '>')]
		ev.path = path.Join(d, p)
	case ev.real != "":
		ev.path = ev.real
	default:
		return straceEvent{}, false
	}
	if ev.real == "" {
		ev.real = ev.path
	}
	return ev, true
}

// unquoteC reads the C string literal strace prints at the start of s.
func unquoteC(s string) (string, bool) {
	if !strings.HasPrefix(s, `"`) {
		return "", false
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			return b.String(), true
		case c != '\\':
			b.WriteByte(c)
		case i+1 >= len(s):
			return "", false
		default:
			i++
			switch e := s[i]; e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case 'v':
				b.WriteByte('\v')
			case 'f':
				b.WriteByte('\f')
			case 'x':
				if i+2 >= len(s) {
					return "", false
				}
				v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
				if err != nil {
					return "", false
				}
				b.WriteByte(byte(v))
				i += 2
			case '0', '1', '2', '3', '4', '5', '6', '7':
				j := i
				for j < len(s) && j < i+3 && s[j] >= '0' && s[j] <= '7' {
					j++
				}
				v, _ := strconv.ParseUint(s[i:j], 8, 8)
				b.WriteByte(byte(v))
				i = j - 1
			default:
				b.WriteByte(e)
			}
		}
	}
	return "", false
}
