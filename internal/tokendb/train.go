package tokendb

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/mailsift/mailsift/internal/bayes"
	"github.com/mailsift/mailsift/internal/tokenize"
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
	// Features are the distinct features of the default classifier, each
	// counted once per message, and Hashed the message's indices into the
	// regression's weights. A Doc without either is SpamOracle's only: it
	// leaves the default classifier as it was.
	Features []string
	Hashed   []uint32
}

// NewDoc makes the Doc of one message from its tokens, with repeats, as
// the tokenizer gives them. It keeps each distinct word once, with its
// count, copied into one compact string: the tokens are usually slices of
// the message's decoded text, which a training run should not hold on to.
func NewDoc(hash [32]byte, tokens []string) Doc {
	d := Doc{Hash: hash}
	d.Words, d.Counts = tokenize.Count(tokens)
	compact(d.Words)
	return d
}

// WithFeatures adds the default classifier's view of the message: its
// features (repeats are dropped, the strings copied compactly) and its
// hashed indices.
func (d Doc) WithFeatures(features []string, hashed []uint32) Doc {
	d.Features = tokenize.Distinct(slices.Clone(features))
	compact(d.Features)
	d.Hashed = hashed
	return d
}

// compact copies the strings into one allocation.
func compact(ss []string) {
	size := 0
	for _, w := range ss {
		size += len(w)
	}
	var sb strings.Builder
	sb.Grow(size)
	for _, w := range ss {
		sb.WriteString(w)
	}
	all, off := sb.String(), 0
	for i, w := range ss {
		ss[i] = all[off : off+len(w)]
		off += len(w)
	}
}

// learns tells whether the doc carries the default classifier's view.
func (d *Doc) learns() bool { return len(d.Features) > 0 || len(d.Hashed) > 0 }

// Result counts what a Train or Untrain call did with its docs.
type Result struct {
	Learned   int // trained for the first time
	Moved     int // trained before as the other class, now moved
	Skipped   int // already trained as that class; for Untrain, not in the ledger
	Unlearned int // removed by Untrain
	// Reinforced counts messages trained before as that class that the
	// regression learned from again (Batch.Reinforce).
	Reinforced int
}

// Train applies the docs as class c in one write transaction: all of them or,
// on error or crash, none.
func (db *DB) Train(c Class, docs []Doc) (Result, error) {
	if !c.valid() {
		return Result{}, fmt.Errorf("tokendb: train: invalid class %d", uint8(c))
	}
	res, err := db.apply(run{class: c, docs: docs})
	if err != nil {
		return Result{}, fmt.Errorf("tokendb: train %s: %w", c, err)
	}
	return res, nil
}

// Batch is one training run: mail to learn as ham and mail to learn as
// spam.
type Batch struct {
	Ham, Spam []Doc
	// Reinforce makes the regression learn again from messages the ledger
	// holds as the same class: the passes of train-until-no-error. Their
	// counts are never added twice.
	Reinforce bool
	// counted holds the counts of the docs given to Add.
	counted *tally
}

// Add appends d to the docs of class c. Unless known says that the ledger
// holds the message as c already, it counts it at once, as a new message:
// a caller that adds docs while it still reads mail gets the counting done
// outside the write transaction, and Apply only corrects for the messages
// whose ledger entry turns out otherwise. Ham and Spam must then stay as
// Add left them; docs appended to them directly make Apply count
// everything itself.
func (b *Batch) Add(c Class, d Doc, known bool) {
	t := b.counted
	if t == nil {
		t = newTally()
		b.counted = t
	}
	if c == Ham {
		b.Ham, t.ham = append(b.Ham, d), append(t.ham, !known)
	} else {
		b.Spam, t.spam = append(b.Spam, d), append(t.spam, !known)
	}
	if !known {
		t.count(&d, c, 1)
	}
}

// Apply trains a whole batch in one write transaction, so that a run of
// "train --ham ... --spam ..." is all or nothing.
func (db *DB) Apply(b Batch) (Result, error) {
	pre := b.counted
	if pre == nil || pre.used || b.Reinforce || len(pre.ham) != len(b.Ham) || len(pre.spam) != len(b.Spam) {
		pre = nil
	} else {
		pre.used = true // the corrections change it: a second Apply counts afresh
	}
	hamRun, spamRun := run{Ham, b.Ham, b.Reinforce, nil}, run{Spam, b.Spam, b.Reinforce, nil}
	if pre != nil {
		hamRun.counted, spamRun.counted = pre.ham, pre.spam
	}
	res, err := db.applyCounted(pre, hamRun, spamRun)
	if err != nil {
		return Result{}, fmt.Errorf("tokendb: train: %w", err)
	}
	return res, nil
}

// Untrain removes the docs that the ledger knows, in one write transaction,
// and skips the others.
func (db *DB) Untrain(docs []Doc) (Result, error) {
	res, err := db.apply(run{docs: docs})
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

// counter accumulates the count changes of one bucket. Each key met gets
// an index into keys and deltas (-1 for a key that cannot be stored), so
// counting an occurrence costs one map lookup.
type counter struct {
	index  map[string]int32
	keys   []string
	deltas []delta
}

func newCounter() counter { return counter{index: make(map[string]int32)} }

func (k *counter) add(w string, c Class, n int64) {
	i, ok := k.index[w]
	if !ok {
		i = -1
		if validWord(w) {
			i = int32(len(k.keys))
			k.keys = append(k.keys, w)
			k.deltas = append(k.deltas, delta{})
		}
		k.index[w] = i
	}
	if i >= 0 {
		k.deltas[i].add(c, n)
	}
}

// tally is the count changes of some docs: of their words, their
// features and the message totals.
type tally struct {
	words         counter
	features      counter
	totals        delta
	featureTotals delta
	// ham and spam tell which docs of a Batch Add counted.
	ham, spam []bool
	used      bool // by an Apply
}

func newTally() *tally { return &tally{words: newCounter(), features: newCounter()} }

// count adds n (±1) per occurrence of each storable word of d to class c,
// and n to the message total of c; the same for the features, counted once
// a message, if d has them.
func (t *tally) count(d *Doc, c Class, sign int64) {
	for j, w := range d.Words {
		n := sign
		if d.Counts != nil {
			n *= int64(d.Counts[j])
		}
		t.words.add(w, c, n)
	}
	t.totals.add(c, sign)
	if d.learns() {
		for _, f := range d.Features {
			t.features.add(f, c, sign)
		}
		t.featureTotals.add(c, sign)
	}
}

// batch accumulates the changes of one Train or Untrain call.
type batch struct {
	ledger *bolt.Bucket
	*tally
	// classes overlays the ledger with the changes of this call, so that a
	// message given twice is seen as trained the second time; 0 = deleted.
	classes map[[32]byte]Class
	// vectors are the changes to the stored vectors: a doc to store, or
	// nil to delete; reinforced counts extra presentations.
	vectors    map[[32]byte]*Doc
	reinforced map[[32]byte]int
}

// trainedAs looks a message up in the overlay, then in the ledger.
func (b *batch) trainedAs(h [32]byte) (Class, error) {
	if c, ok := b.classes[h]; ok {
		return c, nil
	}
	return decodeClass(b.ledger.Get(h[:]))
}

// count counts d (sign ±1) as class c and stores or deletes its vector.
func (b *batch) count(d *Doc, c Class, sign int64) {
	b.tally.count(d, c, sign)
	b.vector(d, sign)
}

// learn counts d as class c, unless Batch.Add counted it already, and
// stores its vector.
func (b *batch) learn(d *Doc, c Class, counted bool) {
	if !counted {
		b.tally.count(d, c, 1)
	}
	b.vector(d, 1)
}

// vector stores (sign > 0) or deletes the vector of d, if it has one.
func (b *batch) vector(d *Doc, sign int64) {
	if !d.learns() {
		return
	}
	if sign > 0 {
		b.vectors[d.Hash] = d
	} else {
		b.vectors[d.Hash] = nil
	}
}

// run is a list of docs to train as class, or to untrain when class is 0.
// With reinforce, docs already trained as class teach the regression once
// more (their counts stay as they are).
type run struct {
	class     Class
	docs      []Doc
	reinforce bool
	counted   []bool // nil, or which docs Batch.Add counted as new
}

// apply carries out the runs in order in one write transaction.
func (db *DB) apply(runs ...run) (Result, error) { return db.applyCounted(nil, runs...) }

// applyCounted is apply with the counts of the docs that the runs say
// were counted already in pre (nil: none).
func (db *DB) applyCounted(pre *tally, runs ...run) (Result, error) {
	var res Result
	err := db.update(func(tx *bolt.Tx) (bool, error) {
		res = Result{}
		ledger := tx.Bucket(bucketLedger)
		if ledger == nil {
			return false, fmt.Errorf("%w: missing bucket", ErrCorrupt)
		}
		b := &batch{ledger: ledger, tally: pre, classes: make(map[[32]byte]Class),
			vectors: make(map[[32]byte]*Doc), reinforced: make(map[[32]byte]int)}
		if pre == nil {
			b.tally = newTally()
		}
		for _, r := range runs {
			if err := b.run(r, &res); err != nil {
				return false, err
			}
		}
		if len(b.classes) == 0 && len(b.reinforced) == 0 {
			return false, nil // nothing changed: no commit, same generation
		}
		if err := b.write(tx); err != nil {
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
		counted := r.counted != nil && r.counted[i]
		prev, err := b.trainedAs(d.Hash)
		if err != nil {
			return err
		}
		switch {
		case r.reinforce && c != 0 && prev == c && d.learns():
			b.reinforced[d.Hash]++
			res.Reinforced++
			continue
		case c == 0 && prev == 0, c != 0 && prev == c:
			if counted {
				b.tally.count(d, c, -1) // counted as new: it was not
			}
			res.Skipped++
			continue
		case c == 0:
			b.count(d, prev, -1)
			res.Unlearned++
		case prev == 0:
			b.learn(d, c, counted)
			res.Learned++
		default:
			b.count(d, prev, -1)
			b.learn(d, c, counted)
			res.Moved++
		}
		b.classes[d.Hash] = c
	}
	return nil
}

// write applies the batch to the buckets and meta, in sorted key order.
// The ledger and the vectors go first, so that the regression's fit can
// run on the other cores while the counts are written.
func (b *batch) write(tx *bolt.Tx) error {
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
	fit, err := b.writeVectors(tx)
	if err != nil {
		return err
	}
	if fit != nil {
		// The fit reads the mapped file: it must end before the
		// transaction does, whatever happens here. Its result, error or
		// panic counts only through store.
		defer func() { <-fit.done }()
	}

	if err := b.words.write(tx.Bucket(bucketWords)); err != nil {
		return fmt.Errorf("word %w", err)
	}
	if err := b.features.write(tx.Bucket(bucketFeatures)); err != nil {
		return fmt.Errorf("feature %w", err)
	}
	for _, t := range []struct {
		key []byte
		d   delta
	}{{keyTotals, b.totals}, {keyFeatureTotals, b.featureTotals}} {
		old, err := readTotalsKey(tx, t.key)
		if err != nil {
			return err
		}
		n := bayes.Totals{Good: saturate(old.Good, t.d.good), Spam: saturate(old.Spam, t.d.spam)}
		if err := tx.Bucket(bucketMeta).Put(t.key, encodeTotals(n)); err != nil {
			return err
		}
	}
	if fit != nil {
		if err := fit.store(tx); err != nil {
			return err
		}
	}
	return bumpGeneration(tx)
}

// write applies the counted changes to bucket bk in sorted key order.
func (k *counter) write(bk *bolt.Bucket) error {
	if bk == nil {
		return fmt.Errorf("bucket: %w", ErrCorrupt)
	}
	bk.FillPercent = fillPercent
	order := make([]int32, len(k.keys))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(x, y int32) int { return strings.Compare(k.keys[x], k.keys[y]) })
	for _, i := range order {
		w, d := k.keys[i], k.deltas[i]
		if d == (delta{}) {
			continue // counted ahead and taken back: Batch.Add
		}
		key := []byte(w) // bbolt keeps keys until commit: one allocation each
		old, err := decodeCounts(bk.Get(key))
		if err != nil {
			return fmt.Errorf("%q: %w", w, err)
		}
		n := bayes.Counts{Good: saturate(old.Good, d.good), Spam: saturate(old.Spam, d.spam)}
		switch {
		case n == old:
		case n == bayes.Counts{}:
			err = bk.Delete(key)
		default:
			err = bk.Put(key, encodeCounts(n))
		}
		if err != nil {
			return fmt.Errorf("%q: %w", w, err)
		}
	}
	return nil
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
