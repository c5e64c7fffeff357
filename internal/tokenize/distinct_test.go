package tokenize

import (
	"slices"
	"strconv"
	"testing"
)

// Distinct and DistinctKeys keep the first occurrence of each token, in
// order, and Count counts them, for short lists and for lists longer than
// the set's built-in table.
func TestDistinctAndCount(t *testing.T) {
	for _, n := range []int{0, 1, 7, 500, 3000} {
		var in []string
		for i := range n {
			in = append(in, "f"+strconv.Itoa(i*7919%(n/3+1)))
		}
		var want []string
		wantCounts := map[string]uint32{}
		for _, f := range in {
			if !slices.Contains(want, f) {
				want = append(want, f)
			}
			wantCounts[f]++
		}
		if got := Distinct(slices.Clone(in)); !slices.Equal(got, want) {
			t.Errorf("n=%d: Distinct gave %d tokens, want %d", n, len(got), len(want))
		}
		// DistinctKeys appends each kept token's key after what keys held.
		got, keys := DistinctKeys(slices.Clone(in), []uint64{42})
		if !slices.Equal(got, want) || len(keys) != len(want)+1 || keys[0] != 42 {
			t.Errorf("n=%d: DistinctKeys gave %d tokens and %d keys, want %d and 1+%[4]d", n, len(got), len(keys), len(want))
		} else {
			for i, f := range got {
				if keys[i+1] != Key(f) {
					t.Errorf("n=%d: key %d of %q is %#x, want %#x", n, i, f, keys[i+1], Key(f))
					break
				}
			}
		}
		got, counts := Count(in)
		if !slices.Equal(got, want) {
			t.Errorf("n=%d: Count gave %d tokens, want %d", n, len(got), len(want))
			continue
		}
		for i, f := range got {
			if counts[i] != wantCounts[f] {
				t.Errorf("n=%d: %q counted %d times, want %d", n, f, counts[i], wantCounts[f])
			}
		}
	}
}

// Distinct allocates nothing for the few hundred features of a mail, and
// Count only its two result slices.
func TestDistinctAllocations(t *testing.T) {
	var in []string
	for i := range 400 {
		in = append(in, "f"+strconv.Itoa(i%300))
	}
	buf := make([]string, len(in))
	if n := testing.AllocsPerRun(20, func() { copy(buf, in); Distinct(buf) }); n != 0 {
		t.Errorf("Distinct: %v allocations, want 0", n)
	}
	if n := testing.AllocsPerRun(20, func() { Count(in) }); n > 20 {
		t.Errorf("Count: %v allocations, want only its growing results", n)
	}
}
