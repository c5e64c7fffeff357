package main

import "testing"

// A run collects as if GOGC were 400 while its heap is small, and lets no
// more than garbageRoom pile up once the heap holds more than a quarter of
// that (a snapshot's tables), down to GOGC 100.
func TestGCPercent(t *testing.T) {
	for _, c := range []struct {
		heap uint64
		want int
	}{
		{0, 400},
		{1 << 20, 400},
		{garbageRoom / 4, 400},
		{garbageRoom / 2, 200},
		{garbageRoom, 100},
		{1 << 30, 100},
	} {
		if got := gcPercent(c.heap); got != c.want {
			t.Errorf("gcPercent(%d) = %d, want %d", c.heap, got, c.want)
		}
	}
	if heapNow() == 0 {
		t.Error("heapNow says the heap is empty")
	}
}
