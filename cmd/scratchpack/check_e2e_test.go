package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/scratchpack/scratchpack/internal/testenv"
	"github.com/scratchpack/scratchpack/packer"
)

// TestCheckVerdicts runs scratchpack check on each case the issue names,
// against bases made here: an Alpine-shaped musl base from Debian's musl
// package, the busybox:glibc-shaped base, and that base with a libc.so.6
// that defines versions only up to GLIBC_2.17. Exit 0 runs, 1 will not run,
// 2 could not tell; --json says why.
func TestCheckVerdicts(t *testing.T) {
	musl := filepath.Join(t.TempDir(), "musl")
	testenv.WriteOCILayout(t, testenv.MuslImage(t), musl, "alpine")
	busybox := filepath.Join(t.TempDir(), "busybox")
	testenv.WriteOCILayout(t, testenv.BusyboxGlibcImage(t), busybox, "glibc")
	old := oldGlibcBase(t)

	for _, tc := range []struct {
		name, prog, base string
		code             int
		problem          string // the first problem's code
		symptom          string // in the human output
	}{
		{"glibc program on a musl base", "nss", "oci:" + musl + ":alpine", checkWontRun, "libc-mismatch", "no such file or directory"},
		{"musl program on a glibc base", "hello-musl", "oci:" + busybox + ":glibc", checkWontRun, "libc-mismatch", "no such file or directory"},
		{"aarch64 program on amd64", "hello-c-arm64", "oci:" + busybox + ":glibc", checkWontRun, "exec-format", "exec format error"},
		{"newer GLIBC than the base has", "hello-c", "oci:" + old + ":old", checkWontRun, "glibc-too-old", "version `GLIBC_2."},
		{"a library the base lacks", "hello-cc", "oci:" + busybox + ":glibc", checkWontRun, "missing-library", "libstdc++.so.6"},
		{"dynamic program on scratch", "hello-c", "scratch", checkWontRun, "no-interpreter", "no such file or directory"},
		{"good pair: glibc", "hello-c", "oci:" + busybox + ":glibc", checkRuns, "", "runs"},
		{"good pair: musl", "hello-musl", "oci:" + musl + ":alpine", checkRuns, "", "runs"},
		{"good pair: static Go on scratch", "hello-go", "scratch", checkRuns, "", "runs"},
		{"could not tell: not a program", "../malformed/script.sh", "scratch", checkCantTell, "", "a script, not a compiled program"},
		{"could not tell: no such base", "hello-c", "oci:" + filepath.Join(t.TempDir(), "nothing"), checkCantTell, "", "could not tell"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prog := testenv.Fixture(t, tc.prog)
			out, errOut, code := run(t, nil, "check", "--base", tc.base, prog)
			if code != tc.code || !strings.Contains(out+errOut, tc.symptom) {
				t.Fatalf("check: exit %d (want %d), output should show %q:\n%s%s", code, tc.code, tc.symptom, out, errOut)
			}
			if tc.code == checkCantTell {
				return
			}
			out, _, _ = run(t, nil, "check", "--json", "--base", tc.base, prog)
			var v packer.Verdict
			if err := jsonUnmarshal(out, &v); err != nil {
				t.Fatalf("check --json: %v\n%s", err, out)
			}
			if v.Runs != (tc.code == checkRuns) {
				t.Errorf("runs = %v", v.Runs)
			}
			if tc.problem != "" && (len(v.Problems) == 0 || v.Problems[0].Code != tc.problem) {
				t.Errorf("problems = %+v, want first %s", v.Problems, tc.problem)
			}
		})
	}
}

// TestCheckWarnsOfRuntimeNeeds: a program that starts on a base but needs
// files the base lacks runs, with warnings naming them.
func TestCheckWarnsOfRuntimeNeeds(t *testing.T) {
	out, _, code := run(t, nil, "check", "--base", "scratch", testenv.Fixture(t, "gozone"))
	if code != checkRuns || !strings.Contains(out, "warning: tzdata") || !strings.Contains(out, "/usr/share/zoneinfo") {
		t.Errorf("check gozone on scratch: exit %d\n%s", code, out)
	}
}
