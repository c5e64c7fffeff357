package dedup

import (
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"runtime"
	"testing"
)

// hexKeys returns n distinct hex SHA-1 strings, like the keys of the
// mail and attachment filters.
func hexKeys(n, offset int) []string {
	keys := make([]string, n)
	var b [8]byte
	for i := range keys {
		binary.BigEndian.PutUint64(b[:], uint64(i+offset))
		sum := sha1.Sum(b[:])
		keys[i] = hex.EncodeToString(sum[:])
	}
	return keys
}

func heap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkSeenOrAdd runs a full set of a million keys on a stream that
// is half repeats, half new keys (each new key evicts one).
func BenchmarkSeenOrAdd(b *testing.B) {
	const capacity = 1_000_000
	old := hexKeys(capacity, 0)
	fresh := hexKeys(capacity, capacity)
	b.Run("digest", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			digestOf(old[i%capacity])
		}
	})
	for _, p := range []Policy{FIFO, LRU} {
		b.Run(p.String(), func(b *testing.B) {
			before := heap()
			s := NewSet(capacity, p)
			for _, k := range old {
				s.SeenOrAdd(k)
			}
			perKey := float64(heap()-before) / capacity
			for i := 0; b.Loop(); i++ {
				if i&1 == 0 {
					s.SeenOrAdd(old[(i>>1)%capacity])
				} else {
					s.SeenOrAdd(fresh[(i>>1)%capacity])
				}
			}
			b.ReportMetric(perKey, "B/key")
			runtime.KeepAlive(s)
		})
	}
}
