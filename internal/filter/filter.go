// Package filter is the spam filter as the commands use it: one raw message
// in, a verdict with its explanation out, and the marked message that mark
// writes.
//
// Data flows from the raw bytes through mail.Parse and the tokenizer to one
// of two classifiers. The default one (Fused) takes the header-aware
// features of the message and its hashed 4-grams, looks up their counts and
// the regression's margin in the Store, and mixes Robinson-Fisher with
// logistic regression. SpamOracle's takes its word rules, looks up every
// word, and scores with bayes.Params. Mark then inserts the verdict and the
// attachment summary as header lines into the original bytes, leaving every
// other byte as it was.
//
// The filter holds no state between messages and is safe for concurrent use
// when its Store is. Training is not here: the commands hash and tokenize a
// message with the same functions and hand the words to the token database.
package filter

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/mailsift/mailsift/internal/bayes"
	"github.com/mailsift/mailsift/internal/mail"
	"github.com/mailsift/mailsift/internal/tokendb"
	"github.com/mailsift/mailsift/internal/tokenize"
)

// Store is what the filter needs from a token database. Lookup fills
// out[i] with the counts of SpamOracle's words[i] (zero for an unknown word)
// and returns the message totals that those counts belong to; LookupModel
// does the same for the default classifier's features and adds the
// regression's margin over hashed. Both may block briefly while another
// process writes the database.
type Store interface {
	Lookup(words []string, out []bayes.Counts) (bayes.Totals, error)
	LookupModel(features []string, out []bayes.Counts, hashed []uint32) (tokendb.Evidence, error)
}

var (
	_ Store = (*tokendb.DB)(nil)
	_ Store = (*tokendb.Snapshot)(nil)
)

// Filter classifies messages.
type Filter struct {
	// Classifier is Default or SpamOracle; empty means Default.
	Classifier string
	Params     bayes.Params // SpamOracle's parameters
	Fused      Fused        // the default classifier's parameters
	Tokens     tokenize.Options
	Store      Store
	// Reassemble turns on SpamOracle's reassembly of s p a c e d words
	// against the words the Store holds.
	Reassemble bool
}

// Verdict is the outcome for one message, with what the commands print
// about it.
type Verdict struct {
	bayes.Result
	From        string        // decoded From: values, joined by newlines
	Subject     string        // decoded Subject: values, joined by newlines
	Attachments string        // SpamOracle's attachment summary
	Defects     []mail.Defect // what was wrong with the message
}

// Name is the classifier in use: Default or SpamOracle.
func (f *Filter) Name() string {
	if f.Classifier == SpamOracle {
		return SpamOracle
	}
	return Default
}

// Classify parses and scores one raw message.
func (f *Filter) Classify(raw []byte) (Verdict, error) {
	return f.ClassifyMessage(mail.Parse(raw))
}

// ClassifyMessage scores a parsed message.
func (f *Filter) ClassifyMessage(m *mail.Message) (Verdict, error) {
	v := Verdict{
		From:        joinDecoded(m.Header(), "From"),
		Subject:     joinDecoded(m.Header(), "Subject"),
		Attachments: AttachmentSummary(m),
	}
	var err error
	if f.Classifier == SpamOracle {
		opts := f.Tokens
		if f.Reassemble {
			opts.Known = f.known
		}
		toks, defects := opts.Message(m)
		v.Defects = append(append([]mail.Defect(nil), m.Defects...), defects...)
		v.Result, err = f.Score(toks)
		return v, err
	}
	sc := scratchPool.Get().(*scratch)
	defer sc.release()
	all := f.Tokens.AppendFeatures(sc.features, m)
	sc.filled = len(all)
	sc.features, sc.keys = tokenize.DistinctKeys(all, sc.keys)
	sc.hashed = tokendb.Regression.AppendDistinct(sc.hashed, sc.features, m.Raw)
	sc.counts = slices.Grow(sc.counts, len(sc.features))[:len(sc.features)]
	v.Defects = m.Defects
	v.Result, err = f.score(sc.features, sc.keys, sc.hashed, sc.counts)
	return v, err
}

// scratch holds the slices of one classification, reused through
// scratchPool: a mail's features, hashes and counts are most of what
// classifying it allocates.
type scratch struct {
	features []string
	filled   int      // how much of features held strings before DistinctKeys shortened it
	keys     []uint64 // the features' tokenize.Key
	hashed   []uint32
	counts   []bayes.Counts
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// release empties sc, letting go of the features' strings, and puts it
// back in the pool. Only the part that held strings is cleared: the rest
// was cleared by an earlier release.
func (sc *scratch) release() {
	clear(sc.features[:sc.filled])
	sc.features, sc.keys, sc.hashed, sc.counts = sc.features[:0], sc.keys[:0], sc.hashed[:0], sc.counts[:0]
	scratchPool.Put(sc)
}

// ScoreFeatures decides on a message with the default classifier, from its
// distinct features and their hashes.
func (f *Filter) ScoreFeatures(features []string, hashed []uint32) (bayes.Result, error) {
	return f.score(features, nil, hashed, make([]bayes.Counts, len(features)))
}

// keyedStore is a Store that also looks features up by their
// tokenize.Key (a tokendb.Snapshot), which spares hashing them again.
type keyedStore interface {
	LookupModelKeys(keys []uint64, out []bayes.Counts, hashed []uint32) (tokendb.Evidence, error)
}

var _ keyedStore = (*tokendb.Snapshot)(nil)

// score is ScoreFeatures with counts, as long as features, to fill, and
// the features' keys if known (nil if not).
func (f *Filter) score(features []string, keys []uint64, hashed []uint32, counts []bayes.Counts) (bayes.Result, error) {
	var ev tokendb.Evidence
	var err error
	if ks, ok := f.Store.(keyedStore); ok && keys != nil {
		ev, err = ks.LookupModelKeys(keys, counts, hashed)
	} else {
		ev, err = f.Store.LookupModel(features, counts, hashed)
	}
	if err != nil {
		return bayes.Result{}, fmt.Errorf("filter: %w", err)
	}
	return f.Fused.Score(features, counts, ev), nil
}

// TrainingDoc is what the token database learns from the raw message:
// its hash (without the headers named in ignore, the ones mark adds, so
// that a marked copy is the same message), SpamOracle's words and the
// default classifier's features and their hashes.
func TrainingDoc(raw []byte, tok tokenize.Options, ignore ...string) tokendb.Doc {
	words, features, _ := tok.WordsAndFeatures(mail.Parse(raw))
	features = tokenize.Distinct(features)
	return tokendb.NewDoc(Hash(raw, ignore...), words).WithFeatures(features, Hashed(features, raw))
}

// Hashed returns the regression's indices of a message with features
// (repeats allowed) and raw bytes.
func Hashed(features []string, raw []byte) []uint32 {
	return tokendb.Regression.Features(features, raw)
}

// Score decides on a message from its tokens, in stream order with repeats,
// as the tokenizer gives them.
func (f *Filter) Score(toks []string) (bayes.Result, error) {
	counts, totals, err := f.lookup(toks)
	if err != nil {
		return bayes.Result{}, fmt.Errorf("filter: %w", err)
	}
	return f.Params.Score(toks, counts, totals), nil
}

// lookup returns the counts of every token. Repeated tokens are looked up
// again: that costs less than building a set of the distinct ones.
func (f *Filter) lookup(toks []string) ([]bayes.Counts, bayes.Totals, error) {
	counts := make([]bayes.Counts, len(toks))
	totals, err := f.Store.Lookup(toks, counts)
	return counts, totals, err
}

// known reports whether the store holds a word with enough weight to be
// scored; reassembly only joins letters into such words.
func (f *Filter) known(w string) bool {
	var out [1]bayes.Counts
	t, err := f.Store.Lookup([]string{w}, out[:])
	if err != nil {
		return false
	}
	_, ok := f.Params.WordProb(out[0], t)
	return ok
}

func joinDecoded(h mail.Header, name string) string {
	vs := h.Values(name)
	for i, v := range vs {
		vs[i] = mail.DecodeWords(v)
	}
	return strings.Join(vs, "\n")
}

// Hash identifies a message in the training ledger. It is the SHA-256 of
// the message with line endings made LF, without an mbox envelope line, and
// without the header fields named in ignore (the ones mark adds), so that a
// message is the same whether it comes from an mbox, a Maildir, or a folder
// of marked mail.
func Hash(raw []byte, ignore ...string) [32]byte {
	h := sha256.New()
	inHeader, skipping := true, false
	for first := true; len(raw) > 0; first = false {
		line := raw
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			line = raw[:i+1]
		}
		raw = raw[len(line):]
		if first && bytes.HasPrefix(line, []byte("From ")) {
			continue
		}
		content := bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		if inHeader {
			switch {
			case len(content) == 0:
				inHeader = false
			case content[0] == ' ' || content[0] == '\t':
				if skipping {
					continue
				}
			default:
				skipping = false
				for _, name := range ignore {
					if len(content) > len(name) && content[len(name)] == ':' && strings.EqualFold(string(content[:len(name)]), name) {
						skipping = true
					}
				}
				if skipping {
					continue
				}
			}
		}
		h.Write(content)
		if line[len(line)-1] == '\n' {
			h.Write([]byte{'\n'})
		}
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return sum
}
