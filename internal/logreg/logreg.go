// Package logreg is on-line logistic regression over hashed features, the
// discriminative learner of the TREC spam tracks.
//
// A message becomes a set of feature indices: the header-aware tokens of
// package tokenize and the overlapping 4-byte strings of the start of the
// raw message, each hashed into a table of 2^Bits weights. The spam
// probability is the logistic function of the sum of the weights of the
// indices present; training is one gradient step on the log loss. Counts
// are binary, so a word repeated a hundred times weighs as much as one.
//
// Fit trains from a set of examples the way the token database does after
// every change: several passes in pseudo-random orders, averaged, so the
// result depends on the examples and not on the order they were trained
// in, and untraining a message is exact (it is simply left out).
//
// The hash is FNV-1a, fixed here forever: stored weights are addressed by
// it, and a change would silently scramble every trained database.
package logreg

import (
	"bytes"
	"cmp"
	"math"
	"math/bits"
	"runtime"
	"slices"
	"sync"
)

// Params shape the features and the learning.
type Params struct {
	Bits  uint    // log2 of the table size
	Rate  float64 // learning rate of a gradient step
	Grams int     // bytes of the raw message read for 4-grams (0: none)
}

// DefaultParams are the measured defaults (docs/accuracy.md).
func DefaultParams() Params { return Params{Bits: 20, Rate: 0.01, Grams: 3000} }

// Model is a table of weights. It is not safe for concurrent updates;
// concurrent Score calls on an unchanging model are fine.
type Model struct {
	Params
	W []float32
}

// New returns a model with all weights zero (every message scores 0.5).
func New(p Params) *Model { return &Model{Params: p, W: make([]float32, 1<<p.Bits)} }

// Margin is the sum of the weights of the features idx.
func (m *Model) Margin(idx []uint32) float64 {
	var s float64
	for _, i := range idx {
		s += float64(m.W[i])
	}
	return s
}

// Score is the spam probability of a message with features idx.
func (m *Model) Score(idx []uint32) float64 { return sigmoid(m.Margin(idx)) }

// Train takes one gradient step towards the label.
func (m *Model) Train(idx []uint32, spam bool) {
	y := 0.0
	if spam {
		y = 1
	}
	m.step(idx, (y-m.Score(idx))*m.Rate)
}

func (m *Model) step(idx []uint32, g float64) {
	d := float32(g)
	for _, i := range idx {
		m.W[i] += d
	}
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// Features hashes a message into distinct, sorted indices: the tokens
// (already header-aware) and the 4-grams of the first p.Grams bytes of the
// raw message. An mbox envelope line and carriage returns are left out, so
// that a message hashes the same from an mbox, a Maildir or a pipe.
//
// Up to bitmapBits bits the indices are marked in a bitmap and read back
// in order, which for the few thousand of a message is twice as fast as
// sorting them; wider tables sort.
func (p Params) Features(tokens []string, raw []byte) []uint32 {
	return p.AppendFeatures(nil, tokens, raw)
}

// AppendFeatures is Features appending to dst (which it may reorder when
// the table is wider than the bitmap), so that a caller can reuse one
// slice from message to message.
func (p Params) AppendFeatures(dst []uint32, tokens []string, raw []byte) []uint32 {
	mask := uint32(1)<<p.Bits - 1
	text := prefix(raw, p.Grams)
	if p.Bits > bitmapBits {
		out := slices.Grow(dst, len(tokens)+len(text))
		start := len(out)
		for _, t := range tokens {
			out = append(out, hashString(offsetToken, t)&mask)
		}
		for i := 0; i+4 <= len(text); i++ {
			out = append(out, hashGram(text[i:i+4])&mask)
		}
		return append(out[:start], slices.Compact(radixSort(out[start:], p.Bits))...)
	}
	bm := bitmaps.Get().(*bitmap)
	marked := 0 // kept in a register: a field would chain every mark through memory
	for _, t := range tokens {
		marked += bm.mark(hashString(offsetToken, t) & mask)
	}
	for i := 0; i+4 <= len(text); i++ {
		marked += bm.mark(hashGram(text[i:i+4]) & mask)
	}
	out := bm.drain(slices.Grow(dst, marked))
	bitmaps.Put(bm)
	return out
}

// AppendDistinct is AppendFeatures without the order: it appends the
// distinct indices in the order they first occur, which is all that
// Margin needs, and spares the pass that sorts them. (For a table wider
// than the bitmap it is AppendFeatures.) Margin's float64 sum of the
// float32 weights may then differ from the sorted order's in its last
// bits.
func (p Params) AppendDistinct(dst []uint32, tokens []string, raw []byte) []uint32 {
	if p.Bits > bitmapBits {
		return p.AppendFeatures(dst, tokens, raw)
	}
	mask := uint32(1)<<p.Bits - 1
	text := prefix(raw, p.Grams)
	grams := max(len(text)-3, 0)
	start := len(dst)
	out := slices.Grow(dst, len(tokens)+grams)[:start+len(tokens)+grams]
	bm := bitmaps.Get().(*bitmap)
	n := start
	for _, t := range tokens {
		v := hashString(offsetToken, t) & mask
		out[n] = v
		n += bm.set(v)
	}
	for i := range grams {
		v := hashGram(text[i:i+4]) & mask
		out[n] = v
		n += bm.set(v)
	}
	out = out[:n]
	for _, v := range out[start:] {
		bm.words[v/64] = 0
	}
	bitmaps.Put(bm)
	return out
}

// bitmapBits is the widest table whose indices Features marks in a bitmap.
const bitmapBits = 20

// bitmap is a set of indices below 2^bitmapBits: a bit for every index,
// and a summary with a bit for every word of them that is not zero. It is
// empty between uses.
type bitmap struct {
	words   [1 << bitmapBits / 64]uint64
	summary [1 << bitmapBits / 64 / 64]uint64
}

var bitmaps = sync.Pool{New: func() any { return new(bitmap) }}

// mark adds v to the set and returns 1 if it was not in it, else 0.
func (b *bitmap) mark(v uint32) int {
	b.summary[v/64/64] |= 1 << (v / 64 % 64)
	return b.set(v)
}

// set adds v to the set without its summary, for a caller that empties
// the words itself, and returns 1 if v was not in it, else 0.
func (b *bitmap) set(v uint32) int {
	old := b.words[v/64]
	b.words[v/64] = old | 1<<(v%64)
	return int(^old >> (v % 64) & 1)
}

// drain appends the indices of the set to out in increasing order and
// empties the set.
func (b *bitmap) drain(out []uint32) []uint32 {
	for i, sw := range b.summary {
		b.summary[i] = 0
		for sw != 0 {
			j := i*64 + bits.TrailingZeros64(sw)
			sw &= sw - 1
			w := b.words[j]
			b.words[j] = 0
			for w != 0 {
				out = append(out, uint32(j*64+bits.TrailingZeros64(w)))
				w &= w - 1
			}
		}
	}
	return out
}

// radixSort sorts indices below 2^bits in two counting passes, several
// times faster than a comparison sort for the few thousand of a message.
func radixSort(a []uint32, bits uint) []uint32 {
	if len(a) < 64 || bits > 22 {
		slices.Sort(a)
		return a
	}
	lo := (bits + 1) / 2
	tmp := make([]uint32, len(a))
	for _, shift := range []uint{0, lo} {
		var count [1 << 11]int
		mask := uint32(1)<<lo - 1
		for _, v := range a {
			count[v>>shift&mask]++
		}
		sum := 0
		for i := range count[:mask+1] {
			count[i], sum = sum, sum+count[i]
		}
		for _, v := range a {
			k := v >> shift & mask
			tmp[count[k]] = v
			count[k]++
		}
		a, tmp = tmp, a
	}
	return a
}

// prefix returns the first n bytes of raw after an envelope line, without
// carriage returns.
func prefix(raw []byte, n int) []byte {
	if bytes.HasPrefix(raw, []byte("From ")) {
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			raw = raw[i+1:]
		} else {
			raw = nil
		}
	}
	if bytes.IndexByte(raw[:min(len(raw), n)], '\r') < 0 {
		return raw[:min(len(raw), n)]
	}
	out := make([]byte, 0, n)
	for _, c := range raw {
		if len(out) == n {
			break
		}
		if c != '\r' {
			out = append(out, c)
		}
	}
	return out
}

// FNV-1a, with a different start for each kind of feature so that the word
// "abcd" and the 4-gram "abcd" land apart.
const (
	prime       = 16777619
	offsetToken = 2166136261
	offsetGram  = offsetToken ^ 0x9e3779b9
)

func hashString(h uint32, s string) uint32 {
	for i := 0; i < len(s); i++ {
		h = (h ^ uint32(s[i])) * prime
	}
	return h
}

func hashBytes(h uint32, b []byte) uint32 {
	for _, c := range b {
		h = (h ^ uint32(c)) * prime
	}
	return h
}

// hashGram is hashBytes(offsetGram, g) for a 4-gram, unrolled.
func hashGram(g []byte) uint32 {
	_ = g[3]
	h := (offsetGram ^ uint32(g[0])) * prime
	h = (h ^ uint32(g[1])) * prime
	h = (h ^ uint32(g[2])) * prime
	return (h ^ uint32(g[3])) * prime
}

// Example is one labelled message for Fit: its features, its class, and
// how many times it is presented in each pass (at least once).
type Example struct {
	Idx    []uint32
	Spam   bool
	Repeat int
}

// Orders is how many presentation orders Fit averages.
const Orders = 8

// Fit trains Orders models, each with one pass over the n examples in its
// own pseudo-random order (by the examples' keys, salted with the model's
// number), and returns their mean. An on-line learner's result depends on
// the order of its last few hundred steps; the mean of several orders
// depends far less, and no longer on the order the user trained in.
//
// The orders are trained on all cores at once, one model of 2^Bits
// weights each, and added up in their order, so the result is the same bit
// for bit on any number of cores. example(i, buf) is called from several
// goroutines at once; buf is scratch it may append the indices to (the Idx
// it returned last time in that goroutine), or it may return an Idx of its
// own that it never changes. A panic in a worker is raised again in the
// caller's goroutine.
func Fit(p Params, keys [][32]byte, example func(i int, buf []uint32) (Example, error)) (*Model, error) {
	out := New(p)
	workers := min(runtime.GOMAXPROCS(0), Orders)
	models := make([]*Model, workers)
	for w := range models {
		models[w] = New(p)
	}
	errs := make([]error, workers)
	panics := make([]any, workers)
	for first := 0; first < Orders; first += workers {
		n := min(workers, Orders-first)
		var wg sync.WaitGroup
		for w := range n {
			wg.Go(func() {
				defer func() { panics[w] = recover() }()
				errs[w] = models[w].fitOrder(first+w, keys, example)
			})
		}
		wg.Wait()
		for w := range n {
			if panics[w] != nil {
				panic(panics[w])
			}
			if errs[w] != nil {
				return nil, errs[w]
			}
			for i, x := range models[w].W {
				out.W[i] += x / Orders
			}
		}
	}
	return out, nil
}

// fitOrder trains m from zero with one pass over the examples in order o.
func (m *Model) fitOrder(o int, keys [][32]byte, example func(i int, buf []uint32) (Example, error)) error {
	clear(m.W)
	perm := make([]int, len(keys))
	salted := make([]uint32, len(keys))
	for i := range keys {
		perm[i] = i
		salted[i] = hashBytes(offsetToken^uint32(o+1)*prime, keys[i][:])
	}
	slices.SortFunc(perm, func(a, b int) int { return cmp.Compare(salted[a], salted[b]) })
	var buf []uint32
	for _, i := range perm {
		ex, err := example(i, buf)
		if err != nil {
			return err
		}
		buf = ex.Idx
		for range max(ex.Repeat, 1) {
			m.Train(ex.Idx, ex.Spam)
		}
	}
	return nil
}
