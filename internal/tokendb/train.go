package tokendb

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/mailsift/mailsift/internal/bayes"
	bolt "go.etcd.io/bbolt"
)

// Doc is one message to train or untrain: its ledger hash, and its tokens
// with repeats (counted per occurrence). Words that cannot be stored (empty,
// longer than 32768 bytes, or holding a space or a newline, which the backup
// format cannot represent) are ignored.
type Doc struct {
	Hash  [32]byte
	Words []string
	// Counts, when set, holds the occurrences of each entry of Words;
	// without it every entry counts once (and Words may repeat).
	Counts []uint32
}

// NewDoc makes the Doc of one message from its tokens, with repeats, as
// the tokenizer gives them. It keeps each distinct word once, with its
// count, copied into one compact string: the tokens are usually slices of
// the message's decoded text, which a training run should not hold on to.
func NewDoc(hash [32]byte, tokens []string) Doc {
	// Distinct words are far fewer than tokens in a long mail; a map sized
	// to the tokens would mostly be cleared memory.
	index := make(map[string]int, min(len(tokens)/4, 512))
	d := Doc{Hash: hash}
	size := 0
	for _, t := range tokens {
		if i, ok := index[t]; ok {
			d.Counts[i]++
			continue
		}
		index[t] = len(d.Words)
		d.Words = append(d.Words, t)
		d.Counts = append(d.Counts, 1)
		size += len(t)
	}
	var sb strings.Builder
	sb.Grow(size)
	for _, w := range d.Words {
		sb.WriteString(w)
	}
	all, off := sb.String(), 0
	for i, w := range d.Words {
		d.Words[i] = all[off : off+len(w)]
		off += len(w)
	}
	return d
}

// Result counts what a Train or Untrain call did with its docs.
type Result struct {
	Learned   int // trained for the first time
	Moved     int // trained before as the other class, now moved
	Skipped   int // already trained as that class; for Untrain, not in the ledger
	Unlearned int // removed by Untrain
}

// Train applies the docs as class c in one write transaction: all of them or,
// on error or crash, none.
func (db *DB) Train(c Class, docs []Doc) (Result, error) {
	if !c.valid() {
		return Result{}, fmt.Errorf("tokendb: train: invalid class %d", uint8(c))
	}
	res, err := db.apply(run{c, docs})
	if err != nil {
		return Result{}, fmt.Errorf("tokendb: train %s: %w", c, err)
	}
	return res, nil
}

// Batch is one training run: mail to learn as ham and mail to learn as
// spam.
type Batch struct {
	Ham, Spam []Doc
}

// Apply trains a whole batch, ham first, in one write transaction, so that
// a run of "train --ham ... --spam ..." is all or nothing.
func (db *DB) Apply(b Batch) (Result, error) {
	res, err := db.apply(run{Ham, b.Ham}, run{Spam, b.Spam})
	if err != nil {
		return Result{}, fmt.Errorf("tokendb: train: %w", err)
	}
	return res, nil
}

// Untrain removes the docs that the ledger knows, in one write transaction,
// and skips the others.
func (db *DB) Untrain(docs []Doc) (Result, error) {
	res, err := db.apply(run{0, docs})
	if err != nil {
		return Result{}, fmt.Errorf("tokendb: untrain: %w", err)
	}
	return res, nil
}

// TrainedAs tells how the message was trained, if at all.
func (db *DB) TrainedAs(hash [32]byte) (Class, bool, error) {
	var c Class
	err := db.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketLedger)
		if b == nil {
			return fmt.Errorf("%w: no ledger bucket", ErrCorrupt)
		}
		var err error
		c, err = decodeClass(b.Get(hash[:]))
		return err
	})
	if err != nil {
		return 0, false, fmt.Errorf("tokendb: trained as: %w", err)
	}
	return c, c != 0, nil
}

// decodeClass decodes a ledger value; nil (unknown message) is class 0.
func decodeClass(v []byte) (Class, error) {
	if v == nil {
		return 0, nil
	}
	if len(v) != 1 || !Class(v[0]).valid() {
		return 0, fmt.Errorf("%w: bad ledger value %x", ErrCorrupt, v)
	}
	return Class(v[0]), nil
}

// delta is the change of one word's counts (or of the totals) in a call.
type delta struct{ good, spam int64 }

func (d *delta) add(c Class, n int64) {
	if c == Ham {
		d.good += n
	} else {
		d.spam += n
	}
}

// batch accumulates the changes of one Train or Untrain call. Each word
// met gets an index into keys and deltas (-1 for a word that cannot be
// stored), so counting an occurrence costs one map lookup.
type batch struct {
	ledger *bolt.Bucket
	index  map[string]int32
	keys   []string
	deltas []delta
	// classes overlays the ledger with the changes of this call, so that a
	// message given twice is seen as trained the second time; 0 = deleted.
	classes map[[32]byte]Class
	totals  delta
}

// trainedAs looks a message up in the overlay, then in the ledger.
func (b *batch) trainedAs(h [32]byte) (Class, error) {
	if c, ok := b.classes[h]; ok {
		return c, nil
	}
	return decodeClass(b.ledger.Get(h[:]))
}

// count adds n (±1) per occurrence of each storable word to class c, and n
// to the message total of c.
func (b *batch) count(d *Doc, c Class, sign int64) {
	for j, w := range d.Words {
		n := sign
		if d.Counts != nil {
			n *= int64(d.Counts[j])
		}
		i, ok := b.index[w]
		if !ok {
			i = -1
			if validWord(w) {
				i = int32(len(b.keys))
				b.keys = append(b.keys, w)
				b.deltas = append(b.deltas, delta{})
			}
			b.index[w] = i
		}
		if i >= 0 {
			b.deltas[i].add(c, n)
		}
	}
	b.totals.add(c, sign)
}

// run is a list of docs to train as class, or to untrain when class is 0.
type run struct {
	class Class
	docs  []Doc
}

// apply carries out the runs in order in one write transaction.
func (db *DB) apply(runs ...run) (Result, error) {
	var res Result
	err := db.update(func(tx *bolt.Tx) (bool, error) {
		res = Result{}
		words, ledger := tx.Bucket(bucketWords), tx.Bucket(bucketLedger)
		if words == nil || ledger == nil {
			return false, fmt.Errorf("%w: missing bucket", ErrCorrupt)
		}
		b := &batch{ledger: ledger, index: make(map[string]int32), classes: make(map[[32]byte]Class)}
		for _, r := range runs {
			if err := b.run(r, &res); err != nil {
				return false, err
			}
		}
		if len(b.classes) == 0 {
			return false, nil // nothing changed: no commit, same generation
		}
		if err := b.write(tx, words); err != nil {
			return false, err
		}
		return true, nil
	})
	return res, err
}

func (b *batch) run(r run, res *Result) error {
	c := r.class
	for i := range r.docs {
		d := &r.docs[i]
		prev, err := b.trainedAs(d.Hash)
		if err != nil {
			return err
		}
		switch {
		case c == 0 && prev == 0, c != 0 && prev == c:
			res.Skipped++
			continue
		case c == 0:
			b.count(d, prev, -1)
			res.Unlearned++
		case prev == 0:
			b.count(d, c, 1)
			res.Learned++
		default:
			b.count(d, prev, -1)
			b.count(d, c, 1)
			res.Moved++
		}
		b.classes[d.Hash] = c
	}
	return nil
}

// write applies the batch to the buckets and meta, in sorted key order.
func (b *batch) write(tx *bolt.Tx, words *bolt.Bucket) error {
	words.FillPercent = fillPercent
	order := make([]int32, len(b.keys))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(x, y int32) int { return strings.Compare(b.keys[x], b.keys[y]) })
	for _, i := range order {
		w, d := b.keys[i], b.deltas[i]
		k := []byte(w) // bbolt keeps keys until commit: one allocation each
		old, err := decodeCounts(words.Get(k))
		if err != nil {
			return fmt.Errorf("word %q: %w", w, err)
		}
		n := bayes.Counts{Good: saturate(old.Good, d.good), Spam: saturate(old.Spam, d.spam)}
		switch {
		case n == old:
		case n == bayes.Counts{}:
			err = words.Delete(k)
		default:
			err = words.Put(k, encodeCounts(n))
		}
		if err != nil {
			return fmt.Errorf("word %q: %w", w, err)
		}
	}

	hashes := make([][32]byte, 0, len(b.classes))
	for h := range b.classes {
		hashes = append(hashes, h)
	}
	slices.SortFunc(hashes, func(x, y [32]byte) int { return bytes.Compare(x[:], y[:]) })
	b.ledger.FillPercent = fillPercent
	for _, h := range hashes {
		k := bytes.Clone(h[:])
		var err error
		if c := b.classes[h]; c == 0 {
			err = b.ledger.Delete(k)
		} else {
			err = b.ledger.Put(k, []byte{byte(c)})
		}
		if err != nil {
			return fmt.Errorf("ledger: %w", err)
		}
	}

	t, err := readTotals(tx)
	if err != nil {
		return err
	}
	t = bayes.Totals{Good: saturate(t.Good, b.totals.good), Spam: saturate(t.Spam, b.totals.spam)}
	if err := tx.Bucket(bucketMeta).Put(keyTotals, encodeTotals(t)); err != nil {
		return err
	}
	return bumpGeneration(tx)
}

// saturate adds d to v, clamped to [0, 2³²-1].
func saturate(v uint32, d int64) uint32 {
	n := int64(v) + d
	switch {
	case n < 0:
		return 0
	case n > math.MaxUint32:
		return math.MaxUint32
	}
	return uint32(n)
}
