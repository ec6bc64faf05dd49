package runner

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// qemuAarch64 is how the kernel shows Debian's qemu-aarch64 registration.
const qemuAarch64 = `enabled
interpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P
flags: POCF
offset 0
magic 7f454c460201010000000000000000000200b700
mask ffffffffffffff00fffffffffffffffffeffffff
`

func binfmtDir(t *testing.T, status string, entries map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	if status != "" {
		if err := os.WriteFile(filepath.Join(dir, "status"), []byte(status+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "register"), nil, 0o200); err != nil {
			t.Fatal(err)
		}
	}
	for name, text := range entries {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestCheckEmulator(t *testing.T) {
	noF := strings.Replace(qemuAarch64, "flags: POCF", "flags: OC", 1)
	for _, tc := range []struct {
		name      string
		arch      string
		status    string
		entries   map[string]string
		hasInterp bool
		want      string // substring of the error; "" for none
		entry     string
	}{
		{name: "host architecture", arch: "amd64", want: ""},
		{name: "386 on amd64", arch: "386", want: ""},
		{name: "not mounted", arch: "arm64", want: "binfmt_misc is not mounted"},
		{name: "disabled", arch: "arm64", status: "disabled", entries: map[string]string{"qemu-aarch64": qemuAarch64}, want: "binfmt_misc is disabled"},
		{name: "no entry", arch: "arm64", status: "enabled", want: "no enabled emulator registered for aarch64"},
		{name: "entry disabled", arch: "arm64", status: "enabled", entries: map[string]string{"qemu-aarch64": strings.Replace(qemuAarch64, "enabled", "disabled", 1)}, want: "no enabled emulator"},
		{name: "other arch only", arch: "arm64", status: "enabled", entries: map[string]string{"qemu-arm": strings.Replace(qemuAarch64, "b700", "2800", 1)}, want: "no enabled emulator"},
		{name: "registered", arch: "arm64", status: "enabled", entries: map[string]string{"qemu-aarch64": qemuAarch64, "python3.11": "enabled\ninterpreter /usr/bin/python3.11\nflags: \noffset 0\nmagic a70d0d0a\n"}, entry: "qemu-aarch64"},
		{name: "any name", arch: "arm64", status: "enabled", entries: map[string]string{"arm64-emu": qemuAarch64}, entry: "arm64-emu"},
		{name: "without F, interpreter missing", arch: "arm64", status: "enabled", entries: map[string]string{"qemu-aarch64": noF}, want: "without the F flag"},
		{name: "without F, interpreter in the image", arch: "arm64", status: "enabled", entries: map[string]string{"qemu-aarch64": noF}, hasInterp: true, entry: "qemu-aarch64"},
		{name: "unknown architecture", arch: "mips", status: "enabled", entries: map[string]string{"qemu-aarch64": qemuAarch64}, want: "run it on a linux/mips machine"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "not-mounted")
			if tc.status != "" {
				dir = binfmtDir(t, tc.status, tc.entries)
			}
			e, err := checkEmulator(dir, tc.arch, "amd64", func(string) bool { return tc.hasInterp })
			if tc.want == "" {
				if err != nil {
					t.Fatalf("error: %v", err)
				}
				if (e == nil) != (tc.entry == "") || e != nil && e.name != tc.entry {
					t.Errorf("entry %+v, want %q", e, tc.entry)
				}
				return
			}
			var ne *NoEmulatorError
			if !errors.As(err, &ne) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want a *NoEmulatorError with %q", err, tc.want)
			}
			msg := err.Error()
			for _, want := range []string{"linux/" + tc.arch, "exec format error"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error does not say %q:\n%s", want, msg)
				}
			}
			if tc.arch == "arm64" {
				for _, want := range []string{"mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc",
					`:qemu-aarch64:M::\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00:`,
					"/usr/bin/qemu-aarch64-static:F' > /proc/sys/fs/binfmt_misc/register"} {
					if !strings.Contains(msg, want) {
						t.Errorf("error does not say %q:\n%s", want, msg)
					}
				}
			}
		})
	}
}

// TestRegisterLineMatches: the registration the error message suggests
// matches the architecture's programs, as the kernel would match it.
func TestRegisterLineMatches(t *testing.T) {
	for arch, a := range elfArches {
		t.Run(arch, func(t *testing.T) {
			e := &binfmtEntry{magic: unescape(t, a.magic), mask: unescape(t, a.mask)}
			if len(e.magic) != len(e.mask) {
				t.Fatalf("magic %d bytes, mask %d", len(e.magic), len(e.mask))
			}
			if !e.matches(a.header()) {
				t.Errorf("the registration does not match a %s header", arch)
			}
			for other, b := range elfArches {
				if other != arch && e.matches(b.header()) && !(arch == "amd64" && other == "386" || arch == "386" && other == "amd64") {
					t.Errorf("the %s registration matches %s programs too", arch, other)
				}
			}
		})
	}
}

// unescape decodes binfmt_misc's \xHH notation.
func unescape(t *testing.T, s string) []byte {
	t.Helper()
	var out []byte
	for len(s) > 0 {
		if strings.HasPrefix(s, `\x`) && len(s) >= 4 {
			var b byte
			for _, c := range s[2:4] {
				b <<= 4
				switch {
				case c >= '0' && c <= '9':
					b |= byte(c - '0')
				case c >= 'a' && c <= 'f':
					b |= byte(c - 'a' + 10)
				default:
					t.Fatalf("bad escape in %q", s)
				}
			}
			out = append(out, b)
			s = s[4:]
			continue
		}
		out = append(out, s[0])
		s = s[1:]
	}
	return out
}
