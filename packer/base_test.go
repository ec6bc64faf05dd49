package packer

import "testing"

// TestWantedInBase: a pass keeps the loader's configuration and the files
// of the libraries named, under their sonames or their real names.
func TestWantedInBase(t *testing.T) {
	want := wantedInBase([]string{"/lib64/ld-linux-x86-64.so.2", "libstdc++.so.6", "libc.so.6", "/usr/lib/x86_64-linux-gnu/libm.so.6", ""})
	for name, keep := range map[string]bool{
		"etc/ld.so.cache":                               true,
		"etc/ld-musl-x86_64.path":                       true,
		"usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2": true,
		"usr/lib/x86_64-linux-gnu/libstdc++.so.6":       true,
		"usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30":  true,
		"usr/lib/x86_64-linux-gnu/libc.so.6":            true,
		"lib/x86_64-linux-gnu/libc-2.31.so":             true,
		"usr/lib/x86_64-linux-gnu/libm.so.6":            true,
		"usr/lib/x86_64-linux-gnu/libstdc++.so.7":       false,
		"usr/lib/x86_64-linux-gnu/libcrypt.so.1":        false,
		"usr/lib/x86_64-linux-gnu/libc.so":              false,
		"usr/share/doc/libc6/copyright":                 false,
		"etc/passwd":                                    false,
		"usr/lib/x86_64-linux-gnu/libcurl.so.4":         false,
	} {
		if got := want(name); got != keep {
			t.Errorf("wanted(%q) = %v, want %v", name, got, keep)
		}
	}
}
