package dedup

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
)

// order returns the set's keys as the test's key names, next to be
// evicted first.
func order(t *testing.T, s *Set, names ...string) []string {
	t.Helper()
	byDigest := map[digest]string{}
	for _, n := range names {
		byDigest[digestOf(n)] = n
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, d := range s.ordered() {
		n, ok := byDigest[d]
		if !ok {
			t.Fatalf("set holds a digest of no known key")
		}
		out = append(out, n)
	}
	return out
}

func TestEviction(t *testing.T) {
	all := []string{"a", "b", "c", "d", "e"}
	tests := []struct {
		name      string
		policy    Policy
		capacity  int
		ops       []string
		wantSeen  []bool
		wantOrder []string
	}{
		{"fifo fills", FIFO, 3, []string{"a", "b", "c"}, []bool{false, false, false}, []string{"a", "b", "c"}},
		{"fifo hit does not refresh", FIFO, 3, []string{"a", "b", "c", "a", "d"}, []bool{false, false, false, true, false}, []string{"b", "c", "d"}},
		{"lru hit refreshes", LRU, 3, []string{"a", "b", "c", "a", "d"}, []bool{false, false, false, true, false}, []string{"c", "a", "d"}},
		{"fifo evicted key is new again", FIFO, 2, []string{"a", "b", "c", "a"}, []bool{false, false, false, false}, []string{"c", "a"}},
		{"lru keeps the hot key", LRU, 2, []string{"a", "b", "a", "c", "a", "d", "a"}, []bool{false, false, true, false, true, false, true}, []string{"d", "a"}},
		{"capacity one", LRU, 1, []string{"a", "a", "b", "a"}, []bool{false, true, false, false}, []string{"a"}},
		{"capacity zero remembers nothing", FIFO, 0, []string{"a", "a"}, []bool{false, false}, nil},
		{"negative capacity remembers nothing", LRU, -5, []string{"a", "a"}, []bool{false, false}, nil},
		{"lru refresh of the newest", LRU, 3, []string{"a", "b", "c", "c", "d"}, []bool{false, false, false, true, false}, []string{"b", "c", "d"}},
		{"lru refresh of the middle", LRU, 4, []string{"a", "b", "c", "b", "e"}, []bool{false, false, false, true, false}, []string{"a", "c", "b", "e"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewSet(tt.capacity, tt.policy)
			var seen []bool
			for _, k := range tt.ops {
				seen = append(seen, s.SeenOrAdd(k))
			}
			if !slices.Equal(seen, tt.wantSeen) {
				t.Errorf("SeenOrAdd results = %v, want %v", seen, tt.wantSeen)
			}
			if got := order(t, s, all...); !slices.Equal(got, tt.wantOrder) {
				t.Errorf("order = %v, want %v", got, tt.wantOrder)
			}
			if s.Len() != len(tt.wantOrder) {
				t.Errorf("Len = %d, want %d", s.Len(), len(tt.wantOrder))
			}
			for _, k := range all {
				if got, want := s.Contains(k), slices.Contains(tt.wantOrder, k); got != want {
					t.Errorf("Contains(%q) = %v, want %v", k, got, want)
				}
			}
		})
	}
}

func TestContainsDoesNotRefresh(t *testing.T) {
	s := NewSet(2, LRU)
	s.SeenOrAdd("a")
	s.SeenOrAdd("b")
	if !s.Contains("a") {
		t.Fatal("a missing")
	}
	s.SeenOrAdd("c")
	if s.Contains("a") {
		t.Error("Contains refreshed a under LRU")
	}
	if s.Contains("z") || s.Len() != 2 {
		t.Errorf("Contains added a key: Len = %d", s.Len())
	}
}

func TestCapacityBound(t *testing.T) {
	for _, p := range []Policy{FIFO, LRU} {
		s := NewSet(100, p)
		for i := range 10_000 {
			s.SeenOrAdd(fmt.Sprint(i))
			s.SeenOrAdd(fmt.Sprint(i / 3))
			if s.Len() > 100 {
				t.Fatalf("%v: Len = %d after %d keys, above the capacity", p, s.Len(), i)
			}
		}
		if s.Len() != 100 {
			t.Errorf("%v: Len = %d, want 100", p, s.Len())
		}
		if len(s.nodes) != 100 || cap(s.nodes) != 100 {
			t.Errorf("%v: %d nodes in room for %d, want exactly the capacity", p, len(s.nodes), cap(s.nodes))
		}
		if s.used != 100 || len(s.slots) > 256 {
			t.Errorf("%v: index holds %d in %d slots", p, s.used, len(s.slots))
		}
	}
}

func TestNilAndZeroSet(t *testing.T) {
	var nilSet *Set
	var zero Set
	for _, s := range []*Set{nilSet, &zero} {
		first := s.SeenOrAdd("a")
		second := s.SeenOrAdd("a")
		if first || second || s.Contains("a") || s.Len() != 0 || s.Capacity() != 0 {
			t.Errorf("%p remembered a key", s)
		}
	}
	if NewSet(MaxCapacity+1, FIFO).Capacity() != MaxCapacity {
		t.Error("capacity not bounded by MaxCapacity")
	}
}

func TestPolicyNames(t *testing.T) {
	for _, p := range []Policy{FIFO, LRU} {
		got, err := ParsePolicy(p.String())
		if err != nil || got != p {
			t.Errorf("ParsePolicy(%q) = %v, %v", p.String(), got, err)
		}
	}
	if p, err := ParsePolicy("LRU"); err != nil || p != LRU {
		t.Errorf("ParsePolicy(LRU) = %v, %v", p, err)
	}
	if _, err := ParsePolicy("random"); err == nil {
		t.Error("ParsePolicy accepted random")
	}
	if s := Policy(7).String(); s != "Policy(7)" {
		t.Errorf("Policy(7).String() = %q", s)
	}
}

// TestConcurrent runs with -race: every key is reported unseen exactly
// once while it stays in the set, and the bound holds throughout.
func TestConcurrent(t *testing.T) {
	for _, p := range []Policy{FIFO, LRU} {
		t.Run(p.String(), func(t *testing.T) {
			const workers, keys = 8, 2000
			s := NewSet(keys, p)
			firsts := make([]int, workers)
			var wg sync.WaitGroup
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range keys {
						k := fmt.Sprintf("%x", (i*7+w*13)%keys)
						if !s.SeenOrAdd(k) {
							firsts[w]++
						}
						_ = s.Contains(k)
						if s.Len() > keys {
							t.Errorf("Len %d above capacity", s.Len())
						}
					}
				}()
			}
			wg.Wait()
			total := 0
			for _, n := range firsts {
				total += n
			}
			if total != keys {
				t.Errorf("%d keys reported new, want %d (each exactly once)", total, keys)
			}
		})
	}
}

// TestAgainstModel checks the Set against a plain slice, oldest first,
// over random operations on few keys in a small set, so that evictions
// and the table's deletions happen all the time.
func TestAgainstModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, p := range []Policy{FIFO, LRU} {
		for _, capacity := range []int{1, 2, 3, 7, 12, 13, 50} {
			s := NewSet(capacity, p)
			var model []string
			for op := range 5000 {
				k := fmt.Sprint(rng.IntN(capacity * 3))
				i := slices.Index(model, k)
				if rng.IntN(4) == 0 {
					if got := s.Contains(k); got != (i >= 0) {
						t.Fatalf("%v/%d op %d: Contains(%s) = %v", p, capacity, op, k, got)
					}
					continue
				}
				want := i >= 0
				switch {
				case want && p == LRU:
					model = append(slices.Delete(model, i, i+1), k)
				case !want:
					model = append(model, k)
					if len(model) > capacity {
						model = model[1:]
					}
				}
				if got := s.SeenOrAdd(k); got != want {
					t.Fatalf("%v/%d op %d: SeenOrAdd(%s) = %v, want %v", p, capacity, op, k, got, want)
				}
				if s.Len() != len(model) {
					t.Fatalf("%v/%d op %d: Len %d, want %d", p, capacity, op, s.Len(), len(model))
				}
			}
			var all []string
			for i := range capacity * 3 {
				all = append(all, fmt.Sprint(i))
			}
			if got := order(t, s, all...); !slices.Equal(got, model) {
				t.Errorf("%v/%d: order %v, want %v", p, capacity, got, model)
			}
			checkTable(t, s)
		}
	}
}

// checkTable verifies that every node is found from its home slot and
// that the table holds nothing else.
func checkTable(t *testing.T, s *Set) {
	t.Helper()
	n := 0
	for _, v := range s.slots {
		if v != 0 {
			n++
		}
	}
	if n != s.used || n != len(s.nodes) {
		t.Fatalf("table holds %d entries, used %d, nodes %d", n, s.used, len(s.nodes))
	}
	for i := range s.nodes {
		pos, ok := s.lookup(&s.nodes[i].key)
		if !ok || s.slots[pos] != uint32(i)+1 {
			t.Fatalf("node %d not found from its home slot", i)
		}
	}
}
