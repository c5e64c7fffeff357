package tokendb

import "testing"

// populate leaves what the memory holds as it was: it backs pages, it
// does not clear them, whatever the slice's alignment and length.
func TestPopulateKeepsContents(t *testing.T) {
	big := make([]countSlot, 1<<16) // 1 MiB
	for i := range big {
		big[i] = countSlot{key: uint64(i) + 1}
	}
	for _, s := range [][]countSlot{nil, big[:0], big[3:4], big[1:], big} {
		populate(s)
	}
	for i, s := range big {
		if s.key != uint64(i)+1 {
			t.Fatalf("slot %d holds key %d after populate, want %d", i, s.key, i+1)
		}
	}
}
