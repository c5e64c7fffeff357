package dedup

import (
	"bytes"
	"errors"
	"testing"
)

func FuzzLoad(f *testing.F) {
	for _, s := range []*Set{NewSet(0, FIFO), filled(FIFO, 4, "a", "b", "c"), filled(LRU, 2, "a", "b", "c", "a")} {
		var buf bytes.Buffer
		if err := s.Save(&buf); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	f.Add([]byte(magic))
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := NewSet(3, LRU)
		err := s.Load(bytes.NewReader(data))
		if s.Len() > 3 {
			t.Fatalf("Len %d above capacity", s.Len())
		}
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error not wrapping ErrCorrupt: %v", err)
			}
			return
		}
		// What loads saves and loads again to the same keys in order.
		var buf bytes.Buffer
		if err := s.Save(&buf); err != nil {
			t.Fatal(err)
		}
		r := NewSet(3, FIFO)
		if err := r.Load(&buf); err != nil {
			t.Fatalf("reload: %v", err)
		}
		s.mu.Lock()
		a := s.ordered()
		s.mu.Unlock()
		r.mu.Lock()
		b := r.ordered()
		r.mu.Unlock()
		if len(a) != len(b) {
			t.Fatalf("reload has %d keys, want %d", len(b), len(a))
		}
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("key %d differs after reload", i)
			}
		}
	})
}
