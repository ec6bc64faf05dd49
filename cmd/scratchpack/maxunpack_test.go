package main

import "testing"

func TestParseSize(t *testing.T) {
	for s, want := range map[string]int64{"1": 1, "1024": 1024, "512MiB": 512 << 20, "32GiB": 32 << 30, "2g": 2 << 30, "10 KB": 10 << 10, "7B": 7, "1TiB": 1 << 40} {
		if got, err := parseSize(s); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"", "0", "-1", "lots", "1.5GiB", "GiB", "99999999999TiB"} {
		if _, err := parseSize(s); err == nil {
			t.Errorf("parseSize(%q): no error", s)
		}
	}
}
