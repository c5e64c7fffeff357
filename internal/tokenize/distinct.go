package tokenize

import "hash/maphash"

// keySeed is the seed of the keys that DistinctKeys gives, 64-bit hashes
// of the tokens. A snapshot's token tables are keyed the same way, so that
// classifying a message hashes each of its tokens once. It is random per
// process.
var keySeed = maphash.MakeSeed()

// Key is a token's key, the same in the whole process.
func Key(t string) uint64 { return maphash.String(keySeed, t) }

// KeyBytes is Key of a token held in bytes.
func KeyBytes(t []byte) uint64 { return maphash.Bytes(keySeed, t) }

// DistinctKeys is Distinct that also appends to keys the Key of every
// token it keeps, in the same order.
func DistinctKeys(toks []string, keys []uint64) ([]string, []uint64) {
	var small [smallSet]int32
	s := newTokenSet(small[:], len(toks))
	out := toks[:0]
	base := len(keys)
	for _, t := range toks {
		h := Key(t)
		if _, added := s.add(t, h, out, keys[base:]); added {
			out, keys = append(out, t), append(keys, h)
		}
	}
	return out, keys
}

// Distinct keeps the first occurrence of each token, in order and in
// place.
func Distinct(toks []string) []string {
	var small [smallSet]int32
	s := newTokenSet(small[:], len(toks))
	out := toks[:0]
	for _, t := range toks {
		if _, added := s.add(t, Key(t), out, nil); added {
			out = append(out, t)
		}
	}
	return out
}

// Count returns the distinct tokens of toks in the order they first occur,
// and how many times each occurs.
func Count(toks []string) (distinct []string, counts []uint32) {
	var small [smallSet]int32
	s := newTokenSet(small[:], len(toks))
	for _, t := range toks {
		i, added := s.add(t, Key(t), distinct, nil)
		if added {
			distinct, counts = append(distinct, t), append(counts, 1)
		} else {
			counts[i]++
		}
	}
	return distinct, counts
}

// smallSet is the size of the table that the callers of tokenSet keep on
// the stack: up to half as many distinct tokens need no allocation.
const smallSet = 1024

// tokenSet is an open-addressing set of the tokens kept so far: a slot
// holds 1 + the token's index in the kept list, 0 when free. The table
// doubles when it is half full, so that it grows with the distinct tokens
// rather than with all of them.
type tokenSet struct {
	slots []int32 // a power of two long
	mask  uint64
}

// newTokenSet returns an empty set in room, sized for n tokens as long as
// room holds twice as many slots: a mail repeats its tokens, so it seldom
// grows.
func newTokenSet(room []int32, n int) tokenSet {
	size := 64
	for size < 2*n && size < len(room) {
		size *= 2
	}
	size = min(size, len(room))
	return tokenSet{slots: room[:size], mask: uint64(size - 1)}
}

// add looks t, whose Key is h, up among kept, the tokens kept so far. It
// returns t's index there and false when it was kept before; otherwise it
// records t as the next one to be kept (at index len(kept)) and returns
// true. With keys, the Keys of kept, a slot whose key differs is passed
// without reading its token.
func (s *tokenSet) add(t string, h uint64, kept []string, keys []uint64) (int, bool) {
	if 2*(len(kept)+1) > len(s.slots) {
		s.grow(kept)
	}
	for i := h & s.mask; ; i = (i + 1) & s.mask {
		k := s.slots[i]
		if k == 0 {
			s.slots[i] = int32(len(kept) + 1)
			return len(kept), true
		}
		if (keys == nil || keys[k-1] == h) && kept[k-1] == t {
			return int(k - 1), false
		}
	}
}

// grow doubles the table, in the caller's stack array while it fits, and
// enters the kept tokens again.
func (s *tokenSet) grow(kept []string) {
	size := 2 * len(s.slots)
	if size <= cap(s.slots) {
		s.slots = s.slots[:size]
		clear(s.slots)
	} else {
		s.slots = make([]int32, size)
	}
	s.mask = uint64(size - 1)
	for j, t := range kept {
		i := Key(t) & s.mask
		for s.slots[i] != 0 {
			i = (i + 1) & s.mask
		}
		s.slots[i] = int32(j + 1)
	}
}
