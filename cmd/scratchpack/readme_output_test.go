package main

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// shownSizeRE matches a size as the reports print it ("122.4 kB").
var shownSizeRE = regexp.MustCompile(`\b[0-9]+(\.[0-9]+)? (B|kB|MB|GB)\b`)

// normalizeShown makes a line of output comparable with README's: sizes
// become <size> and runs of spaces one space.
func normalizeShown(l string) string {
	return strings.Join(strings.Fields(shownSizeRE.ReplaceAllString(l, "<size>")), " ")
}

// matchShownOutput checks that the lines README shows (but "...") are lines
// of out, in the same order, sizes and alignment aside.
func matchShownOutput(shown []string, out string) error {
	got := strings.Split(out, "\n")
	next := 0
	for _, s := range shown {
		want := normalizeShown(s)
		if want == "..." || want == "" {
			continue
		}
		i := next
		for i < len(got) && normalizeShown(got[i]) != want {
			i++
		}
		if i == len(got) {
			return fmt.Errorf("no line %q (after line %d of the output)", strings.TrimSpace(s), next)
		}
		next = i + 1
	}
	return nil
}

// TestMatchShownOutput: shown lines must be whole lines of the output, in
// order; sizes, alignment and "..." aside.
func TestMatchShownOutput(t *testing.T) {
	out := "x: 4 libraries, 5.1 MB to bundle\n  libc.so.6      /lib/libc.so.6  1.8 MB\n  libm.so.6  /lib/libm.so.6  890.5 kB\n"
	for _, tc := range []struct {
		name  string
		shown []string
		ok    bool
	}{
		{"same", []string{"x: 4 libraries, 5.1 MB to bundle", "  libc.so.6 /lib/libc.so.6  1.8 MB"}, true},
		{"other sizes and an ellipsis", []string{"x: 4 libraries, 2 kB to bundle", "...", "  libm.so.6   /lib/libm.so.6  1 MB"}, true},
		{"other count", []string{"x: 3 libraries, 5.1 MB to bundle"}, false},
		{"out of order", []string{"  libm.so.6 /lib/libm.so.6 890.5 kB", "  libc.so.6 /lib/libc.so.6 1.8 MB"}, false},
		{"part of a line", []string{"libc.so.6"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := matchShownOutput(tc.shown, out)
			if (err == nil) != tc.ok {
				t.Errorf("matchShownOutput(%q) = %v, want ok=%t", tc.shown, err, tc.ok)
			}
		})
	}
}
