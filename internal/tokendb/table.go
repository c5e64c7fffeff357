package tokendb

import (
	"github.com/mailsift/mailsift/internal/bayes"
	"github.com/mailsift/mailsift/internal/tokenize"
)

// countTable holds the counts of a snapshot's words or features: an
// open-addressing table keyed by the token's tokenize.Key, a 64-bit hash
// that the classifier has computed already for its features. It holds no
// pointers, so the garbage collector never scans it, and a lookup
// usually reads one slot, key and counts together. Two tokens whose
// hashes collide share their counts: for a million tokens that happens
// in about one process in thirty million (the seed is the process's), and
// it would shift one score a little until the process ends.
type countTable struct {
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
	t := &countTable{slots: make([]countSlot, size)}
	populate(t.slots)
	return t
}

// slotKey is the hash of a token, never 0.
func slotKey(h uint64) uint64 { return max(h, 1) }

// loadBatch is how many entries a tableLoader hashes before it stores
// them: each store is a cache miss in a table of megabytes, and a batch
// in a tight loop lets the processor wait for several at once.
const loadBatch = 64

// tableLoader fills a new table, as a cursor pass gives the tokens, in
// batches.
type tableLoader struct {
	t    *countTable
	keys [loadBatch]uint64
	vals [loadBatch]bayes.Counts
	n    int
}

// newTableLoader starts a table with room for capacity tokens; it grows
// if more come.
func newTableLoader(capacity int) *tableLoader {
	return &tableLoader{t: newCountTable(capacity)}
}

// add queues the counts of the token k. A token added twice keeps the
// last counts.
func (l *tableLoader) add(k []byte, c bayes.Counts) {
	l.keys[l.n], l.vals[l.n] = slotKey(tokenize.KeyBytes(k)), c
	if l.n++; l.n == loadBatch {
		l.flush()
	}
}

// flush stores the queued counts, growing the table so that it stays at
// most half full.
func (l *tableLoader) flush() {
	for 2*(l.t.n+l.n) > len(l.t.slots) {
		l.t.grow()
	}
	for i := range l.n {
		if l.t.insert(l.keys[i], l.vals[i]) {
			l.t.n++
		}
	}
	l.n = 0
}

// table returns the table with every token added.
func (l *tableLoader) table() *countTable {
	l.flush()
	return l.t
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
	populate(t.slots)
	for _, s := range old {
		if s.key != 0 {
			t.insert(s.key, s.counts)
		}
	}
}

// get returns the counts of the token k, zero when it is not held (or
// t is nil).
func (t *countTable) get(k string) bayes.Counts {
	return t.getKey(tokenize.Key(k))
}

// getKey is get for the token whose tokenize.Key is key.
func (t *countTable) getKey(key uint64) bayes.Counts {
	if t == nil {
		return bayes.Counts{}
	}
	h := slotKey(key)
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
