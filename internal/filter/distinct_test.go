package filter

import (
	"slices"
	"strconv"
	"testing"
)

// Distinct keeps the first occurrence of each feature, in order, for
// short lists and for lists longer than its built-in table.
func TestDistinct(t *testing.T) {
	for _, n := range []int{0, 1, 7, 500, 3000} {
		var in []string
		for i := range n {
			in = append(in, "f"+strconv.Itoa(i*7919%(n/3+1)))
		}
		var want []string
		for _, f := range in {
			if !slices.Contains(want, f) {
				want = append(want, f)
			}
		}
		if got := Distinct(slices.Clone(in)); !slices.Equal(got, want) {
			t.Errorf("n=%d: got %d features, want %d", n, len(got), len(want))
		}
	}
}
