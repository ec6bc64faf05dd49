package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestParsePlatforms(t *testing.T) {
	tests := []struct {
		name    string
		vals    []string
		check   string
		progs   []string // platform=program
		wantErr bool
	}{
		{"none", nil, "", nil, false},
		{"check", []string{"linux/arm64"}, "linux/arm64", nil, false},
		{"per platform", []string{"linux/amd64=./a", "linux/arm/v7=b=c"}, "", []string{"linux/amd64=./a", "linux/arm/v7=b=c"}, false},
		{"two checks", []string{"linux/arm64", "linux/amd64"}, "", nil, true},
		{"check and per platform", []string{"linux/arm64", "linux/amd64=./a"}, "", nil, true},
		{"same platform twice", []string{"linux/amd64=./a", "linux/amd64=./b"}, "", nil, true},
		{"no program", []string{"linux/amd64="}, "", nil, true},
		{"no OS", []string{"arm64=./a"}, "", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			check, progs, err := parsePlatforms(tc.vals)
			if (err != nil) != tc.wantErr {
				t.Fatalf("parsePlatforms(%q) error = %v, want error %t", tc.vals, err, tc.wantErr)
			}
			if err != nil {
				return
			}
			var gotCheck string
			if check != nil {
				gotCheck = check.String()
			}
			var got []string
			for _, p := range progs {
				got = append(got, p.platform.String()+"="+p.program)
			}
			if gotCheck != tc.check || !cmp.Equal(got, tc.progs) {
				t.Errorf("parsePlatforms(%q) = %q, %q; want %q, %q", tc.vals, gotCheck, got, tc.check, tc.progs)
			}
		})
	}
}

func TestSysroots(t *testing.T) {
	pl := func(s string) v1.Platform {
		p, err := v1.ParsePlatform(s)
		if err != nil {
			t.Fatal(err)
		}
		return *p
	}
	tests := []struct {
		name    string
		vals    []string
		lookups map[string]string // platform → dir ("" for the default)
		unused  bool
		wantErr bool
	}{
		{"none", nil, map[string]string{"linux/arm64": ""}, false, false},
		{"one for all", []string{"/sr"}, map[string]string{"linux/arm64": "/sr", "linux/amd64": "/sr"}, false, false},
		{"a directory with = in its name", []string{"./a=b"}, map[string]string{"linux/s390x": "./a=b"}, false, false},
		{"per platform", []string{"linux/arm64=/a", "linux/arm/v7=/hf", "linux/arm/v5=/el"},
			map[string]string{"linux/arm64": "/a", "linux/arm/v7": "/hf", "linux/arm/v5": "/el", "linux/amd64": ""}, false, false},
		{"no variant matches every variant", []string{"linux/arm=/arm"}, map[string]string{"linux/arm/v6": "/arm", "linux/arm": "/arm"}, false, false},
		{"ambiguous", []string{"linux/arm=/a", "linux/arm/v7=/b"}, map[string]string{"linux/arm/v7": "error"}, true, false},
		{"unused", []string{"linux/riscv64=/r"}, map[string]string{"linux/arm64": ""}, true, false},
		{"two plain", []string{"/a", "/b"}, nil, false, true},
		{"plain and per platform", []string{"/a", "linux/arm64=/b"}, nil, false, true},
		{"no directory", []string{"linux/arm64="}, nil, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sr, err := parseSysroots(tc.vals)
			if (err != nil) != tc.wantErr {
				t.Fatalf("parseSysroots(%q) error = %v, want error %t", tc.vals, err, tc.wantErr)
			}
			if err != nil {
				return
			}
			for p, want := range tc.lookups {
				dir, given, err := sr.forPlatform(pl(p))
				if want == "error" {
					if err == nil {
						t.Errorf("forPlatform(%s) = %q, want an error", p, dir)
					}
					continue
				}
				if err != nil || dir != want || given != (want != "") {
					t.Errorf("forPlatform(%s) = %q, %t, %v; want %q", p, dir, given, err, want)
				}
			}
			if err := sr.unused(); (err != nil) != tc.unused {
				t.Errorf("unused() = %v, want error %t", err, tc.unused)
			}
		})
	}
}
