package tokendb

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/mailsift/mailsift/internal/bayes"
)

// closedDB creates a database, trains it with fn, closes it and returns its
// path.
func closedDB(t *testing.T, fn func(*DB)) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tokens.db")
	db, err := Open(path, Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	fn(db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func mustTrain(t testing.TB, db *DB, c Class, docs ...Doc) {
	t.Helper()
	if _, err := db.Train(c, docs); err != nil {
		t.Fatal(err)
	}
}

// trainClosed opens path for writing (waiting for the lock), trains, closes.
func trainClosed(t testing.TB, path string, c Class, docs ...Doc) {
	t.Helper()
	db, err := Open(path, Options{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	mustTrain(t, db, c, docs...)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

func openCache(t *testing.T, path string, hold time.Duration) *Cache {
	t.Helper()
	c, err := OpenCache(path, hold)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	})
	return c
}

func cacheLookup(t *testing.T, c *Cache, words ...string) []bayes.Counts {
	t.Helper()
	out := make([]bayes.Counts, len(words))
	if err := c.Lookup(words, out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestCacheLookup(t *testing.T) {
	path := closedDB(t, func(db *DB) {
		mustTrain(t, db, Spam, doc("s", "cheap", "cheap"))
		mustTrain(t, db, Ham, doc("h", "meeting", "cheap"))
	})
	c := openCache(t, path, 0)
	if tot, err := c.Totals(); err != nil || tot != (bayes.Totals{Good: 1, Spam: 1}) {
		t.Errorf("Totals() = %+v, %v", tot, err)
	}
	for range 2 { // the second round is answered from memory
		out := cacheLookup(t, c, "cheap", "nothing", "meeting")
		want := []bayes.Counts{{Good: 1, Spam: 2}, {}, {Good: 1}}
		for i := range want {
			if out[i] != want[i] {
				t.Errorf("out[%d] = %+v, want %+v", i, out[i], want[i])
			}
		}
	}
	if err := c.Lookup([]string{"a", "b"}, make([]bayes.Counts, 1)); err == nil {
		t.Error("Lookup with a short out slice succeeded")
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Lookup([]string{"cheap"}, make([]bayes.Counts, 1)); !errors.Is(err, errCacheClosed) {
		t.Errorf("Lookup after Close: %v", err)
	}
	if _, err := c.Totals(); !errors.Is(err, errCacheClosed) {
		t.Errorf("Totals after Close: %v", err)
	}
}

func TestOpenCacheErrors(t *testing.T) {
	if _, err := OpenCache(filepath.Join(t.TempDir(), "none.db"), 0); !errors.Is(err, ErrNotExist) {
		t.Errorf("missing file: %v, want ErrNotExist", err)
	}
	if _, err := OpenCache(writeFile(t, []byte("garbage")), 0); !errors.Is(err, ErrCorrupt) {
		t.Errorf("garbage file: %v, want ErrCorrupt", err)
	}
}

// TestCacheHitsDoNotTouchFile holds the file with a writer (in this process:
// flock conflicts between descriptors) and checks that cached words are
// still answered. If a hit needed the file it would wait for the writer,
// which only closes once the hits are done: the test would time out.
func TestCacheHitsDoNotTouchFile(t *testing.T) {
	path := closedDB(t, func(db *DB) { mustTrain(t, db, Spam, doc("s", "a", "b")) })
	c := openCache(t, path, 20*time.Millisecond)
	c.revalidate = time.Hour // this test is about hits only
	cacheLookup(t, c, "a", "b", "unknown")

	// The writer gets the file once the cache releases it.
	w, err := Open(path, Options{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("writer could not open while the cache was idle: %v", err)
	}
	mustTrain(t, w, Spam, doc("s2", "a"))
	done := make(chan error, 1)
	go func() {
		for range 1000 {
			out := make([]bayes.Counts, 3)
			if err := c.Lookup([]string{"a", "b", "unknown"}, out); err != nil {
				done <- err
				return
			}
			if out[0] != (bayes.Counts{Spam: 1}) {
				done <- errors.New("hit did not come from the cache")
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("cached lookups blocked while a writer held the file")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// A miss reopens the file, sees the new generation and rereads all words.
	out := cacheLookup(t, c, "a", "new-miss")
	if out[0] != (bayes.Counts{Spam: 2}) {
		t.Errorf("after reopen: a = %+v, want spam 2", out[0])
	}
	if tot, _ := c.Totals(); tot.Spam != 2 {
		t.Errorf("after reopen: totals %+v, want spam 2", tot)
	}
}

func TestCacheRevalidates(t *testing.T) {
	path := closedDB(t, func(db *DB) { mustTrain(t, db, Spam, doc("s", "a")) })
	c := openCache(t, path, 10*time.Millisecond) // revalidates after 100ms
	if out := cacheLookup(t, c, "a"); out[0] != (bayes.Counts{Spam: 1}) {
		t.Fatalf("a = %+v", out[0])
	}
	trainClosed(t, path, Ham, doc("h", "a"))
	deadline := time.Now().Add(10 * time.Second)
	for {
		// Hits only: the cache must still notice the new generation.
		out := cacheLookup(t, c, "a")
		if out[0] == (bayes.Counts{Good: 1, Spam: 1}) {
			break
		}
		if out[0] != (bayes.Counts{Spam: 1}) {
			t.Fatalf("a = %+v, neither the old nor the new value", out[0])
		}
		if time.Now().After(deadline) {
			t.Fatal("cache never noticed the new generation")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if tot, _ := c.Totals(); tot != (bayes.Totals{Good: 1, Spam: 1}) {
		t.Errorf("totals %+v after revalidation", tot)
	}
}

// TestCacheGenerations runs lookups in several goroutines while a writer
// trains: every training adds one spam containing every word once, so in
// any generation each word's spam count equals the spam total. One Lookup
// must never mix generations, and the totals read after it are at least as
// new (generations only grow here).
func TestCacheGenerations(t *testing.T) {
	const (
		nwords  = 40
		batches = 15
	)
	words := make([]string, nwords)
	for i := range words {
		words[i] = "w" + strconv.Itoa(i)
	}
	path := closedDB(t, func(db *DB) { mustTrain(t, db, Spam, Doc{Hash: hashOf("0"), Words: words}) })
	c := openCache(t, path, 5*time.Millisecond)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	errc := make(chan error, 4)
	var lookups [4]int
	for g := range lookups {
		wg.Go(func() {
			ws := make([]string, 0, nwords/2+1)
			out := make([]bayes.Counts, nwords/2+1)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				// A sliding window of known words and one unknown word, a miss.
				lo := (i*7 + g) % (nwords / 2)
				ws = append(append(ws[:0], words[lo:lo+nwords/2]...), "junk"+strconv.Itoa(g)+"-"+strconv.Itoa(i))
				if err := c.Lookup(ws, out); err != nil {
					errc <- err
					return
				}
				tot, err := c.Totals()
				if err != nil {
					errc <- err
					return
				}
				spam := out[0].Spam
				for j := range nwords / 2 {
					if out[j] != (bayes.Counts{Spam: spam}) {
						errc <- fmt.Errorf("lookup %d mixes generations: %s = %+v, %s = %+v", i, ws[0], out[0], ws[j], out[j])
						return
					}
				}
				if out[nwords/2] != (bayes.Counts{}) {
					errc <- fmt.Errorf("unknown word %s = %+v", ws[nwords/2], out[nwords/2])
					return
				}
				if tot.Spam < spam || spam == 0 {
					errc <- fmt.Errorf("lookup %d: spam count %d, then totals %+v", i, spam, tot)
					return
				}
				lookups[g]++
			}
		})
	}
	for b := 1; b <= batches; b++ {
		trainClosed(t, path, Spam, Doc{Hash: hashOf(strconv.Itoa(b)), Words: words})
	}
	close(stop)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	t.Logf("lookups per goroutine during %d trainings: %v", batches, lookups)

	out := cacheLookup(t, c, "w0", "w39", "final-miss")
	if want := (bayes.Counts{Spam: batches + 1}); out[0] != want || out[1] != want {
		t.Errorf("final lookup %+v, want %+v", out, want)
	}
	if tot, _ := c.Totals(); tot.Spam != batches+1 {
		t.Errorf("final totals %+v", tot)
	}
}
