package tokendb

import (
	"bytes"
	"fmt"
	"os"

	"github.com/mailsift/mailsift/internal/bayes"
	bolt "go.etcd.io/bbolt"
)

// Totals returns the number of messages trained per class.
func (db *DB) Totals() (bayes.Totals, error) {
	var t bayes.Totals
	err := db.view(func(tx *bolt.Tx) error {
		var err error
		t, err = readTotals(tx)
		return err
	})
	if err != nil {
		return bayes.Totals{}, fmt.Errorf("tokendb: totals: %w", err)
	}
	return t, nil
}

// Lookup fills out[i] with the counts of words[i] (zero Counts when unknown)
// and returns the message totals, all read in one transaction, so that
// counts and totals belong together. len(out) must be >= len(words).
func (db *DB) Lookup(words []string, out []bayes.Counts) (bayes.Totals, error) {
	if len(out) < len(words) {
		return bayes.Totals{}, fmt.Errorf("tokendb: lookup: %d results for %d words", len(out), len(words))
	}
	var t bayes.Totals
	err := db.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketWords)
		if b == nil {
			return fmt.Errorf("%w: no words bucket", ErrCorrupt)
		}
		var err error
		if t, err = readTotals(tx); err != nil {
			return err
		}
		return lookupBucket(b, words, out)
	})
	if err != nil {
		return bayes.Totals{}, fmt.Errorf("tokendb: lookup: %w", err)
	}
	return t, nil
}

// lookupBucket fills out[i] from the words bucket. One cursor and one key
// buffer serve all words (Bucket.Get would allocate a cursor per word).
func lookupBucket(b *bolt.Bucket, words []string, out []bayes.Counts) error {
	if b == nil {
		return fmt.Errorf("%w: missing bucket", ErrCorrupt)
	}
	cur := b.Cursor()
	var key []byte
	for i, w := range words {
		key = append(key[:0], w...)
		var v []byte
		if k, val := cur.Seek(key); k != nil && bytes.Equal(k, key) {
			if v = val; v == nil { // a nested bucket, not ours
				return fmt.Errorf("%w: word %q is a bucket", ErrCorrupt, w)
			}
		}
		c, err := decodeCounts(v)
		if err != nil {
			return fmt.Errorf("word %q: %w", w, err)
		}
		out[i] = c
	}
	return nil
}

// Walk calls fn for every word in byte order, in one read transaction. It
// stops at the first non-nil error of fn and returns it as is. fn must not
// write to db (a write waiting for the read transaction would deadlock).
func (db *DB) Walk(fn func(word string, c bayes.Counts) error) error {
	var fnErr error
	g := &guard{}
	err := db.viewGuarded(g, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketWords)
		if b == nil {
			return fmt.Errorf("%w: no words bucket", ErrCorrupt)
		}
		cur := b.Cursor()
		for k, v := cur.First(); k != nil; k, v = cur.Next() {
			c, err := decodeCounts(v)
			if err != nil {
				return fmt.Errorf("word %q: %w", k, err)
			}
			g.inCaller = true
			fnErr = fn(string(k), c)
			g.inCaller = false
			if fnErr != nil {
				return fnErr
			}
		}
		return nil
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return fmt.Errorf("tokendb: walk: %w", err)
	}
	return nil
}

// Stats describes the database.
type Stats struct {
	Words    int // distinct words stored
	Features int // distinct features of the default classifier
	// FeatureTotals counts the messages the default classifier learned.
	FeatureTotals bayes.Totals
	Ledger        int    // messages in the ledger
	FileSize      int64  // bytes of the file in use, without the sparse space bbolt grows it by ahead
	Generation    uint64 // see DB.Generation
	Totals        bayes.Totals
}

// Ledger returns how each message the database learned was trained, by
// its hash, read in one transaction.
func (db *DB) Ledger() (map[[32]byte]Class, error) {
	known := make(map[[32]byte]Class)
	err := db.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketLedger)
		if b == nil {
			return fmt.Errorf("%w: no ledger bucket", ErrCorrupt)
		}
		return b.ForEach(func(k, v []byte) error {
			c, err := decodeClass(v)
			if err != nil || len(k) != 32 {
				return fmt.Errorf("%w: ledger entry %x", ErrCorrupt, k)
			}
			known[[32]byte(k)] = c
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("tokendb: ledger: %w", err)
	}
	return known, nil
}

// Stats returns counts and sizes. It reads every page of the words and
// ledger buckets: fine for the stats command, not for a hot path.
func (db *DB) Stats() (Stats, error) {
	var s Stats
	err := db.view(func(tx *bolt.Tx) error {
		words, ledger := tx.Bucket(bucketWords), tx.Bucket(bucketLedger)
		if words == nil || ledger == nil {
			return fmt.Errorf("%w: missing bucket", ErrCorrupt)
		}
		s.Words = words.Stats().KeyN
		s.Ledger = ledger.Stats().KeyN
		if f := tx.Bucket(bucketFeatures); f != nil {
			s.Features = f.Stats().KeyN
		}
		var err error
		if s.FeatureTotals, err = readTotalsKey(tx, keyFeatureTotals); err != nil {
			return err
		}
		st, err := readState(tx)
		if err != nil {
			return err
		}
		s.Generation = st.gen
		if s.Totals, err = readTotals(tx); err != nil {
			return err
		}
		fi, err := os.Stat(db.path)
		if err != nil {
			return err
		}
		s.FileSize = min(fi.Size(), tx.Size())
		return nil
	})
	if err != nil {
		return Stats{}, fmt.Errorf("tokendb: stats: %w", err)
	}
	return s, nil
}

// Generation returns a number that changes with every committed write:
// a long-running reader compares it to know when to read again. It reads
// one key.
func (db *DB) Generation() (uint64, error) {
	var gen uint64
	err := db.view(func(tx *bolt.Tx) error {
		st, err := readState(tx)
		gen = st.gen
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("tokendb: generation: %w", err)
	}
	return gen, nil
}
