package tokendb

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/mailsift/mailsift/internal/bayes"
	"github.com/mailsift/mailsift/internal/logreg"
	bolt "go.etcd.io/bbolt"
)

// Snapshot is an in-memory copy of the words a run can score with, and the
// totals they belong to, for runs over many messages (test, stats): one
// cursor scan under the shared lock, then the file is free again for
// training, and lookups from any number of goroutines need no lock at all.
// A snapshot does not see later training.
type Snapshot struct {
	words  *countTable
	totals bayes.Totals
	// The default classifier's part: feature counts, their totals, and the
	// regression's weights (nil when it never learned).
	features      *countTable
	featureTotals bayes.Totals
	weights       *logreg.Model
}

// Snapshot copies SpamOracle's words: every word whose weight (2·good +
// spam) is at least minWeight; lookups of the others give zero counts, which
// scoring treats the same way as a word too rare to count. LookupModel on
// it sees an empty default classifier.
func (db *DB) Snapshot(minWeight uint64) (*Snapshot, error) {
	s := &Snapshot{}
	err := db.view(func(tx *bolt.Tx) error {
		t, err := readTotals(tx)
		if err != nil {
			return err
		}
		s.totals = t
		// Most words are too rare to keep: the table starts at a quarter.
		s.words, err = loadCounts(tx, bucketWords, "word", minWeight, 4)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("tokendb: snapshot: %w", err)
	}
	return s, nil
}

// SnapshotModel copies the default classifier's part: its feature counts
// and the regression's weights. Lookup on it sees no words.
func (db *DB) SnapshotModel() (*Snapshot, error) {
	s := &Snapshot{}
	if err := db.view(s.loadModel); err != nil {
		return nil, fmt.Errorf("tokendb: snapshot: %w", err)
	}
	return s, nil
}

// loadModel copies the default classifier's state.
func (s *Snapshot) loadModel(tx *bolt.Tx) error {
	var err error
	if s.featureTotals, err = readTotalsKey(tx, keyFeatureTotals); err != nil {
		return err
	}
	if s.features, err = loadCounts(tx, bucketFeatures, "feature", 0, 1); err != nil {
		return err
	}
	m := tx.Bucket(bucketModel)
	if m == nil {
		return fmt.Errorf("%w: no model bucket", ErrCorrupt)
	}
	v := m.Get(keyWeights)
	if v == nil {
		return nil
	}
	if len(v) != weightsSize {
		return fmt.Errorf("%w: weights of %d bytes", ErrCorrupt, len(v))
	}
	s.weights = logreg.New(Regression)
	populate(s.weights.W)
	for i := range s.weights.W {
		s.weights.W[i] = math.Float32frombits(binary.LittleEndian.Uint32(v[4*i:]))
	}
	return nil
}

// loadCounts copies the counts of the tokens in bucket name (each a
// what: "word" or "feature") whose weight is at least minWeight, into a
// table first sized for one in every share of them.
func loadCounts(tx *bolt.Tx, name []byte, what string, minWeight uint64, share int) (*countTable, error) {
	b := tx.Bucket(name)
	if b == nil {
		return nil, fmt.Errorf("%w: no %ss bucket", ErrCorrupt, what)
	}
	load := newTableLoader(b.Stats().KeyN / share)
	cur := b.Cursor()
	for k, v := cur.First(); k != nil; k, v = cur.Next() {
		c, err := decodeCounts(v)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", what, k, err)
		}
		if c.Weight() >= minWeight {
			load.add(k, c)
		}
	}
	return load.table(), nil
}

// LookupModel is DB.LookupModel from the snapshot. It is safe for
// concurrent use.
func (s *Snapshot) LookupModel(features []string, out []bayes.Counts, hashed []uint32) (Evidence, error) {
	if len(out) < len(features) {
		return Evidence{}, fmt.Errorf("tokendb: snapshot lookup: %d results for %d features", len(out), len(features))
	}
	for i, f := range features {
		out[i] = s.features.get(f)
	}
	return s.evidence(hashed)
}

// LookupModelKeys is LookupModel for features given by their
// tokenize.Key, as tokenize.DistinctKeys gives them.
func (s *Snapshot) LookupModelKeys(keys []uint64, out []bayes.Counts, hashed []uint32) (Evidence, error) {
	if len(out) < len(keys) {
		return Evidence{}, fmt.Errorf("tokendb: snapshot lookup: %d results for %d features", len(out), len(keys))
	}
	for i, k := range keys {
		out[i] = s.features.getKey(k)
	}
	return s.evidence(hashed)
}

// evidence completes a lookup with the totals and the margin over hashed.
func (s *Snapshot) evidence(hashed []uint32) (Evidence, error) {
	ev := Evidence{Totals: s.featureTotals}
	if s.weights != nil {
		for _, i := range hashed {
			if int(i) >= len(s.weights.W) {
				return Evidence{}, fmt.Errorf("tokendb: feature index %d out of range", i)
			}
		}
		ev.Margin = s.weights.Margin(hashed)
	}
	return ev, nil
}

// Lookup fills out[i] with the counts of words[i] and returns the totals.
// It is safe for concurrent use.
func (s *Snapshot) Lookup(words []string, out []bayes.Counts) (bayes.Totals, error) {
	if len(out) < len(words) {
		return bayes.Totals{}, fmt.Errorf("tokendb: snapshot lookup: %d results for %d words", len(out), len(words))
	}
	for i, w := range words {
		out[i] = s.words.get(w)
	}
	return s.totals, nil
}

// Len is the number of words held.
func (s *Snapshot) Len() int { return s.words.len() }
