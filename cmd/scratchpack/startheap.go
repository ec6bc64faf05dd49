package main

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
)

// startingHeap is the heap the first garbage collection waits for.
// Packing a program on a base from the cache allocates some 15 MB (the
// base's index, and its libraries where they are read and checked) and
// keeps most of it: from Go's default 4 MB, that is three collections, whose
// write barriers and assists made decoding the index 2-3 times slower on
// two cores. The Go compiler does the same (cmd/compile's
// AdjustStartingHeap).
const startingHeap = 32 << 20

// adjustStartingHeap lets the heap grow to startingHeap before the first
// collection, then, once it is that large, collects as GOGC=100 does: a
// large pass over a base's layers uses the memory it would have. A GOGC
// set in the environment (gogc != "") is left as it is.
func adjustStartingHeap(gogc string) {
	if gogc != "" {
		return
	}
	s := []metrics.Sample{{Name: "/gc/heap/goal:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 || s[0].Value.Uint64() == 0 || s[0].Value.Uint64() >= startingHeap {
		return
	}
	debug.SetGCPercent(int(100 * startingHeap / s[0].Value.Uint64()))
	// After each collection, the goal is startingHeap again, until
	// GOGC=100's (twice the live heap) is larger: a finalizer runs once
	// per cycle, and sets itself again.
	type sentinel struct{ _ [16]byte }
	var after func(*sentinel)
	after = func(*sentinel) {
		s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		metrics.Read(s)
		live := uint64(0)
		if s[0].Value.Kind() == metrics.KindUint64 {
			live = s[0].Value.Uint64()
		}
		if live == 0 || 2*live >= startingHeap {
			debug.SetGCPercent(100)
			return
		}
		debug.SetGCPercent(int(100 * (startingHeap - live) / live))
		runtime.SetFinalizer(&sentinel{}, after)
	}
	runtime.SetFinalizer(&sentinel{}, after)
}
