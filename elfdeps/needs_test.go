package elfdeps

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/scratchpack/scratchpack/internal/testenv"

	"github.com/google/go-cmp/cmp"
)

// needSummary is the part of a need the fixture tests pin.
type needSummary struct {
	Kind      NeedKind
	Default   bool
	Libraries []string
	Files     []string
	Databases []string
}

func summarize(ns []Need) []needSummary {
	var out []needSummary
	for _, n := range ns {
		out = append(out, needSummary{n.Kind, n.Default, n.Libraries, n.Files, n.Databases})
	}
	return out
}

// TestRuntimeNeedsFixtures works out the run-time needs of the fixtures
// resolved on this machine (Debian 12, glibc 2.36: NSS files and dns are
// built into libc.so.6, so no NSS module is needed).
func TestRuntimeNeedsFixtures(t *testing.T) {
	requireFixtures(t)
	if _, err := os.Stat("/usr/lib/x86_64-linux-gnu/libc.so.6"); err != nil {
		t.Skip("SKIP: needs a Debian amd64 host")
	}
	gconv := needSummary{NeedGconv, true, nil, []string{"/usr/lib/x86_64-linux-gnu/gconv"}, nil}
	for _, tc := range []struct {
		name string
		env  []string
		want []needSummary
	}{
		{"nss", nil, []needSummary{{NeedNSS, true, nil,
			[]string{"/etc/nsswitch.conf", "/etc/hosts", "/etc/services", "/etc/passwd", "/etc/group"}, []string{"hosts", "passwd", "group"}}}},
		{"nss-static", nil, []needSummary{{NeedNSS, true, nil,
			[]string{"/etc/nsswitch.conf", "/etc/hosts", "/etc/services", "/etc/passwd", "/etc/group"}, []string{"hosts", "passwd", "group", "services"}}}},
		{"iconv", nil, []needSummary{gconv}},
		{"cancel", nil, []needSummary{{NeedUnwind, true, []string{"libgcc_s.so.1"}, nil, nil}}},
		// libstdc++ imports iconv_open, which does not count; libgcc_s is already linked.
		{"hello-cc", nil, nil},
		{"hello-c", nil, nil},
		{"hello-go", nil, nil},
		{"gotls", nil, []needSummary{
			{NeedNSS, true, nil, []string{"/etc/nsswitch.conf", "/etc/hosts"}, []string{"hosts"}},
			{NeedCACerts, true, nil, []string{CABundlePath}, nil}}},
		{"gozone", nil, []needSummary{{NeedTZData, true, nil, []string{ZoneinfoDir}, nil}}},
		// A Go program with TZ naming a zone needs the zones even without LoadLocation.
		{"hello-go", []string{"TZ=Europe/Paris"}, []needSummary{{NeedTZData, true, nil, []string{ZoneinfoDir}, nil}}},
		{"hello-go", []string{"TZ=UTC0"}, nil},
	} {
		t.Run(strings.TrimSpace(tc.name+" "+strings.Join(tc.env, " ")), func(t *testing.T) {
			rep, err := InspectFile(testenv.Fixture(t, tc.name))
			if err != nil {
				t.Fatal(err)
			}
			c, err := Resolve(DirRoot("/"), rep)
			if err != nil {
				t.Fatal(err)
			}
			needs, warns := RuntimeNeeds(DirRoot("/"), rep, c, WithEnv(tc.env))
			if len(warns) > 0 {
				t.Fatalf("RuntimeNeeds warned: %v", warns)
			}
			if diff := cmp.Diff(tc.want, summarize(needs)); diff != "" {
				t.Errorf("needs (-want +got):\n%s", diff)
			}
			for _, n := range needs {
				if n.Why == "" || n.Symptom == "" {
					t.Errorf("%s: a need without why or symptom: %+v", tc.name, n)
				}
			}
		})
	}
}

// TestRuntimeNeedsCurl: a program whose libraries bring the needs (curl's
// libcurl, libssl, libidn2, libldap) gets them, and the CA bundle is also
// linked where OpenSSL (OPENSSLDIR, read from libcrypto) looks.
func TestRuntimeNeedsCurl(t *testing.T) {
	rep, err := InspectFile("/usr/bin/curl")
	if err != nil {
		t.Skipf("SKIP: no curl: %v", err)
	}
	c, err := Resolve(DirRoot("/"), rep)
	if err != nil {
		t.Fatal(err)
	}
	needs, _ := RuntimeNeeds(DirRoot("/"), rep, c)
	kinds := map[NeedKind]Need{}
	for _, n := range needs {
		kinds[n.Kind] = n
	}
	for _, k := range []NeedKind{NeedNSS, NeedCACerts, NeedGconv, NeedDlopen} {
		if _, ok := kinds[k]; !ok {
			t.Errorf("curl: no %s need in %+v", k, summarize(needs))
		}
	}
	ca := kinds[NeedCACerts]
	want := []Link{{Path: "/usr/lib/ssl/cert.pem", Target: CABundlePath}, {Path: "/usr/lib/ssl/certs", Target: "/etc/ssl/certs"}}
	if diff := cmp.Diff(want, ca.Links); diff != "" {
		t.Errorf("OpenSSL links (-want +got):\n%s", diff)
	}
	if tz, ok := kinds[NeedTZData]; !ok || tz.Default {
		t.Errorf("curl uses localtime: a tzdata need, not by default without TZ; got %+v", tz)
	}
}

// TestNSSModulesForOldGlibc: a libc.so.6 that does not define the
// _nss_files_ and _nss_dns_ functions (glibc before 2.34) makes glibc
// load libnss_files.so.2 and libnss_dns.so.2, which become needs.
func TestNSSModulesForOldGlibc(t *testing.T) {
	requireFixtures(t)
	prog, err := os.ReadFile(testenv.Fixture(t, "nss"))
	if err != nil {
		t.Fatal(err)
	}
	libc, err := os.ReadFile(testenv.Fixture(t, "rpath/lib/libgreet.so.1.0.0")) // any shared object without them
	if err != nil {
		t.Fatal(err)
	}
	root := NewRoot(fstest.MapFS{
		"app/nss":                    {Data: prog, Mode: 0o755},
		"lib/libc.so.6":              {Data: libc},
		"lib64/ld-linux-x86-64.so.2": {Data: libc},
	}, "old glibc")
	rep, err := Inspect(bytes.NewReader(prog))
	if err != nil {
		t.Fatal(err)
	}
	c := &Closure{Libraries: []Library{{Soname: "libc.so.6", Path: "/lib/libc.so.6", RealPath: "/lib/libc.so.6"}}}
	needs, _ := RuntimeNeeds(root, rep, c)
	if len(needs) != 1 || !cmp.Equal(needs[0].Libraries, []string{"libnss_files.so.2", "libnss_dns.so.2"}) {
		t.Errorf("needs = %+v, want the NSS modules", summarize(needs))
	}
}

func TestTZNamesZone(t *testing.T) {
	for tz, want := range map[string]bool{
		"Europe/Paris": true, ":Europe/Paris": true, "America/New_York": true, "Japan": true, "/usr/share/zoneinfo/CET": true,
		"": false, "UTC": false, "UTC0": false, ":UTC": false, "EST5EDT,M3.2.0,M11.1.0": false, "CET-1CEST,M3.5.0,M10.5.0/3": false,
		"Etc/GMT+5": true, "<+03>-3": false, "CET": true, "JST-9": false, "EST": true,
	} {
		if got := tzNamesZone(tz); got != want {
			t.Errorf("tzNamesZone(%q) = %v, want %v", tz, got, want)
		}
	}
}

func TestCStringsWith(t *testing.T) {
	b := []byte("\x00junk\x00OPENSSLDIR: \"/usr/lib/ssl\"\x00/etc/ssl/certs/ca-certificates.crt\x00end")
	if got := cStringsWith(b, []byte(`OPENSSLDIR: "`)); !cmp.Equal(got, []string{`OPENSSLDIR: "/usr/lib/ssl"`}) {
		t.Errorf("OPENSSLDIR: got %q", got)
	}
	if got := cStringsWith(b, []byte("/etc/")); !cmp.Equal(got, []string{"/etc/ssl/certs/ca-certificates.crt"}) {
		t.Errorf("/etc/: got %q", got)
	}
	if got := cStringsWith(b, []byte("end")); !cmp.Equal(got, []string{"end"}) {
		t.Errorf("a string at the end without NUL: got %q", got)
	}
}

// TestResolveDlopen resolves libraries loaded by name as the loader would
// find them for the program, each with its closure, and reports the
// missing ones apart from the loader's.
func TestResolveDlopen(t *testing.T) {
	requireFixtures(t)
	rep, err := InspectFile(testenv.Fixture(t, "cancel"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := Resolve(DirRoot("/"), rep, WithDlopen("unwind", "libgcc_s.so.1", "libnot-there.so.9"), WithDlopen("again", "libc.so.6"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range c.Libraries {
		got = append(got, l.Soname+"|"+l.Dlopen)
	}
	if diff := cmp.Diff([]string{"libc.so.6|", "libgcc_s.so.1|unwind"}, got); diff != "" {
		t.Errorf("libraries (-want +got):\n%s", diff)
	}
	if len(c.Missing) != 1 || c.Missing[0].Soname != "libnot-there.so.9" || c.Missing[0].Dlopen != "unwind" {
		t.Errorf("missing = %+v", c.Missing)
	}
	if ps := Diagnose(rep, c, "/", ""); len(ps) != 1 || ps[0].Code != ProblemMissingLib {
		t.Errorf("Diagnose = %+v", ps)
	}
}

// TestRootLibc tells a glibc root from a musl one and explains a mismatch.
func TestRootLibc(t *testing.T) {
	requireFixtures(t)
	glibcProg, err := InspectFile(testenv.Fixture(t, "hello-c"))
	if err != nil {
		t.Fatal(err)
	}
	muslProg, err := InspectFile(testenv.Fixture(t, "hello-musl"))
	if err != nil {
		t.Fatal(err)
	}
	file := &fstest.MapFile{Data: []byte("x")}
	musl := NewRoot(fstest.MapFS{"lib/ld-musl-x86_64.so.1": file}, "alpine")
	glibc := NewRoot(fstest.MapFS{"lib64/ld-linux-x86-64.so.2": file}, "debian")
	empty := NewRoot(fstest.MapFS{}, "scratch")
	for _, tc := range []struct {
		name     string
		rep      *Report
		root     *Root
		libc     Libc
		mismatch bool
	}{
		{"glibc on musl", glibcProg, musl, LibcMusl, true},
		{"musl on glibc", muslProg, glibc, LibcGlibc, true},
		{"glibc on glibc", glibcProg, glibc, LibcGlibc, false},
		{"musl on musl", muslProg, musl, LibcMusl, false},
		{"glibc on scratch", glibcProg, empty, LibcNone, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			libc, loader := RootLibc(tc.root, tc.rep)
			if libc != tc.libc {
				t.Errorf("RootLibc = %s %s, want %s", libc, loader, tc.libc)
			}
			p := DiagnoseLibc(tc.rep, libc, loader, tc.root.String())
			if (p != nil) != tc.mismatch || p != nil && p.Code != ProblemLibcMismatch {
				t.Errorf("DiagnoseLibc = %+v, want a mismatch: %v", p, tc.mismatch)
			}
		})
	}
}
