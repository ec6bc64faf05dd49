package elfdeps

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"strings"
)

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
