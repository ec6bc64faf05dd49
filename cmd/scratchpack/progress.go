package main

import (
	"fmt"
	"io"
	"os"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/term"

	"github.com/scratchpack/scratchpack/packer"
)

// progressEvery is how often the progress line is redrawn at most.
const progressEvery = 100 * time.Millisecond

// pushProgress returns opts, with packer.WithProgress added when something
// is pushed and w is a terminal, and a function that waits until the
// progress line is finished (call it after packer.Write returns).
func pushProgress(w io.Writer, dsts []packer.Ref, opts []packer.Option) ([]packer.Option, func()) {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) || !pushes(dsts) {
		return opts, func() {}
	}
	ch := make(chan v1.Update, 64)
	done := make(chan struct{})
	go func() {
		defer close(done)
		drawProgress(w, ch)
	}()
	return append(append([]packer.Option(nil), opts...), packer.WithProgress(ch)), func() { <-done }
}

func pushes(dsts []packer.Ref) bool {
	for _, d := range dsts {
		if d.Transport == packer.Registry {
			return true
		}
	}
	return false
}

// drawProgress redraws one line, "pushing  12.3 MB of 40.1 MB  30%", until
// ch is closed, then ends it.
func drawProgress(w io.Writer, ch <-chan v1.Update) {
	var last v1.Update
	var drawn time.Time
	draw := func() {
		line := fmt.Sprintf("pushing  %s of %s", sizeOf(last.Complete), sizeOf(last.Total))
		if last.Total > 0 {
			line += fmt.Sprintf("  %3d%%", last.Complete*100/last.Total)
		}
		fmt.Fprintf(w, "\r%-40s", line)
	}
	for u := range ch {
		if u.Error != nil {
			continue
		}
		last = u
		if time.Since(drawn) >= progressEvery {
			draw()
			drawn = time.Now()
		}
	}
	if !drawn.IsZero() {
		draw()
		fmt.Fprintln(w)
	}
}
