package elfdeps

import (
	"io"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"
)

// DlopenHint is something a program probably loads at run time, with
// dlopen, that its loader's closure (DT_NEEDED) does not show. Hints come
// from reading files, never from running them: names in the read-only
// strings of objects that call dlopen, and plugin families known by the
// functions or libraries a program uses.
type DlopenHint struct {
	// Name is a library name (libfoo.so.1), a path, a pattern
	// (libgomp-plugin-*.so.1), or for a family what it loads.
	Name string `json:"name"`
	// Family is nss (glibc before 2.34), gconv, libgcc_s, libgomp, gl, egl,
	// vulkan, pyinstaller or python; empty for a name found in strings.
	Family string `json:"family,omitempty"`
	// Reason says why scratchpack thinks so.
	Reason string `json:"reason"`
	// FoundIn are the files that gave it away.
	FoundIn []string `json:"found_in"`
	// Path is where the root has it, if it does.
	Path string `json:"path,omitempty"`
}

// maxRodata bounds how much of one object's .rodata is scanned.
const maxRodata = 64 << 20

// maxHints bounds the hints of one program.
const maxHints = 24

// DlopenHints lists what the program prog (described by rep, with closure
// c resolved in root) probably loads at run time that c does not hold.
// Libraries of the closure are read through root. It reports no names
// already in the closure or in the program's DT_NEEDED, and scans for names
// only objects that import dlopen, leaving glibc and the loader out (their
// own dlopens are covered by the families). Never nil.
func DlopenHints(root *Root, prog io.ReaderAt, rep *Report, c *Closure) []DlopenHint {
	h := &hinter{root: root, rep: rep, c: c, byName: map[string]*DlopenHint{}, have: map[string]bool{}}
	for _, n := range rep.Needed {
		h.have[n] = true
	}
	if c != nil {
		if c.Interpreter != nil {
			h.have[path.Base(c.Interpreter.Path)] = true
		}
		for _, l := range c.Libraries {
			h.have[l.Soname], h.have[path.Base(l.Path)], h.have[path.Base(l.RealPath)] = true, true, true
			h.have[l.Path], h.have[l.RealPath] = true, true
		}
	}
	h.scan(rep.Path, prog, true)
	if c != nil {
		for _, l := range c.Libraries {
			if IsGlibcSoname(l.Soname) {
				continue
			}
			src := l.Source
			if src == "" {
				src = l.Path
			}
			if root.objects != nil {
				if o, _, err := root.object(src); err == nil {
					h.scanObject(l.Path, o, false)
				}
				continue
			}
			f, _, err := root.Open(src)
			if err != nil {
				continue
			}
			h.scan(l.Path, f, false)
			f.Close()
		}
		h.libraryFamilies()
	}
	return h.result()
}

type hinter struct {
	root   *Root
	rep    *Report
	c      *Closure
	byName map[string]*DlopenHint
	order  []string
	have   map[string]bool // names and paths the closure already holds
}

func (h *hinter) add(hint DlopenHint) {
	if prev, ok := h.byName[hint.Name]; ok {
		for _, f := range hint.FoundIn {
			if !contains(prev.FoundIn, f) {
				prev.FoundIn = append(prev.FoundIn, f)
			}
		}
		return
	}
	if len(h.order) >= maxHints {
		return
	}
	h.byName[hint.Name] = &hint
	h.order = append(h.order, hint.Name)
}

func (h *hinter) result() []DlopenHint {
	out := make([]DlopenHint, 0, len(h.order))
	for _, n := range h.order {
		out = append(out, *h.byName[n])
	}
	// Families first, in the order found; then names, sorted.
	sort.SliceStable(out, func(i, j int) bool {
		if (out[i].Family == "") != (out[j].Family == "") {
			return out[i].Family != ""
		}
		return out[i].Family == "" && out[i].Name < out[j].Name
	})
	return out
}

// scan reads one object's imports and strings.
func (h *hinter) scan(name string, r io.ReaderAt, isProgram bool) {
	o, err := readObjectParts(r, false)
	if err != nil {
		return
	}
	h.scanObject(name, o, isProgram)
}

// scanObject is scan of an object already parsed, whose file is open.
func (h *hinter) scanObject(name string, o *object, isProgram bool) {
	imports := importSet(o)
	h.symbolFamilies(name, imports, isProgram)
	dlopens := imports["dlopen"] || imports["dlmopen"]
	var clues stringClues
	rodataChunks(o.f, func(b []byte) {
		clues.see(b)
		if dlopens {
			h.names(name, b)
		}
	})
	h.clueFamilies(name, clues)
}

// importSet is the set of names o imports; none if its symbols are unreadable.
func importSet(o *object) map[string]bool {
	set := map[string]bool{}
	names, _ := o.imports()
	for _, n := range names {
		set[n] = true
	}
	return set
}

// The functions by which a program uses a plugin family.
var (
	nssUserFuncs = []string{"getpwnam", "getpwnam_r", "getpwuid", "getpwuid_r", "getpwent", "getgrnam", "getgrnam_r",
		"getgrgid", "getgrgid_r", "getgrent", "getgrouplist", "initgroups", "getspnam", "getspnam_r"}
	nssHostFuncs = []string{"getaddrinfo", "gethostbyname", "gethostbyname2", "gethostbyname_r", "gethostbyname2_r",
		"gethostbyaddr", "gethostbyaddr_r", "getnameinfo", "getservbyname", "getservbyname_r", "getservbyport"}
	gconvFuncs  = []string{"iconv_open"}
	unwindFuncs = []string{"pthread_cancel", "pthread_exit", "backtrace"}
	gompTarget  = []string{"GOMP_target", "GOMP_target_ext", "GOMP_target_data", "GOMP_target_data_ext", "GOACC_parallel_keyed"}
)

var (
	pythonDynload = regexp.MustCompile(`\.cpython-3([0-9]+)-`)
	pyinstaller   = []string{"_MEIPASS", "Cannot open PyInstaller archive"}
)

var (
	soEnd  = regexp.MustCompile(`\.so(?:\.[0-9]+)*$`)
	verbRE = regexp.MustCompile(`%[-0-9.]*[sdiuxl]+`)
)

// maxHintName bounds a name or path taken from strings: plugin paths are
// short, and a longer "path" is strings laid end to end.
const maxHintName = 255

// libDir is the directory of the closure's libc, or the multiarch default.
func (h *hinter) libDir() string {
	if h.c != nil {
		for _, l := range h.c.Libraries {
			if l.Soname == "libc.so.6" {
				return path.Dir(l.RealPath)
			}
		}
	}
	if t := h.triplet(); t != "" {
		return "/usr/lib/" + t
	}
	return "/usr/lib"
}

// located fills in where the root has the hint's library, searched as the
// loader would for a dlopen of the program: /etc/ld.so.cache and the
// default directories (musl: its path file), then the closure's directories.
func (h *hinter) located(hint DlopenHint) DlopenHint {
	if h.rep.obj == nil || strings.Contains(hint.Name, "*") || strings.Contains(hint.Name, "/") {
		return hint
	}
	a, ok := archFor(h.rep.obj)
	if !ok {
		return hint
	}
	cl := &Closure{}
	if h.c != nil {
		cl.Interpreter = h.c.Interpreter
	}
	r := &resolver{root: h.root, arch: a, closure: cl, loaded: map[string]*node{}, isMusl: h.rep.obj.musl()}
	n := &node{obj: &object{}, name: h.rep.Path, lib: -1}
	var lib *Library
	if r.isMusl {
		lib, _, _, _ = r.searchMusl(n, hint.Name)
	} else {
		lib, _, _, _ = r.searchGlibc(n, hint.Name)
	}
	if lib != nil {
		hint.Path = lib.Path
		return hint
	}
	if h.c != nil {
		for _, l := range h.c.Libraries {
			p := path.Join(path.Dir(l.Path), hint.Name)
			if _, err := h.root.Stat(p); err == nil {
				hint.Path = p
				return hint
			}
		}
	}
	return hint
}

// readDir lists the names in the directory p of the root, sorted.
func readDir(r *Root, p string) ([]string, error) {
	real, _, err := r.Resolve(p)
	if err != nil {
		return nil, err
	}
	entries, err := fs.ReadDir(r.fsys, fsName(real))
	if err != nil {
		return nil, err
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	return names, nil
}
