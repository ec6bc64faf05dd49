package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// placeholder is a name README's examples use for something this test
// provides, replaced as a whole word.
type placeholder struct {
	name, value string
}

// readmePlaceholders returns the replacements of the examples' text for a
// registry at addr and a working directory dir.
func readmePlaceholders(addr, dir string) []placeholder {
	var ps []placeholder
	for _, hub := range readmeHubImages {
		ps = append(ps, placeholder{hub.name, addr + "/" + hub.name})
	}
	for _, n := range readmeRegistryNames {
		ps = append(ps, placeholder{n, addr})
	}
	return append(ps, placeholder{"/etc/app.conf", filepath.Join(dir, "etc", "app.conf")})
}

// substitute replaces each placeholder's name in s where it is a whole word:
// not preceded or followed by a letter, digit, '.', '_' or '-'.
func substitute(s string, ps []placeholder) string {
	for _, p := range ps {
		var b strings.Builder
		for {
			i := wordIndex(s, p.name)
			if i < 0 {
				break
			}
			b.WriteString(s[:i] + p.value)
			s = s[i+len(p.name):]
		}
		s = b.String() + s
	}
	return s
}

// wordIndex returns the index of the first whole-word occurrence of word in
// s, or -1.
func wordIndex(s, word string) int {
	isWord := func(c byte) bool {
		return c == '.' || c == '_' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
	}
	for off := 0; ; {
		i := strings.Index(s[off:], word)
		if i < 0 {
			return -1
		}
		i += off
		end := i + len(word)
		if (i == 0 || !isWord(s[i-1])) && (end == len(s) || !isWord(s[end])) {
			return i
		}
		off = i + 1
	}
}

// TestSubstitute: placeholders are replaced as whole words only.
func TestSubstitute(t *testing.T) {
	ps := readmePlaceholders("127.0.0.1:41234", "/w")
	for _, tc := range []struct{ in, want string }{
		{"pull busybox:glibc -o oci-archive:busybox.tar", "pull 127.0.0.1:41234/busybox:glibc -o oci-archive:busybox.tar"},
		{"-o docker://127.0.0.1:5000/hello:1", "-o docker://127.0.0.1:41234/hello:1"},
		{"REGISTRY=registry.example.com VERSION=1", "REGISTRY=127.0.0.1:41234 VERSION=1"},
		{"--base alpine:3.20 x; --base alpine:3.20.1 y", "--base 127.0.0.1:41234/alpine:3.20 x; --base alpine:3.20.1 y"},
		{"--include /etc/app.conf --include /etc/app.conf.d", "--include /w/etc/app.conf --include /etc/app.conf.d"},
		{"my-busybox:glibc 127.0.0.1:50001", "my-busybox:glibc 127.0.0.1:50001"},
	} {
		if got := substitute(tc.in, ps); got != tc.want {
			t.Errorf("substitute(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
