package elfdeps

import (
	"bytes"
	"debug/elf"
	"fmt"
	"io"
	"path"
	"strings"
)

// NeedKind is a kind of run-time need.
type NeedKind string

// The run-time needs scratchpack knows. See glibc.go for the evidence.
const (
	NeedNSS     NeedKind = "nss"      // name-service lookups: /etc/nsswitch.conf, /etc/hosts, /etc/services, NSS modules
	NeedUnwind  NeedKind = "unwind"   // libgcc_s.so.1, which glibc dlopens to unwind a cancelled or exiting thread
	NeedGconv   NeedKind = "gconv"    // glibc's iconv modules
	NeedCACerts NeedKind = "ca-certs" // the CA certificate bundle TLS verifies servers with
	NeedTZData  NeedKind = "tzdata"   // the time-zone database
	NeedDlopen  NeedKind = "dlopen"   // libraries loaded by name at run time: not knowable, only reported
	NeedStdlib  NeedKind = "stdlib"   // an interpreter's standard library (Python, Perl, Tcl, Ruby): only reported
)

// Need is something a program needs at run time that no DT_NEEDED entry
// says: a library its C library loads with dlopen, or files it reads.
type Need struct {
	Kind NeedKind `json:"kind"`
	Why  string   `json:"why"` // the symbols or packages that show it, and who uses them
	// Default says pack adds it unless told not to; needs that depend on
	// how the program is run (a TZ set only at run time) are reported only.
	Default   bool     `json:"default"`
	Libraries []string `json:"libraries,omitempty"` // sonames loaded with dlopen
	Files     []string `json:"files,omitempty"`     // files and directories read, at their paths in the image
	Links     []Link   `json:"links,omitempty"`     // links that lead other readers to Files (OpenSSL's OPENSSLDIR)
	Databases []string `json:"databases,omitempty"` // the NSS databases looked up
	Symptom   string   `json:"symptom"`             // what goes wrong without it
	Messages  []string `json:"messages,omitempty"`  // error texts that show it, as the program may print them
}

// The paths scratchpack puts data files at.
const (
	CABundlePath = "/etc/ssl/certs/ca-certificates.crt" // Debian's bundle; Go, GnuTLS and curl look here first
	ZoneinfoDir  = "/usr/share/zoneinfo"                // glibc, musl and Go look here
)

// NeedsOption configures RuntimeNeeds.
type NeedsOption func(*needsOptions)

type needsOptions struct {
	env      []string
	embedded []*Report
	program  io.ReaderAt
	// programOpen says that the program's own object (rep.obj) can still
	// read its file: Analyze keeps it open, so it is not parsed again.
	programOpen bool
}

// WithEnv gives the environment the program will run with (the image's):
// a TZ naming a zone makes the zone database a need.
func WithEnv(env []string) NeedsOption {
	return func(o *needsOptions) { o.env = append(o.env, env...) }
}

// WithEmbedded adds objects the program loads from elsewhere than its
// closure, such as the shared libraries inside a PyInstaller archive: their
// imports and libraries count as the program's.
func WithEmbedded(reps ...*Report) NeedsOption {
	return func(o *needsOptions) { o.embedded = append(o.embedded, reps...) }
}

// RuntimeNeeds works out what the program of rep, whose closure c was
// resolved in root, needs at run time beyond its closure: from the symbols
// the program and its libraries import, the libraries they link, what a Go
// program has linked in, and the libc in use. c may be nil for a static
// program. What cannot be read (a library's symbols, libc's gconv path)
// is left out with a warning in the second result.
func RuntimeNeeds(root *Root, rep *Report, c *Closure, opts ...NeedsOption) ([]Need, []string) {
	var o needsOptions
	for _, opt := range opts {
		opt(&o)
	}
	a := &needsAnalysis{root: root, rep: rep, c: c, opts: o, users: map[string][]string{}, sonames: map[string]*libFile{}}
	a.collect()
	var needs []Need
	for _, f := range []func() *Need{a.nss, a.unwind, a.gconv, a.caCerts, a.tzdata, a.dlopen, a.stdlib} {
		if n := f(); n != nil {
			needs = append(needs, *n)
		}
	}
	return needs, a.warnings
}

// libFile is one object of the closure, or one embedded object.
type libFile struct {
	name string  // for messages: a soname or a path
	rep  *Report // embedded objects only
	path string  // real path in the root, for closure objects
}

type needsAnalysis struct {
	root     *Root
	rep      *Report
	c        *Closure
	opts     needsOptions
	users    map[string][]string // symbol → the objects that import it
	sonames  map[string]*libFile // every library of the closure and the embedded ones, by soname
	libc     *libFile
	warnings []string
}

func (a *needsAnalysis) static() bool {
	return a.rep.Kind == KindStatic || a.rep.Kind == KindStaticPIE
}

// collect gathers the imports of the program, of every library of the
// closure that glibc does not ship, and of the embedded objects. A library
// that cannot be read is a warning.
func (a *needsAnalysis) collect() {
	name := a.rep.Path
	if name == "" {
		name = "the program"
	}
	a.use(name, "", a.rep.Imports)
	if a.c != nil {
		for i := range a.c.Libraries {
			l := &a.c.Libraries[i]
			lf := &libFile{name: l.Soname, path: l.RealPath}
			a.sonames[l.Soname] = lf
			if l.Soname == "libc.so.6" {
				a.libc = lf
			}
			if IsGlibcSoname(l.Soname) {
				continue // glibc's own use of glibc is not the program's
			}
			imports, err := a.libraryImports(l.RealPath)
			if err != nil {
				a.warnings = append(a.warnings, fmt.Sprintf("reading the symbols of %s: %v", l.RealPath, err))
				continue
			}
			a.use(l.Soname, l.Soname, imports)
		}
	}
	for _, e := range a.opts.embedded {
		soname := e.Soname
		if soname == "" {
			soname = path.Base(e.Path)
		}
		a.sonames[soname] = &libFile{name: e.Path, rep: e}
		a.use(e.Path, soname, e.Imports)
	}
}

func (a *needsAnalysis) use(who, soname string, imports []string) {
	for _, s := range imports {
		if !ignoredImports[soname][s] {
			a.users[s] = append(a.users[s], who)
		}
	}
}

func (a *needsAnalysis) libraryImports(p string) ([]string, error) {
	var out []string
	err := a.withObject(&libFile{path: p}, func(o *object) error {
		var err error
		out, err = o.imports()
		return err
	})
	return out, err
}

// withObject opens a closure or embedded object and calls fn with it
// while its file is open.
func (a *needsAnalysis) withObject(l *libFile, fn func(o *object) error) error {
	if l.rep != nil {
		return fn(l.rep.obj)
	}
	if a.root.objects != nil { // parsed once for the whole analysis, its file kept open
		o, _, err := a.root.object(l.path)
		if err != nil {
			return err
		}
		return fn(o)
	}
	f, _, err := a.root.Open(l.path)
	if err != nil {
		return err
	}
	defer f.Close()
	o, err := readObjectParts(f, false) // versions are not needed here
	if err != nil {
		return err
	}
	return fn(o)
}

// fileBytes reads the strings of a closure or embedded file: its .rodata
// section, where compiled-in paths live (libcrypto's is 0.4 MB of 4.5 MB),
// or without one the whole file, up to maxScan bytes.
func (a *needsAnalysis) fileBytes(l *libFile) ([]byte, error) {
	var out []byte
	err := a.withObject(l, func(o *object) error {
		if s := o.f.Section(".rodata"); s != nil && s.Type != elf.SHT_NOBITS && s.Flags&elf.SHF_COMPRESSED == 0 {
			var err error
			out, err = readAtMost(io.NewSectionReader(s, 0, int64(min(s.Size, maxScan))), min(s.Size, maxScan))
			return err
		}
		if l.rep != nil {
			out = l.rep.data
			return nil
		}
		f, fi, err := a.root.Open(l.path)
		if err != nil {
			return err
		}
		defer f.Close()
		out = make([]byte, min(fi.Size(), maxScan))
		n, err := f.ReadAt(out, 0)
		if err == io.EOF {
			err = nil
		}
		out = out[:n]
		return err
	})
	return out, err
}

const maxScan = 256 << 20

// imported returns the functions of names that something imports, and a
// description of who: "getaddrinfo, getpwnam (the program); getaddrinfo (libcurl.so.4)".
func (a *needsAnalysis) imported(names []string) ([]string, string) {
	var found, order []string
	byWho := map[string][]string{}
	for _, n := range names {
		who := dedupe(a.users[n])
		if len(who) == 0 {
			continue
		}
		found = append(found, n)
		for _, w := range who {
			if byWho[w] == nil {
				order = append(order, w)
			}
			byWho[w] = append(byWho[w], n)
		}
	}
	var parts []string
	for _, w := range order {
		parts = append(parts, strings.Join(byWho[w], ", ")+" ("+w+")")
	}
	return found, strings.Join(parts, "; ")
}

func (a *needsAnalysis) goUses(use string) bool {
	if a.rep.Go == nil {
		return false
	}
	for _, u := range a.rep.Go.Uses {
		if u == use {
			return true
		}
	}
	return false
}

func (a *needsAnalysis) glibcDynamic() bool { return a.libc != nil && !a.static() }

// tlsLibraries are the sonames (up to the first dot after ".so") of
// libraries that verify servers against the system's CA certificates.
var tlsLibraries = []string{"libssl.so", "libgnutls.so", "libcurl.so", "libcurl-gnutls.so", "libmbedtls.so", "libwolfssl.so"}

func lookupEnv(env []string, key string) (string, bool) {
	val, ok := "", false
	for _, kv := range env {
		if k, v, found := strings.Cut(kv, "="); found && k == key {
			val, ok = v, true // the last one wins, as in an image config
		}
	}
	return val, ok
}

// cStringsWith returns every NUL-terminated string in b that contains needle.
func cStringsWith(b, needle []byte) []string {
	var out []string
	for off := 0; ; {
		i := bytes.Index(b[off:], needle)
		if i < 0 {
			return out
		}
		i += off
		start := bytes.LastIndexByte(b[max(0, i-maxStringSize):i], 0) + 1 + max(0, i-maxStringSize)
		end := bytes.IndexByte(b[i:], 0)
		if end < 0 {
			end = len(b) - i
		}
		out = append(out, string(b[start:i+end]))
		off = i + max(end, 1)
	}
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

func contains(s []string, x string) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}
