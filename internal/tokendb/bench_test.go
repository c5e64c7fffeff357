package tokendb

import (
	"maps"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/mailsift/mailsift/internal/bayes"
	bolt "go.etcd.io/bbolt"
)

const (
	benchWords  = 1_000_000
	benchLookup = 200
)

// benchDB builds a database of benchWords words in one Train call (1000
// messages of 1000 words) under b.TempDir and returns its path.
func benchDB(b *testing.B) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), "bench.db")
	db, err := Open(path, Options{Create: true})
	if err != nil {
		b.Fatal(err)
	}
	const per = 1000
	docs := make([]Doc, benchWords/per)
	for d := range docs {
		words := make([]string, per)
		for j := range words {
			words[j] = benchWord(d*per + j)
		}
		docs[d] = Doc{Hash: hashOf(strconv.Itoa(d)), Words: words}
	}
	start := time.Now()
	if _, err := db.Train(Spam, docs); err != nil {
		b.Fatal(err)
	}
	b.Logf("built %d words in %v", benchWords, time.Since(start).Round(time.Millisecond))
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}

func benchWord(i int) string { return "tok" + strconv.Itoa(i*7919%benchWords) }

// lookupSets returns n sets of benchLookup words: 90% known, 10% unknown.
func lookupSets(n int) [][]string {
	r := rand.New(rand.NewPCG(1, 1))
	sets := make([][]string, n)
	for i := range sets {
		ws := make([]string, benchLookup)
		for j := range ws {
			if r.IntN(10) == 0 {
				ws[j] = "unknown" + strconv.Itoa(r.IntN(1<<30))
			} else {
				ws[j] = benchWord(r.IntN(benchWords))
			}
		}
		sets[i] = ws
	}
	return sets
}

func BenchmarkLookup(b *testing.B) {
	path := benchDB(b)
	b.Run("200words", func(b *testing.B) {
		db, err := Open(path, Options{ReadOnly: true})
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		sets := lookupSets(1024)
		out := make([]bayes.Counts, benchLookup)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := db.Lookup(sets[i%len(sets)], out); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

// BenchmarkSnapshot measures taking a snapshot of the million-word
// database, and lookups in it from all cores.
func BenchmarkSnapshot(b *testing.B) {
	path := benchDB(b)
	db, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	b.Run("take", func(b *testing.B) {
		for b.Loop() {
			if _, err := db.Snapshot(1); err != nil {
				b.Fatal(err)
			}
		}
	})
	s, err := db.Snapshot(1)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("lookup200words", func(b *testing.B) {
		sets := lookupSets(1024)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			out := make([]bayes.Counts, benchLookup)
			i := 0
			for pb.Next() {
				if _, err := s.Lookup(sets[i%len(sets)], out); err != nil {
					b.Error(err)
					return
				}
				i++
			}
		})
	})
}

// BenchmarkRefit measures fitting the regression again over the stored
// vectors of 2,000 messages of 300 to 3,500 features, about the size of
// the SpamAssassin split's: the work of every train and untrain.
func BenchmarkRefit(b *testing.B) {
	db, err := Open(filepath.Join(b.TempDir(), "refit.db"), Options{Create: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	r := rand.New(rand.NewPCG(1, 2))
	var batch Batch
	indices := 0
	for i := range 2000 {
		seen := make(map[uint32]bool)
		for range 300 + r.IntN(3200) {
			seen[uint32(r.IntN(1<<Regression.Bits))] = true
		}
		hashed := slices.Sorted(maps.Keys(seen))
		indices += len(hashed)
		d := Doc{Hash: hashOf(strconv.Itoa(i)), Words: []string{"word"}}.WithFeatures([]string{"feature"}, hashed)
		if i%3 == 0 {
			batch.Spam = append(batch.Spam, d)
		} else {
			batch.Ham = append(batch.Ham, d)
		}
	}
	if _, err := db.Apply(batch); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		err := db.update(func(tx *bolt.Tx) (bool, error) {
			f, err := startRefit(tx)
			if err != nil {
				return false, err
			}
			return false, f.store(tx)
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(indices), "indices")
}
