package main

import (
	"runtime"
	"runtime/debug"
	"testing"
)

// TestAdjustStartingHeap: without GOGC, collections wait for a larger heap
// until the live heap is half of startingHeap, then are GOGC=100's; with
// GOGC set, nothing changes.
func TestAdjustStartingHeap(t *testing.T) {
	gcPercent := func() int {
		p := debug.SetGCPercent(100)
		debug.SetGCPercent(p)
		return p
	}
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	runtime.GC()

	adjustStartingHeap("50")
	if p := gcPercent(); p != 100 {
		t.Errorf("with GOGC set: GC percent %d, want 100 (left as it was)", p)
	}
	adjustStartingHeap("")
	if p := gcPercent(); p <= 100 {
		t.Errorf("without GOGC: GC percent %d, want more than 100", p)
	}
	keep := make([][]byte, 0, 64)
	for range 64 { // 64 MB live, twice startingHeap
		keep = append(keep, make([]byte, 1<<20))
	}
	for range 10 {
		runtime.GC()
		runtime.Gosched() // the finalizer runs on its own goroutine
		if gcPercent() == 100 {
			break
		}
	}
	if p := gcPercent(); p != 100 {
		t.Errorf("with %d MB live: GC percent %d, want 100", len(keep), p)
	}
	runtime.KeepAlive(keep)
}
