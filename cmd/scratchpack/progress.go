package main

import (
	"fmt"
	"io"
	"os"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/scratchpack/scratchpack/transfer"
	"golang.org/x/term"
)

// progressEvery is how often the progress line is redrawn at most.
const progressEvery = 100 * time.Millisecond

// pushProgress returns the write option that draws a progress line on w,
// when something is pushed and w is a terminal, and the function to call
// once the write is over, with whether the write started: it waits until
// the line is finished (a write closes the channel; one that never
// started leaves that to finish).
func pushProgress(w io.Writer, dsts []transfer.Ref) ([]transfer.Option, func(started bool)) {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) || !pushes(dsts) {
		return nil, func(bool) {}
	}
	ch := make(chan v1.Update, 64)
	done := make(chan struct{})
	go func() {
		defer close(done)
		drawProgress(w, ch)
	}()
	return []transfer.Option{transfer.WithProgress(ch)}, func(started bool) {
		if !started {
			close(ch)
		}
		<-done
	}
}

func pushes(dsts []transfer.Ref) bool {
	for _, d := range dsts {
		if d.Transport == transfer.Registry {
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
