package elfdeps

import (
	"fmt"
	"path"
	"sort"
	"strings"
)

// nss: lookups of hosts, users, groups, services and protocols.
func (a *needsAnalysis) nss() *Need {
	var names []string
	for n := range nssDatabases {
		names = append(names, n)
	}
	sort.Strings(names)
	found, why := a.imported(names)
	dbs := map[string]bool{}
	for _, f := range found {
		dbs[nssDatabases[f]] = true
	}
	var whys []string
	if why != "" {
		whys = append(whys, why)
	}
	if a.goUses(GoUsesNet) {
		dbs["hosts"] = true
		whys = append(whys, "Go package net (its resolver)")
	}
	if a.goUses(GoUsesUser) {
		dbs["passwd"], dbs["group"] = true, true
		whys = append(whys, "Go package os/user")
	}
	if len(dbs) == 0 {
		return nil
	}
	n := &Need{Kind: NeedNSS, Default: true, Why: strings.Join(whys, "; ")}
	for _, db := range []string{"hosts", "passwd", "group", "shadow", "services", "protocols"} {
		if dbs[db] {
			n.Databases = append(n.Databases, db)
		}
	}
	musl := a.rep.Libc == LibcMusl
	if !musl && a.rep.Libc != LibcNone || a.rep.Go != nil && dbs["hosts"] {
		n.Files = append(n.Files, "/etc/nsswitch.conf")
	}
	if dbs["hosts"] {
		n.Files = append(n.Files, "/etc/hosts")
		if a.rep.Go == nil || a.rep.Go.CGO {
			n.Files = append(n.Files, "/etc/services") // getaddrinfo resolves service names ("https") there
		}
		n.Messages = append(n.Messages, "Temporary failure in name resolution", "Name or service not known", "no such host")
	}
	if dbs["passwd"] || dbs["group"] {
		n.Files = append(n.Files, "/etc/passwd", "/etc/group")
	}
	if dbs["services"] && !contains(n.Files, "/etc/services") {
		n.Files = append(n.Files, "/etc/services")
	}
	if dbs["protocols"] {
		n.Files = append(n.Files, "/etc/protocols")
	}
	if a.glibcDynamic() {
		n.Libraries = a.nssModules(dbs["hosts"])
	}
	var sym []string
	if dbs["hosts"] {
		sym = append(sym, "no host name resolves, not even \"localhost\" (no /etc/hosts)")
	}
	if dbs["passwd"] || dbs["group"] || dbs["shadow"] {
		sym = append(sym, "no user or group is found (no /etc/passwd, /etc/group)")
	}
	if dbs["services"] || dbs["protocols"] {
		sym = append(sym, "no service or protocol name is known (no /etc/services, /etc/protocols)")
	}
	n.Symptom = strings.Join(sym, "; ")
	return n
}

// nssModules returns the NSS modules glibc must load for files and dns:
// none when libc.so.6 has them built in (2.34 and later).
func (a *needsAnalysis) nssModules(hosts bool) []string {
	var have map[string]bool
	err := a.withObject(a.libc, func(o *object) error {
		var err error
		have, err = o.defines(nssFilesBuiltin, nssDNSBuiltin)
		return err
	})
	if err != nil {
		a.warnings = append(a.warnings, fmt.Sprintf("reading the symbols of %s: %v; assuming its NSS modules are built in", a.libc.path, err))
		return nil
	}
	var mods []string
	if !have[nssFilesBuiltin] {
		mods = append(mods, "libnss_files.so.2")
	}
	if hosts && !have[nssDNSBuiltin] {
		mods = append(mods, "libnss_dns.so.2")
	}
	return mods
}

// unwind: glibc dlopens libgcc_s.so.1 to unwind threads.
func (a *needsAnalysis) unwind() *Need {
	if !a.glibcDynamic() {
		return nil // static glibc links the unwinder in; musl does not unwind
	}
	found, why := a.imported(unwindFunctions)
	if len(found) == 0 {
		return nil
	}
	if _, ok := a.sonames["libgcc_s.so.1"]; ok {
		return nil // already in the closure
	}
	return &Need{Kind: NeedUnwind, Default: true, Why: why, Libraries: []string{"libgcc_s.so.1"},
		Symptom:  "pthread_cancel and pthread_exit abort the program (SIGABRT; as PID 1 in a container, SIGSEGV); backtrace returns no frames",
		Messages: []string{"libgcc_s.so.1 must be installed for"}}
}

// gconv: iconv_open loads modules from glibc's gconv directory.
func (a *needsAnalysis) gconv() *Need {
	if a.rep.Libc != LibcGlibc {
		return nil // musl's iconv is built in
	}
	found, why := a.imported(iconvFunctions)
	if len(found) == 0 {
		return nil
	}
	if a.static() {
		return &Need{Kind: NeedGconv, Why: why,
			Symptom: "a static glibc program's iconv_open loads gconv modules, which need the shared glibc of the same version: link the program dynamically"}
	}
	dir := a.gconvDir()
	return &Need{Kind: NeedGconv, Default: true, Why: why, Files: []string{dir},
		Symptom:  "iconv_open fails with EINVAL for every charset but ASCII, UTF-8, UCS-2 and UCS-4",
		Messages: []string{"Invalid argument"}}
}

// gconvDir returns the gconv directory compiled into libc.so.6, or the
// gconv directory beside it.
func (a *needsAnalysis) gconvDir() string {
	fallback := path.Join(path.Dir(a.libc.path), "gconv")
	b, err := a.fileBytes(a.libc)
	if err != nil {
		a.warnings = append(a.warnings, fmt.Sprintf("reading %s: %v", a.libc.path, err))
		return fallback
	}
	for _, s := range cStringsWith(b, []byte("/gconv/gconv-modules.cache\x00")) {
		if path.IsAbs(s) {
			return path.Dir(s)
		}
	}
	return fallback
}

// caCerts: TLS verifies servers against the CA bundle.
func (a *needsAnalysis) caCerts() *Need {
	var users []string
	if a.goUses(GoUsesTLS) {
		users = append(users, "Go package crypto/tls")
	}
	var libs []string
	for so := range a.sonames {
		for _, t := range tlsLibraries {
			if strings.HasPrefix(so, t) {
				libs = append(libs, so)
			}
		}
	}
	sort.Strings(libs)
	if len(libs) > 0 {
		users = append(users, "links "+strings.Join(libs, ", "))
	}
	if len(users) == 0 {
		return nil
	}
	n := &Need{Kind: NeedCACerts, Default: true, Why: strings.Join(users, "; "), Files: []string{CABundlePath},
		Symptom:  "every TLS handshake fails to verify the server's certificate",
		Messages: []string{"certificate signed by unknown authority", "certificate verify failed", "unable to get local issuer certificate", "issuer is not known"}}
	links := map[string]string{}
	for _, so := range libs {
		b, err := a.fileBytes(a.sonames[so])
		if err != nil {
			a.warnings = append(a.warnings, fmt.Sprintf("reading %s: %v", a.sonames[so].name, err))
			continue
		}
		// Compiled-in bundle paths (GnuTLS's trust store, curl's CA bundle).
		for _, s := range cStringsWith(b, []byte("/etc/")) {
			if (strings.HasSuffix(s, ".crt") || strings.HasSuffix(s, ".pem")) && path.IsAbs(s) && !strings.ContainsAny(s, " %\t") && s != CABundlePath {
				links[path.Clean(s)] = CABundlePath
			}
		}
	}
	// OpenSSL reads OPENSSLDIR/cert.pem and OPENSSLDIR/certs; its
	// libcrypto says where that is ("OPENSSLDIR: \"/usr/lib/ssl\"").
	for so, l := range a.sonames {
		if !strings.HasPrefix(so, "libcrypto.so") {
			continue
		}
		b, err := a.fileBytes(l)
		if err != nil {
			continue
		}
		for _, s := range cStringsWith(b, []byte(`OPENSSLDIR: "`)) {
			dir, ok := strings.CutPrefix(s, `OPENSSLDIR: "`)
			dir = strings.TrimSuffix(dir, `"`)
			if ok && path.IsAbs(dir) && path.Clean(dir) != "/etc/ssl" {
				links[path.Join(dir, "cert.pem")] = CABundlePath
				links[path.Join(dir, "certs")] = path.Dir(CABundlePath)
			}
		}
	}
	for p, t := range links {
		n.Links = append(n.Links, Link{Path: p, Target: t})
	}
	sort.Slice(n.Links, func(i, j int) bool { return n.Links[i].Path < n.Links[j].Path })
	return n
}

// tzdata: conversions to local time read the zone TZ names.
func (a *needsAnalysis) tzdata() *Need {
	tz, tzSet := lookupEnv(a.opts.env, "TZ")
	zone := tzSet && tzNamesZone(tz)
	if a.rep.Go != nil {
		if a.goUses(GoUsesTZData) {
			return nil
		}
		switch {
		case a.goUses(GoUsesLoadLocation):
			return &Need{Kind: NeedTZData, Default: true, Why: "Go time.LoadLocation, without time/tzdata linked in", Files: []string{ZoneinfoDir},
				Symptom: "time.LoadLocation fails for every zone but UTC and Local", Messages: []string{"unknown time zone"}}
		case zone:
			return &Need{Kind: NeedTZData, Default: true, Why: "TZ=" + tz + " in the image's environment", Files: []string{ZoneinfoDir},
				Symptom: "local time is silently UTC instead of " + tz}
		}
	}
	found, why := a.imported(localTimeFunctions)
	if len(found) == 0 {
		return nil
	}
	n := &Need{Kind: NeedTZData, Why: why, Files: []string{ZoneinfoDir}}
	if zone {
		n.Default, n.Why = true, why+"; TZ="+tz+" in the image's environment"
		n.Symptom = "local time is silently UTC instead of " + tz
		return n
	}
	n.Symptom = "only if TZ names a zone at run time (docker run -e TZ=Europe/Paris): local time would silently be UTC; adding the zone database (0.7 MB) fixes it"
	return n
}

// tzNamesZone reports whether a TZ value names a zone file rather than
// being UTC or a POSIX rule, "std offset[dst[offset][,rule]]" such as
// "EST5EDT,M3.2.0,M11.1.0" or "<+03>-3", which libc parses without files.
func tzNamesZone(tz string) bool {
	if strings.HasPrefix(tz, ":") {
		tz = tz[1:]
		return tz != "" && tz != "UTC" && tz != "Etc/UTC"
	}
	switch tz {
	case "", "UTC", "GMT", "Etc/UTC", "Etc/GMT", "Universal", "Zulu":
		return false
	}
	// The std name: three or more letters, or anything quoted in <>.
	i := 0
	if strings.HasPrefix(tz, "<") {
		i = strings.IndexByte(tz, '>') + 1
		if i == 0 {
			return true
		}
	} else {
		for i < len(tz) && (tz[i] >= 'A' && tz[i] <= 'Z' || tz[i] >= 'a' && tz[i] <= 'z') {
			i++
		}
		if i < 3 {
			return true
		}
	}
	// A POSIX rule goes on with the offset: a sign or a digit.
	rest := tz[i:]
	return !(rest != "" && (rest[0] == '+' || rest[0] == '-' || rest[0] >= '0' && rest[0] <= '9'))
}

// dlopen: libraries loaded by name are not knowable without running.
func (a *needsAnalysis) dlopen() *Need {
	if a.static() {
		return nil // static glibc links dlopen in for its own NSS and iconv
	}
	found, why := a.imported([]string{"dlopen", "dlmopen"})
	if len(found) == 0 {
		return nil
	}
	return &Need{Kind: NeedDlopen, Why: why,
		Symptom: "libraries it loads with dlopen are not in DT_NEEDED: if it loads any, trace a run of it to find them, or name them as libraries to include"}
}
