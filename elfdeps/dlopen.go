package elfdeps

import (
	"bytes"
	"debug/elf"
	"encoding/json"
	"fmt"
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

// rodataChunk is how much of .rodata is scanned at a time.
const rodataChunk = 4 << 20

// rodataChunks calls fn with f's .rodata (up to maxRodata bytes) in pieces
// of at most rodataChunk bytes that end at a NUL, so that no C string is
// split between two; the buffer is reused between calls. Reading the whole
// section at once cost node (47 MB of .rodata) a quarter of a second in
// page faults alone.
func rodataChunks(f *elf.File, fn func([]byte)) {
	defer func() { recover() }() // debug/elf on hostile section headers
	s := f.Section(".rodata")
	if s == nil || s.Type == elf.SHT_NOBITS || s.Flags&elf.SHF_COMPRESSED != 0 || s.Size == 0 || s.Size > maxRodata {
		return
	}
	chunksAtNUL(io.NewSectionReader(s, 0, int64(s.Size)), make([]byte, min(s.Size, rodataChunk)), fn)
}

// chunksAtNUL calls fn with all of r in pieces of at most len(buf) bytes
// that end at a NUL where one is near the end of the buffer.
func chunksAtNUL(r io.Reader, buf []byte, fn func([]byte)) {
	carry := 0 // bytes of an unfinished string kept at the start of buf
	for {
		n, err := io.ReadFull(r, buf[carry:])
		end := carry + n
		if err != nil { // the last piece
			if end > 0 {
				fn(buf[:end])
			}
			return
		}
		cut := bytes.LastIndexByte(buf[:end], 0) + 1
		if cut == 0 || end-cut > len(buf)/2 { // no NUL worth cutting at: take it all
			cut = end
		}
		fn(buf[:cut])
		carry = copy(buf, buf[cut:end])
	}
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

func used(imports map[string]bool, funcs []string) []string {
	var out []string
	for _, f := range funcs {
		if imports[f] {
			out = append(out, f)
		}
	}
	return out
}

func (h *hinter) glibc() bool { return h.rep.Libc == LibcGlibc }
func (h *hinter) triplet() string {
	if h.rep.obj == nil {
		return ""
	}
	if a, ok := archFor(h.rep.obj); ok {
		return a.triplet
	}
	return ""
}

// symbolFamilies reports the families an object's imports reveal. Only the
// program's own calls count for gconv and libgcc_s: libraries such as
// libstdc++ import iconv_open and pthread_exit for uses most programs never
// reach.
func (h *hinter) symbolFamilies(name string, imports map[string]bool, isProgram bool) {
	user, host := used(imports, nssUserFuncs), used(imports, nssHostFuncs)
	if len(user)+len(host) > 0 {
		h.nss(name, user, host)
	}
	if fs := used(imports, gconvFuncs); len(fs) > 0 && h.glibc() && isProgram {
		dir := h.libDir() + "/gconv"
		hint := DlopenHint{Name: dir + "/*.so", Family: "gconv", FoundIn: []string{name},
			Reason: fmt.Sprintf("%s uses %s: glibc loads a gconv module (and reads gconv-modules) for every character set "+
				"but ASCII, UTF-8, UTF-16/32 and ISO-8859-1", name, strings.Join(fs, ", "))}
		if _, err := h.root.Stat(dir); err == nil {
			hint.Path = dir
		}
		h.add(hint)
	}
	if fs := used(imports, unwindFuncs); len(fs) > 0 && h.glibc() && isProgram && !h.have["libgcc_s.so.1"] {
		h.add(h.located(DlopenHint{Name: "libgcc_s.so.1", Family: "libgcc_s", FoundIn: []string{name},
			Reason: fmt.Sprintf("%s uses %s: when they run, glibc loads libgcc_s.so.1 to unwind the stack (without it: \"libgcc_s.so.1 must be installed for pthread_cancel to work\")",
				name, strings.Join(fs, ", "))}))
	}
	if fs := used(imports, gompTarget); len(fs) > 0 {
		h.add(DlopenHint{Name: "libgomp-plugin-*.so.1", Family: "libgomp", FoundIn: []string{name},
			Reason: fmt.Sprintf("%s uses OpenMP/OpenACC offloading (%s): libgomp loads the offload plugin for the device, and runs on the host without one",
				name, strings.Join(fs, ", "))})
	}
}

// nss reports the NSS modules that glibc before 2.34 loads for the user
// and host database functions; later versions have the files and dns
// modules built in (see RuntimeFiles for the files they read).
func (h *hinter) nss(name string, user, host []string) {
	provided := ""
	if h.c != nil {
		provided = h.c.GlibcProvided
	}
	if !h.glibc() || provided == "" || CompareVersions(provided, "2.34") >= 0 {
		return
	}
	fs := append(append([]string{}, user...), host...)
	mods := []string{"libnss_files.so.2"}
	if len(host) > 0 {
		mods = append(mods, "libnss_dns.so.2")
	}
	for _, m := range mods {
		h.add(h.located(DlopenHint{Name: m, Family: "nss", FoundIn: []string{name},
			Reason: fmt.Sprintf("%s uses %s: glibc %s loads %s for them (as /etc/nsswitch.conf says, files and dns by default)",
				name, strings.Join(fs, ", "), provided, m)}))
	}
}

var (
	pythonDynload = regexp.MustCompile(`\.cpython-3([0-9]+)-`)
	pyinstaller   = []string{"_MEIPASS", "Cannot open PyInstaller archive"}
)

// stringClues is what an object's strings say about the families it
// loads, gathered piece by piece.
type stringClues struct {
	pyinstaller bool   // PyInstaller's bootloader strings
	dynload     bool   // "lib-dynload": an embedded Python
	pyMinor     string // the minor version in a ".cpython-3N-" name
}

func (c *stringClues) see(b []byte) {
	for _, s := range pyinstaller {
		c.pyinstaller = c.pyinstaller || bytes.Contains(b, []byte(s))
	}
	c.dynload = c.dynload || bytes.Contains(b, []byte("lib-dynload"))
	if c.pyMinor == "" {
		if m := pythonDynload.FindSubmatch(b); m != nil {
			c.pyMinor = string(m[1])
		}
	}
}

// stringFamilies reports the families an object's strings reveal.
func (h *hinter) stringFamilies(name string, rodata []byte) {
	var c stringClues
	c.see(rodata)
	h.clueFamilies(name, c)
}

// clueFamilies reports the families the strings of the object name revealed.
func (h *hinter) clueFamilies(name string, c stringClues) {
	if c.pyinstaller {
		h.add(DlopenHint{Name: "libpython3.*.so and extension modules from the PyInstaller archive", Family: "pyinstaller", FoundIn: []string{name},
			Reason: fmt.Sprintf("%s is a PyInstaller bootloader: at run time it unpacks libpython and the bundled extension modules "+
				"into a temporary directory (the image needs a writable /tmp) and loads them; libraries they need from the system are not bundled", name)})
		return
	}
	if c.dynload && c.pyMinor != "" {
		ver := "3." + c.pyMinor
		dir := "/usr/lib/python" + ver + "/lib-dynload"
		hint := DlopenHint{Name: dir + "/*.so", Family: "python", FoundIn: []string{name},
			Reason: fmt.Sprintf("%s embeds Python %s: it imports the standard library from /usr/lib/python%s and its extension modules from lib-dynload at run time", name, ver, ver)}
		if _, err := h.root.Stat(dir); err == nil {
			hint.Path = dir
		}
		h.add(hint)
	}
}

// glFamilies are loaders that pick their drivers at run time.
var glFamilies = []struct {
	sonames []string
	family  string
	vendor  string // file name prefix of the vendor libraries, in the loader's directory
	icdDirs []string
	what    string
}{
	{[]string{"libGL.so.1", "libGLX.so.0", "libOpenGL.so.0"}, "gl", "libGLX_", nil, "libglvnd loads the GLX vendor library (libGLX_mesa.so.0, libGLX_nvidia.so.0) and Mesa its DRI drivers"},
	{[]string{"libEGL.so.1"}, "egl", "libEGL_", []string{"/usr/share/glvnd/egl_vendor.d"}, "libglvnd loads the EGL vendor library named by /usr/share/glvnd/egl_vendor.d/*.json"},
	{[]string{"libvulkan.so.1"}, "vulkan", "", []string{"/usr/share/vulkan/icd.d", "/etc/vulkan/icd.d"}, "the Vulkan loader loads the drivers named by the ICD files in /usr/share/vulkan/icd.d"},
}

// libraryFamilies reports the families the closure's libraries reveal.
func (h *hinter) libraryFamilies() {
	for _, l := range h.c.Libraries {
		for _, g := range glFamilies {
			if !contains(g.sonames, l.Soname) {
				continue
			}
			found := false
			if g.vendor != "" {
				dir := path.Dir(l.RealPath)
				if entries, err := readDir(h.root, dir); err == nil {
					for _, e := range entries {
						if strings.HasPrefix(e, g.vendor) && strings.Contains(e, ".so") && !h.have[e] {
							h.add(DlopenHint{Name: e, Family: g.family, FoundIn: []string{l.Path}, Path: path.Join(dir, e), Reason: g.what})
							found = true
						}
					}
				}
			}
			for _, d := range g.icdDirs {
				for _, lib := range h.icdLibraries(d) {
					h.add(h.located(DlopenHint{Name: lib, Family: g.family, FoundIn: []string{l.Path}, Reason: g.what + " (" + d + ")"}))
					found = true
				}
			}
			if !found {
				name := g.vendor + "*.so.0"
				if g.vendor == "" {
					name = "Vulkan ICD drivers"
				}
				h.add(DlopenHint{Name: name, Family: g.family, FoundIn: []string{l.Path}, Reason: g.what + "; none are in " + h.root.String()})
			}
		}
	}
}

// icdLibraries reads the library paths of the JSON manifests in dir
// (Vulkan ICDs: {"ICD": {"library_path": ...}}, EGL vendors likewise).
func (h *hinter) icdLibraries(dir string) []string {
	entries, err := readDir(h.root, dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if !strings.HasSuffix(e, ".json") {
			continue
		}
		b, err := h.root.ReadFile(path.Join(dir, e))
		if err != nil {
			continue
		}
		var m struct {
			ICD struct {
				LibraryPath string `json:"library_path"`
			} `json:"ICD"`
		}
		if json.Unmarshal(b, &m) == nil && m.ICD.LibraryPath != "" && !h.have[path.Base(m.ICD.LibraryPath)] {
			out = append(out, m.ICD.LibraryPath)
		}
	}
	return out
}

var (
	soEnd  = regexp.MustCompile(`\.so(?:\.[0-9]+)*$`)
	verbRE = regexp.MustCompile(`%[-0-9.]*[sdiuxl]+`)
)

// maxHintName bounds a name or path taken from strings: plugin paths are
// short, and a longer "path" is strings laid end to end.
const maxHintName = 255

// names reports the library names and paths in an object's strings: a
// whole C string (NUL before and after) that is a file name starting with
// lib and ending in .so[.N...], or an absolute path that ends so or has a
// plugins directory. Words inside sentences and Go's strings, which are laid
// end to end without NULs, are not names given to dlopen.
func (h *hinter) names(obj string, rodata []byte) {
	self := path.Base(obj)
	words(rodata, func(w string, whole bool) {
		if !whole || len(w) > maxHintName {
			return
		}
		w, ok := pattern(w)
		if !ok || !soEnd.MatchString(w) && !strings.HasPrefix(w, "/") {
			return
		}
		switch {
		case strings.HasPrefix(w, "/"):
			plugin := strings.Contains(w, "/plugins/") || strings.HasSuffix(w, "/plugins")
			if strings.Count(w, "/") < 2 || strings.Contains(w, "//") || !soEnd.MatchString(w) && !plugin || h.have[w] || h.have[path.Base(w)] {
				return
			}
			hint := DlopenHint{Name: w, FoundIn: []string{obj}, Reason: fmt.Sprintf("a path in the strings of %s, which calls dlopen", obj)}
			if _, err := h.root.Stat(w); err == nil && !strings.Contains(w, "*") {
				hint.Path = w
			}
			h.add(hint)
		case strings.HasPrefix(w, "lib") && !strings.Contains(w, "/") && len(w) > len("lib.so"):
			if h.have[w] || w == self || ignoredName(w) {
				return
			}
			h.add(h.located(DlopenHint{Name: w, FoundIn: []string{obj},
				Reason: fmt.Sprintf("named in the strings of %s, which calls dlopen", obj)}))
		}
	})
}

// words calls fn with each run of name and path characters in b that holds
// ".so" or "/plugins", once each, and whether it is a whole C string: at
// the start of b or after a NUL, and at the end of b or before one.
func words(b []byte, fn func(w string, whole bool)) {
	seen := -1 // the end of the last word
	for _, needle := range [][]byte{[]byte(".so"), []byte("/plugins")} {
		seen = -1
		for i := 0; i < len(b); {
			j := bytes.Index(b[i:], needle)
			if j < 0 {
				break
			}
			at := i + j
			start, end := at, at+len(needle)
			for start > 0 && isWordByte(b[start-1]) {
				start--
			}
			for end < len(b) && isWordByte(b[end]) {
				end++
			}
			if start >= seen {
				whole := (start == 0 || b[start-1] == 0) && (end == len(b) || b[end] == 0)
				fn(string(b[start:end]), whole)
				seen = end
			}
			i = end
		}
	}
}

// isWordByte is a byte of a file name or path, or of a printf verb in one.
func isWordByte(c byte) bool {
	return isNameByte(c) || c == '.' || c == '/' || c == '%' || c == '@'
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '+' || c == '-'
}

// pattern turns the one %s of a printf pattern into "*"; ok is false for
// other patterns: numbers (%d) make file names (node's libv8-%d.%d.%d%s.so),
// not plugins, and several verbs or a short fixed part are too vague to use.
func pattern(s string) (string, bool) {
	if !strings.Contains(s, "%") {
		return s, true
	}
	if verbs := verbRE.FindAllString(s, -1); len(verbs) != 1 || verbs[0] != "%s" {
		return "", false
	}
	p := strings.Replace(s, "%s", "*", 1)
	if strings.Contains(p, "%") {
		return "", false
	}
	fixed := strings.NewReplacer("*", "", "lib", "", ".so", "", "/", "").Replace(p)
	return p, len(fixed) >= 3
}

// ignoredName are names in strings that are not libraries to bundle: the
// loader, the kernel's vDSO.
func ignoredName(n string) bool {
	return strings.HasPrefix(n, "ld-linux") || strings.HasPrefix(n, "ld-musl") || strings.HasPrefix(n, "linux-vdso") ||
		strings.HasPrefix(n, "linux-gate") || n == "libc.so" || n == "lib.so"
}

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
