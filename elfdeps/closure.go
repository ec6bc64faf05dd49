package elfdeps

// Closure is every file the loader maps to start a program, in the order it
// maps them, and every name it could not find.
type Closure struct {
	Interpreter *Library  `json:"interpreter"` // nil for a static program
	Libraries   []Library `json:"libraries"`   // in load order (breadth-first, as ld.so)
	Missing     []Missing `json:"missing"`
	// GlibcMin is the highest GLIBC_x.y that the program and its non-glibc
	// libraries need: the oldest glibc that can run them.
	GlibcMin   string `json:"glibc_min,omitempty"`
	GlibcxxMin string `json:"glibcxx_min,omitempty"`
	// GlibcProvided and GlibcxxProvided are the highest versions that the
	// resolved libc.so.6 and libstdc++.so.6 define (DT_VERDEF).
	GlibcProvided   string   `json:"glibc_provided,omitempty"`
	GlibcxxProvided string   `json:"glibcxx_provided,omitempty"`
	Warnings        []string `json:"warnings"`
}

// Library is one file the loader maps.
type Library struct {
	Soname   string   `json:"soname"`   // the name asked for: the DT_NEEDED entry, or the interpreter path
	Path     string   `json:"path"`     // the path the loader opens, in the image (target) namespace
	RealPath string   `json:"realpath"` // the file behind Path's symbolic links, in the root
	Links    []Link   `json:"links,omitempty"`
	NeededBy []string `json:"needed_by"`
	Size     int64    `json:"size"`
	Via      string   `json:"via"` // interpreter, rpath, ld_library_path, runpath, ld.so.cache, default, musl-path, path
	// Source is where Path is read from in the root. It differs from Path
	// only for libraries found through the program's $ORIGIN when the program
	// lives elsewhere in the image than on the host.
	Source string `json:"source,omitempty"`
	// GlibcMin and GlibcxxMin are the highest GLIBC_x.y and GLIBCXX_x.y.z this library needs.
	GlibcMin   string `json:"glibc_min,omitempty"`
	GlibcxxMin string `json:"glibcxx_min,omitempty"`
	// Dlopen says who loads the library at run time by name (see
	// WithDlopen); empty for libraries the loader maps at start.
	Dlopen string `json:"dlopen,omitempty"`
}

// Missing is a name the loader would not find.
type Missing struct {
	Soname   string   `json:"soname"`
	NeededBy []string `json:"needed_by"`
	Searched []string `json:"searched"` // the directories looked in, in order
	Dlopen   string   `json:"dlopen,omitempty"`
}

// Size is the number of bytes of the real files of the closure.
func (c *Closure) Size() int64 {
	var n int64
	if c.Interpreter != nil {
		n += c.Interpreter.Size
	}
	for _, l := range c.Libraries {
		n += l.Size
	}
	return n
}

// glibcSonames are the libraries that glibc itself ships: they come and go
// together with libc.so.6, so their own version needs say nothing about the
// glibc a program needs.
var glibcSonames = map[string]bool{
	"libc.so.6": true, "libm.so.6": true, "libpthread.so.0": true, "libdl.so.2": true,
	"librt.so.1": true, "libutil.so.1": true, "libresolv.so.2": true, "libanl.so.1": true,
	"libnsl.so.1": true, "libBrokenLocale.so.1": true, "libmvec.so.1": true,
	"libthread_db.so.1": true, "libc_malloc_debug.so.0": true, "libmemusage.so": true,
	"libnss_files.so.2": true, "libnss_dns.so.2": true, "libnss_compat.so.2": true,
	"libnss_hesiod.so.2": true, "libpcprofile.so": true,
}

// IsGlibcSoname reports whether soname is one of glibc's own libraries.
func IsGlibcSoname(soname string) bool { return glibcSonames[soname] }
