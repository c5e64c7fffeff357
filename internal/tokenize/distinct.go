package tokenize

import "hash/maphash"

// Distinct keeps the first occurrence of each token, in order and in
// place.
func Distinct(toks []string) []string {
	var s tokenSet
	s.init(len(toks))
	out := toks[:0]
	for _, t := range toks {
		if _, added := s.add(t, out); added {
			out = append(out, t)
		}
	}
	return out
}

// Count returns the distinct tokens of toks in the order they first occur,
// and how many times each occurs.
func Count(toks []string) (distinct []string, counts []uint32) {
	var s tokenSet
	s.init(len(toks))
	for _, t := range toks {
		i, added := s.add(t, distinct)
		if added {
			distinct, counts = append(distinct, t), append(counts, 1)
		} else {
			counts[i]++
		}
	}
	return distinct, counts
}

// tokenSet is an open-addressing set of the tokens kept so far: a slot
// holds 1 + the token's index in the kept list, 0 when free, and the slots
// are at most half full. Up to 512 tokens it needs no allocation.
type tokenSet struct {
	small [1024]int32
	slots []int32
	mask  uint64
}

func (s *tokenSet) init(n int) {
	size := 64
	for size < 2*n {
		size *= 2
	}
	if size <= len(s.small) {
		s.slots = s.small[:size]
	} else {
		s.slots = make([]int32, size)
	}
	s.mask = uint64(size - 1)
}

// add looks t up among kept, the tokens kept so far. It returns t's index
// there and false when it was kept before; otherwise it records t as the
// next one to be kept (at index len(kept)) and returns true.
func (s *tokenSet) add(t string, kept []string) (int, bool) {
	for i := maphash.String(distinctSeed, t) & s.mask; ; i = (i + 1) & s.mask {
		k := s.slots[i]
		if k == 0 {
			s.slots[i] = int32(len(kept) + 1)
			return len(kept), true
		}
		if kept[k-1] == t {
			return int(k - 1), false
		}
	}
}

var distinctSeed = maphash.MakeSeed()
