package tokendb

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"runtime/debug"
	"slices"

	"github.com/mailsift/mailsift/internal/bayes"
	"github.com/mailsift/mailsift/internal/logreg"
	bolt "go.etcd.io/bbolt"
)

// Regression is the shape of the regression stored in every database:
// its table size and features are part of the file format.
var Regression = logreg.DefaultParams()

// weightsSize is the length of the stored weights, 4 bytes each.
var weightsSize = 4 << Regression.Bits

// writeVectors stores and deletes the batch's vectors and counts their
// reinforcements. When anything changed it starts fitting the regression
// again, which the caller must finish with store, or at least wait for
// (<-done), before the transaction ends; otherwise it returns nil.
func (b *batch) writeVectors(tx *bolt.Tx) (*fitting, error) {
	if len(b.vectors) == 0 && len(b.reinforced) == 0 {
		return nil, nil
	}
	vec := tx.Bucket(bucketVectors)
	if vec == nil {
		return nil, fmt.Errorf("%w: no vectors bucket", ErrCorrupt)
	}
	vec.FillPercent = fillPercent
	hashes := make([][32]byte, 0, len(b.vectors))
	for h := range b.vectors {
		hashes = append(hashes, h)
	}
	slices.SortFunc(hashes, func(x, y [32]byte) int { return slices.Compare(x[:], y[:]) })
	for _, h := range hashes {
		var err error
		if d := b.vectors[h]; d == nil {
			err = vec.Delete(bytes.Clone(h[:]))
		} else {
			err = vec.Put(bytes.Clone(h[:]), encodeVector(1, d.Hashed))
		}
		if err != nil {
			return nil, fmt.Errorf("vectors: %w", err)
		}
	}
	for h, n := range b.reinforced {
		v := vec.Get(h[:])
		if v == nil {
			continue // trained before the database kept vectors
		}
		nv := bytes.Clone(v)
		nv[0] = byte(min(int(nv[0])+n, math.MaxUint8))
		if err := vec.Put(bytes.Clone(h[:]), nv); err != nil {
			return nil, fmt.Errorf("vectors: %w", err)
		}
	}
	return startRefit(tx)
}

// fitting is the regression being fitted again from zero over every stored
// vector, with logreg.Fit, in the background: a message reinforced by
// train-until-no-error is presented as often as it was.
//
// One cursor pass collects the vectors, still encoded, with their classes,
// before the fit starts; Fit decodes them on every core. The slices point
// into the mapped file or the transaction's nodes, which stay put until the
// commit: bbolt maps the file again only when it allocates pages, and the
// nodes of the vectors bucket change only with its keys. So the caller may
// go on writing the other buckets while the fit runs, as long as it waits
// for the fit before the commit or the rollback.
type fitting struct {
	done  chan struct{}
	model *logreg.Model
	err   error
	panic any
}

// startRefit collects the stored vectors and starts the fit.
func startRefit(tx *bolt.Tx) (*fitting, error) {
	vec, ledger := tx.Bucket(bucketVectors), tx.Bucket(bucketLedger)
	if vec == nil || ledger == nil {
		return nil, fmt.Errorf("%w: missing bucket", ErrCorrupt)
	}
	var (
		keys    [][32]byte
		vectors [][]byte
		spam    []bool
	)
	cur := vec.Cursor()
	for k, v := cur.First(); k != nil; k, v = cur.Next() {
		if len(k) != 32 {
			return nil, fmt.Errorf("%w: vector key %x", ErrCorrupt, k)
		}
		if _, err := vectorRepeat(v); err != nil {
			return nil, err
		}
		c, err := decodeClass(ledger.Get(k))
		if err != nil {
			return nil, err
		}
		if c == 0 {
			return nil, fmt.Errorf("%w: vector %x not in the ledger", ErrCorrupt, k)
		}
		keys, vectors, spam = append(keys, [32]byte(k)), append(vectors, v), append(spam, c == Spam)
	}
	f := &fitting{done: make(chan struct{})}
	go func() {
		defer close(f.done)
		defer func() { f.panic = recover() }()
		f.model, f.err = logreg.Fit(Regression, keys, func(i int, buf []uint32) (ex logreg.Example, err error) {
			// Fit's goroutines read the mapped file outside updateGuarded: a
			// fault there must become ErrCorrupt too, not a crash.
			defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("%w: vector %x: %v", ErrCorrupt, keys[i], r)
				}
			}()
			idx, err := decodeVector(vectors[i], buf[:0])
			if err != nil {
				return logreg.Example{}, err
			}
			return logreg.Example{Idx: idx, Spam: spam[i], Repeat: int(vectors[i][0])}, nil
		})
	}()
	return f, nil
}

// store waits for the fit and stores its weights. A panic in the fit is
// raised again here, in the transaction's goroutine.
func (f *fitting) store(tx *bolt.Tx) error {
	<-f.done
	if f.panic != nil {
		panic(f.panic)
	}
	if f.err != nil {
		return f.err
	}
	m := f.model
	model := tx.Bucket(bucketModel)
	if model == nil {
		return fmt.Errorf("%w: no model bucket", ErrCorrupt)
	}
	buf := make([]byte, weightsSize)
	for i, w := range m.W {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(w))
	}
	return model.Put(keyWeights, buf)
}

// encodeVector stores a repeat count and sorted indices as varint gaps,
// about two bytes per index.
func encodeVector(repeat byte, idx []uint32) []byte {
	out := make([]byte, 1, 1+2*len(idx))
	out[0] = repeat
	prev := uint32(0)
	for _, i := range idx {
		out = binary.AppendUvarint(out, uint64(i-prev))
		prev = i
	}
	return out
}

func vectorRepeat(v []byte) (int, error) {
	if len(v) == 0 || v[0] == 0 {
		return 0, fmt.Errorf("%w: bad vector", ErrCorrupt)
	}
	return int(v[0]), nil
}

// decodeVector decodes a stored vector into the indices it holds. Most
// gaps take one or two bytes, and in a big message the two kinds are mixed
// at random: a branch on each byte's length is mispredicted half the time,
// so the common case reads two bytes and picks the gap without one.
func decodeVector(v []byte, into []uint32) ([]uint32, error) {
	limit := uint64(1) << Regression.Bits
	into = slices.Grow(into, max(len(v)-1, 0)) // at most one index a byte
	prev := uint64(0)
	for p := 1; p < len(v); {
		if p+1 < len(v) && v[p]&v[p+1] < 0x80 { // a gap of one or two bytes
			b0, b1 := uint64(v[p]), uint64(v[p+1])
			two := b0 >> 7
			prev += b0&0x7f | b1<<7&-two
			p += 1 + int(two)
		} else {
			gap, n := binary.Uvarint(v[p:])
			if n <= 0 || gap >= limit {
				return nil, fmt.Errorf("%w: bad vector", ErrCorrupt)
			}
			prev += gap
			p += n
		}
		if prev >= limit {
			return nil, fmt.Errorf("%w: bad vector", ErrCorrupt)
		}
		into = append(into, uint32(prev))
	}
	return into, nil
}

// Evidence is what the default classifier reads for one message: the
// message counts of its features, and the regression's margin.
type Evidence struct {
	Totals bayes.Totals // messages the default classifier learned, per class
	Margin float64      // the regression's weighted sum
}

// LookupModel fills out[i] with the message counts of features[i] and
// returns them with the regression's margin over hashed, all read in one
// transaction.
func (db *DB) LookupModel(features []string, out []bayes.Counts, hashed []uint32) (Evidence, error) {
	if len(out) < len(features) {
		return Evidence{}, fmt.Errorf("tokendb: lookup: %d results for %d features", len(out), len(features))
	}
	var ev Evidence
	err := db.view(func(tx *bolt.Tx) error {
		var err error
		if ev.Totals, err = readTotalsKey(tx, keyFeatureTotals); err != nil {
			return err
		}
		if err := lookupBucket(tx.Bucket(bucketFeatures), features, out); err != nil {
			return err
		}
		ev.Margin, err = margin(tx.Bucket(bucketModel), hashed, !db.weightsMapped.Swap(true))
		return err
	})
	if err != nil {
		return Evidence{}, fmt.Errorf("tokendb: lookup: %w", err)
	}
	return ev, nil
}

// margin sums the stored weights at idx, read in place from the file,
// mapping them all in first if mapIn is set.
func margin(bk *bolt.Bucket, idx []uint32, mapIn bool) (float64, error) {
	if bk == nil {
		return 0, fmt.Errorf("%w: no model bucket", ErrCorrupt)
	}
	v := bk.Get(keyWeights)
	if v == nil {
		return 0, nil
	}
	if len(v) != weightsSize {
		return 0, fmt.Errorf("%w: weights of %d bytes", ErrCorrupt, len(v))
	}
	if mapIn {
		populateRead(v)
	}
	var s float64
	for _, i := range idx {
		if int(i) >= len(v)/4 {
			return 0, fmt.Errorf("tokendb: feature index %d out of range", i)
		}
		s += float64(math.Float32frombits(binary.LittleEndian.Uint32(v[4*i:])))
	}
	return s, nil
}
