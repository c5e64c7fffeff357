package tokendb

import (
	"strconv"
	"testing"

	"github.com/mailsift/mailsift/internal/bayes"
)

// TestCountTable: every token added is found with its counts through
// several doublings, a token added twice keeps the last counts (in one
// batch or in two), and others are zero, as on a nil table.
func TestCountTable(t *testing.T) {
	load := newTableLoader(0)
	const n = 5000
	for i := range n {
		load.add([]byte("tok"+strconv.Itoa(i)), bayes.Counts{Good: uint32(i), Spam: uint32(2 * i)})
		if i == 9 {
			load.add([]byte("tok9"), bayes.Counts{Good: 90, Spam: 91})
		}
	}
	load.add([]byte("tok7"), bayes.Counts{Good: 70, Spam: 71})
	tab := load.table()
	if tab.len() != n {
		t.Errorf("len %d, want %d", tab.len(), n)
	}
	if 2*tab.len() > len(tab.slots) {
		t.Errorf("%d tokens in %d slots: more than half full", tab.len(), len(tab.slots))
	}
	for i := range n {
		want := bayes.Counts{Good: uint32(i), Spam: uint32(2 * i)}
		switch i {
		case 7:
			want = bayes.Counts{Good: 70, Spam: 71}
		case 9:
			want = bayes.Counts{Good: 90, Spam: 91}
		}
		if got := tab.get("tok" + strconv.Itoa(i)); got != want {
			t.Fatalf("tok%d: %+v, want %+v", i, got, want)
		}
	}
	for _, k := range []string{"", "tok", "tok5000", "TOK1"} {
		if got := tab.get(k); got != (bayes.Counts{}) {
			t.Errorf("%q: %+v, want zero", k, got)
		}
	}
	var none *countTable
	if none.get("tok1") != (bayes.Counts{}) || none.len() != 0 {
		t.Error("a nil table is not empty")
	}
}
