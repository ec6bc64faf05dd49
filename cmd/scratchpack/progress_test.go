package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/scratchpack/scratchpack/transfer"
	"golang.org/x/sys/unix"
)

// TestDrawProgress: one line redrawn with \r, the last update shown in
// full, errors skipped, a newline at the end; nothing at all without updates.
func TestDrawProgress(t *testing.T) {
	for _, tc := range []struct {
		name    string
		updates []v1.Update
		want    string // the last line drawn, trimmed
	}{
		{"none", nil, ""},
		{"one", []v1.Update{{Complete: 512, Total: 2048}}, "pushing  512 B of 2.0 kB   25%"},
		{"done", []v1.Update{{Complete: 1, Total: 3 << 20}, {Complete: 3 << 20, Total: 3 << 20}}, "pushing  3.0 MB of 3.0 MB  100%"},
		{"error last", []v1.Update{{Complete: 5 << 20, Total: 10 << 20}, {Error: errors.New("reset")}}, "pushing  5.0 MB of 10.0 MB   50%"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch := make(chan v1.Update, len(tc.updates))
			for _, u := range tc.updates {
				ch <- u
			}
			close(ch)
			var out bytes.Buffer
			drawProgress(&out, ch)
			got := out.String()
			if tc.want == "" {
				if got != "" {
					t.Errorf("drew %q, want nothing", got)
				}
				return
			}
			if !strings.HasPrefix(got, "\r") || !strings.HasSuffix(got, "\n") || strings.Count(got, "\n") != 1 {
				t.Errorf("drew %q: want lines started with \\r and one newline at the end", got)
			}
			lines := strings.Split(strings.TrimSuffix(got, "\n"), "\r")
			if last := strings.TrimSpace(lines[len(lines)-1]); last != tc.want {
				t.Errorf("last line %q, want %q", last, tc.want)
			}
		})
	}
}

// TestPushProgressOnlyOnTerminal: the progress line is asked for only when
// something is pushed and stderr is a terminal (here a real pseudo-terminal).
func TestPushProgressOnlyOnTerminal(t *testing.T) {
	pty := openPTY(t)
	pipeR, pipeW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pipeR.Close()
	defer pipeW.Close()
	push, err := transfer.ParseRef("docker://127.0.0.1:5000/app:1")
	if err != nil {
		t.Fatal(err)
	}
	layout, err := transfer.ParseRef("oci:" + t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		w    io.Writer
		dsts []transfer.Ref
		want bool
	}{
		{"terminal, push", pty, []transfer.Ref{layout, push}, true},
		{"terminal, no push", pty, []transfer.Ref{layout}, false},
		{"pipe, push", pipeW, []transfer.Ref{push}, false},
		{"buffer, push", &bytes.Buffer{}, []transfer.Ref{push}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, wait := pushProgress(tc.w, tc.dsts)
			if added := len(got) == 1; added != tc.want {
				t.Errorf("progress option added: %v, want %v", added, tc.want)
			}
			wait(false) // no write started: returns at once, the line (if any) ended
		})
	}
}

// openPTY opens a pseudo-terminal and returns its terminal side.
func openPTY(t *testing.T) *os.File {
	t.Helper()
	ptm, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("opening a pseudo-terminal (Linux has /dev/ptmx): %v", err)
	}
	t.Cleanup(func() { ptm.Close() })
	if err := unix.IoctlSetPointerInt(int(ptm.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlocking the pseudo-terminal: %v", err)
	}
	n, err := unix.IoctlGetInt(int(ptm.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("naming the pseudo-terminal: %v", err)
	}
	pts, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pts.Close() })
	return pts
}
