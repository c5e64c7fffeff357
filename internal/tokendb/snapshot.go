package tokendb

import (
	"fmt"

	"github.com/mailsift/mailsift/internal/bayes"
	bolt "go.etcd.io/bbolt"
)

// Snapshot is an in-memory copy of the words a run can score with, and the
// totals they belong to, for runs over many messages (test, stats): one
// cursor scan under the shared lock, then the file is free again for
// training, and lookups from any number of goroutines need no lock at all.
// A snapshot does not see later training.
type Snapshot struct {
	words  map[string]bayes.Counts
	totals bayes.Totals
}

// Snapshot copies every word whose weight (2·good + spam) is at least
// minWeight; lookups of the others give zero counts, which scoring treats
// the same way as a word too rare to count.
func (db *DB) Snapshot(minWeight uint64) (*Snapshot, error) {
	s := &Snapshot{}
	err := db.view(func(tx *bolt.Tx) error {
		t, err := readTotals(tx)
		if err != nil {
			return err
		}
		s.totals = t
		b := tx.Bucket(bucketWords)
		if b == nil {
			return fmt.Errorf("%w: no words bucket", ErrCorrupt)
		}
		s.words = make(map[string]bayes.Counts, b.Stats().KeyN/4)
		cur := b.Cursor()
		for k, v := cur.First(); k != nil; k, v = cur.Next() {
			c, err := decodeCounts(v)
			if err != nil {
				return fmt.Errorf("word %q: %w", k, err)
			}
			if c.Weight() >= minWeight {
				s.words[string(k)] = c
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("tokendb: snapshot: %w", err)
	}
	return s, nil
}

// Lookup fills out[i] with the counts of words[i] and returns the totals.
// It is safe for concurrent use.
func (s *Snapshot) Lookup(words []string, out []bayes.Counts) (bayes.Totals, error) {
	if len(out) < len(words) {
		return bayes.Totals{}, fmt.Errorf("tokendb: snapshot lookup: %d results for %d words", len(out), len(words))
	}
	for i, w := range words {
		out[i] = s.words[w]
	}
	return s.totals, nil
}

// Len is the number of words held.
func (s *Snapshot) Len() int { return len(s.words) }
