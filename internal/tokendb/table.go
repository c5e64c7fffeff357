package tokendb

import (
	"hash/maphash"

	"github.com/mailsift/mailsift/internal/bayes"
)

// countTable holds the counts of a snapshot's words or features: an
// open-addressing table keyed by a 64-bit hash of the token. It holds no
// pointers, so the garbage collector never scans it, and a lookup
// usually reads one slot, key and counts together. Two tokens whose
// hashes collide share their counts: for a million tokens that happens
// about once in thirty million snapshots, and it would shift one score a
// little.
type countTable struct {
	seed  maphash.Seed
	slots []countSlot // a power of two long, at most half full
	n     int
}

type countSlot struct {
	key    uint64 // the token's hash; 0 marks a free slot
	counts bayes.Counts
}

func newCountTable(capacity int) *countTable {
	size := 16
	for size < 2*capacity {
		size *= 2
	}
	return &countTable{seed: maphash.MakeSeed(), slots: make([]countSlot, size)}
}

// slotKey is the hash of a token, never 0.
func slotKey(h uint64) uint64 { return max(h, 1) }

// put stores the counts of the token k, growing the table when it is half
// full.
func (t *countTable) put(k []byte, c bayes.Counts) {
	if 2*(t.n+1) > len(t.slots) {
		t.grow()
	}
	if t.insert(slotKey(maphash.Bytes(t.seed, k)), c) {
		t.n++
	}
}

// insert stores c under h and says whether h is new.
func (t *countTable) insert(h uint64, c bayes.Counts) bool {
	mask := uint64(len(t.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.key == 0 {
			*s = countSlot{key: h, counts: c}
			return true
		}
		if s.key == h {
			s.counts = c
			return false
		}
	}
}

func (t *countTable) grow() {
	old := t.slots
	t.slots = make([]countSlot, 2*len(old))
	for _, s := range old {
		if s.key != 0 {
			t.insert(s.key, s.counts)
		}
	}
}

// get returns the counts of the token k, zero when it is not held (or
// t is nil).
func (t *countTable) get(k string) bayes.Counts {
	if t == nil {
		return bayes.Counts{}
	}
	h := slotKey(maphash.String(t.seed, k))
	mask := uint64(len(t.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.key == h {
			return s.counts
		}
		if s.key == 0 {
			return bayes.Counts{}
		}
	}
}

// len is the number of tokens held.
func (t *countTable) len() int {
	if t == nil {
		return 0
	}
	return t.n
}
