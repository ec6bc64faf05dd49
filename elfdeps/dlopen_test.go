package elfdeps

import (
	"os"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/scratchpack/scratchpack/internal/testenv"

	"github.com/google/go-cmp/cmp"
)

// hintsOf inspects and resolves a fixture on the host and returns its hints.
func hintsOf(t *testing.T, name string, edit func(*Closure)) []DlopenHint {
	t.Helper()
	prog := testenv.Fixture(t, name)
	rep, err := InspectFile(prog)
	if err != nil {
		t.Fatal(err)
	}
	root := DirRoot("/")
	c, err := Resolve(root, rep)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(c)
	}
	f, err := os.Open(prog)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return DlopenHints(root, f, rep, c)
}

func hintNames(hints []DlopenHint) []string {
	names := []string{}
	for _, h := range hints {
		n := h.Name
		if h.Family != "" {
			n = h.Family + ":" + n
		}
		names = append(names, n)
	}
	return names
}

func TestDlopenHintsFixtures(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Closure)
		want []string
	}{
		{name: "dlopen", want: []string{"gconv:/usr/lib/x86_64-linux-gnu/gconv/*.so", "/opt/scratchpack/plugins/libcodec.so", "libscratchpack-plugin.so.1"}},
		// glibc 2.34 and later have the files and dns modules built in.
		{name: "getpwnam", want: []string{}},
		{name: "getpwnam", edit: func(c *Closure) { c.GlibcProvided = "2.31" }, want: []string{"nss:libnss_files.so.2"}},
		// No false positives: libstdc++ imports iconv_open, libc names libraries in its strings.
		{name: "hello-c", want: []string{}},
		{name: "hello-cc", want: []string{}},
		{name: "hello-musl", want: []string{}},
		{name: "hello-go", want: []string{}},
		{name: "hello-cgo", want: []string{}},
		{name: "hello-c-static", want: []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "dlopen" && !isDir("/usr/lib/x86_64-linux-gnu") {
				t.Skip("SKIP: the expected gconv directory is Debian's x86-64 one")
			}
			got := hintNames(hintsOf(t, tc.name, tc.edit))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("hints (-want +got):\n%s", diff)
			}
		})
	}
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// TestDlopenHintsLocated checks that a hinted library the root has is
// found where the loader would find it.
func TestDlopenHintsLocated(t *testing.T) {
	hints := hintsOf(t, "getpwnam", func(c *Closure) { c.GlibcProvided = "2.31" })
	if len(hints) != 1 || hints[0].Path == "" || !strings.HasSuffix(hints[0].Path, "/libnss_files.so.2") {
		t.Errorf("want libnss_files.so.2 located in the host root, got %+v", hints)
	}
	if len(hints) == 1 && !strings.Contains(hints[0].Reason, "getpwnam") {
		t.Errorf("the reason should name the function: %q", hints[0].Reason)
	}
}

// TestDlopenHintsLoaderFamilies resolves libraries that pick their drivers
// at run time in a made-up root holding vendor libraries and ICD files.
func TestDlopenHintsLoaderFamilies(t *testing.T) {
	prog := testenv.Fixture(t, "hello-c")
	rep, err := InspectFile(prog)
	if err != nil {
		t.Fatal(err)
	}
	lib := "usr/lib/x86_64-linux-gnu/"
	root := NewRoot(fstest.MapFS{
		lib + "libGL.so.1":                            {Data: []byte("not ELF")},
		lib + "libGLX_mesa.so.0":                      {Data: []byte("x")},
		lib + "libEGL.so.1":                           {Data: []byte("x")},
		lib + "libvulkan.so.1":                        {Data: []byte("x")},
		lib + "libvulkan_lvp.so":                      {Data: []byte("x")},
		"usr/share/vulkan/icd.d/lvp_icd.x86_64.json":  {Data: []byte(`{"ICD": {"library_path": "/usr/lib/x86_64-linux-gnu/libvulkan_lvp.so"}}`)},
		"usr/share/vulkan/icd.d/broken.json":          {Data: []byte(`{`)},
		"usr/share/glvnd/egl_vendor.d/50_mesa.json":   {Data: []byte(`{"ICD": {"library_path": "libEGL_mesa.so.0"}}`)},
		"usr/share/glvnd/egl_vendor.d/README":         {Data: []byte("x")},
		lib + "libGLX_nvidia.so.0-is-not-a-library.x": {Data: []byte("x")},
	}, "the test root")
	c := &Closure{Libraries: []Library{
		{Soname: "libGL.so.1", Path: "/" + lib + "libGL.so.1", RealPath: "/" + lib + "libGL.so.1"},
		{Soname: "libEGL.so.1", Path: "/" + lib + "libEGL.so.1", RealPath: "/" + lib + "libEGL.so.1"},
		{Soname: "libvulkan.so.1", Path: "/" + lib + "libvulkan.so.1", RealPath: "/" + lib + "libvulkan.so.1"},
	}}
	f, err := os.Open(prog)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	hints := DlopenHints(root, f, rep, c)
	want := []string{"gl:libGLX_mesa.so.0", "gl:libGLX_nvidia.so.0-is-not-a-library.x", "egl:libEGL_mesa.so.0", "vulkan:/usr/lib/x86_64-linux-gnu/libvulkan_lvp.so"}
	if diff := cmp.Diff(want, hintNames(hints)); diff != "" {
		t.Errorf("hints (-want +got):\n%s", diff)
	}
	for _, h := range hints {
		if h.Name == "libGLX_mesa.so.0" && h.Path != "/"+lib+"libGLX_mesa.so.0" {
			t.Errorf("libGLX_mesa.so.0 at %q", h.Path)
		}
		if len(h.FoundIn) == 0 || h.Reason == "" {
			t.Errorf("hint %s without a source or reason: %+v", h.Name, h)
		}
	}
}

func TestDlopenHintsStrings(t *testing.T) {
	for _, tc := range []struct {
		name   string
		rodata string
		want   []string
	}{
		{"python", "x\x00/lib-dynload\x00.cpython-311-x86_64-linux-gnu.so\x00", []string{"python:/usr/lib/python3.11/lib-dynload/*.so"}},
		{"pyinstaller", "_MEIPASS2\x00Cannot open PyInstaller archive from executable (%s)", []string{"pyinstaller:libpython3.*.so and extension modules from the PyInstaller archive"}},
		{"names", "\x00libfoo.so.1\x00libbar-gtk3.so\x00/usr/lib/app/plugins/libx.so\x00/usr/lib/app/plugins\x00", []string{"/usr/lib/app/plugins", "/usr/lib/app/plugins/libx.so", "libbar-gtk3.so", "libfoo.so.1"}},
		// Only whole strings: a name inside a sentence is not a name dlopen is given.
		{"in a sentence", "\x00plugin libbar-gtk3.so loaded\x00cannot load /usr/lib/app/plugins/liby.so: %s\x00", []string{}},
		{"printf patterns", "\x00libgomp-plugin-%s.so.1\x00libsubid_%s.so\x00libsubid_%s.so\x00", []string{"libgomp-plugin-*.so.1", "libsubid_*.so"}},
		// node: file names with version numbers are printf'd, not dlopen'd.
		{"printf numbers", "\x00libv8-%d.%d.%d%s%s.so\x00libv8-%d.%d.%d.%d%s%s.so\x00lib%s-%s.so\x00", []string{}},
		// Go lays strings end to end: a name glued to a word is not taken.
		{"glued", "errorlibzstd.so.1EOF", []string{}},
		// podman: Go's string table, glued into one long "path" with no NUL.
		{"Go string table", "\x00unexpected EOF //.config/dev/log/dev/pts/dev/shm/etc/cdi/monitor/plugins/pods/*/proc/*/proc/fs/volumes00000000012345671 /usr/lib/x/plugins/liba.so invalid",
			[]string{}},
		{"implausible paths", "\x00//usr/lib/plugins/a.so\x00/usr/lib/" + strings.Repeat("x", 300) + "/plugins/a.so\x00/usr/lib/a b/plugins/c.so\x00", []string{}},
		{"too vague", "lib%s.so\x00%s.so\x00lib.so\x00libc.so\x00ld-linux-x86-64.so.2\x00/etc/ld.so.cache\x00", []string{}},
		{"in the closure", "libc.so.6\x00libm.so.6\x00/lib/x86_64-linux-gnu/libc.so.6", []string{}},
		{"not libraries", "libfoo.sox\x00mylibfoo.so.1\x00/usr/share/doc/libfoo.so.txt", []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &hinter{root: NewRoot(fstest.MapFS{}, "empty"), rep: &Report{Libc: LibcGlibc}, byName: map[string]*DlopenHint{},
				have: map[string]bool{"libc.so.6": true, "libm.so.6": true, "/lib/x86_64-linux-gnu/libc.so.6": true}}
			h.stringFamilies("prog", []byte(tc.rodata))
			h.names("prog", []byte(tc.rodata))
			if diff := cmp.Diff(tc.want, hintNames(h.result())); diff != "" {
				t.Errorf("hints (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRuntimeFiles(t *testing.T) {
	for _, tc := range []struct {
		name string
		want []string
	}{
		{"getpwnam", []string{"/etc/passwd"}},
		{"hello-c", nil},
		{"hello-c-static", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := os.Open(testenv.Fixture(t, tc.name))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var got []string
			for _, f := range RuntimeFiles(f) {
				got = append(got, f.Path)
				if !strings.Contains(f.Reason, "getpwnam") {
					t.Errorf("%s: reason %q does not name the function", f.Path, f.Reason)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("runtime files (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzDlopenNames feeds arbitrary bytes to the string scanner as an
// object's .rodata: it must not panic, and every word it finds must be in
// the input.
func FuzzDlopenNames(f *testing.F) {
	for _, s := range []string{"\x00libfoo.so.1\x00", "/usr/lib/x/plugins/liba.so", "lib%s.so", ".so", "/plugins", "%.so.%", "lib-dynload.cpython-311-"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		words(b, func(w string, _ bool) {
			if !strings.Contains(string(b), w) {
				t.Errorf("word %q is not in the input", w)
			}
			_, _ = pattern(w)
		})
		h := &hinter{root: NewRoot(fstest.MapFS{}, "empty"), rep: &Report{Libc: LibcGlibc}, byName: map[string]*DlopenHint{}, have: map[string]bool{}}
		h.stringFamilies("prog", b)
		h.names("prog", b)
		_ = h.result()
	})
}

// TestChunksAtNUL: the pieces cover the input in order, and a string is
// split only when no NUL lies in the second half of the buffer.
func TestChunksAtNUL(t *testing.T) {
	for _, tc := range []struct {
		in   string
		size int
		want []string
	}{
		{"libfoo.so.1\x00libbar.so.2\x00", 16, []string{"libfoo.so.1\x00", "libbar.so.2\x00"}},
		{"a\x00libbar.so.2\x00tail", 8, []string{"a\x00libbar", ".so.2\x00", "tail"}},
		{"abcde\x00fg\x00hi", 8, []string{"abcde\x00", "fg\x00hi"}},
		{"abcdef\x00gh\x00ijklm", 8, []string{"abcdef\x00", "gh\x00ijklm"}},
		{"abcdefghij", 4, []string{"abcd", "efgh", "ij"}},
		{"x\x00", 64, []string{"x\x00"}},
	} {
		var got []string
		chunksAtNUL(strings.NewReader(tc.in), make([]byte, tc.size), func(b []byte) {
			if len(b) > tc.size {
				t.Errorf("%q: piece of %d bytes, buffer %d", tc.in, len(b), tc.size)
			}
			got = append(got, string(b))
		})
		if !slices.Equal(got, tc.want) {
			t.Errorf("%q in %d: %q, want %q", tc.in, tc.size, got, tc.want)
		}
	}
}
