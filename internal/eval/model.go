package eval

import (
	"github.com/mailsift/mailsift/internal/bayes"
	"github.com/mailsift/mailsift/internal/logreg"
	"github.com/mailsift/mailsift/internal/tokendb"
)

// Model holds what a training run learned, in memory. It serves lookups
// like the token database does (it is a filter.Store), so an evaluation
// scores exactly as mark and test do, without a file.
type Model struct {
	words         map[string]bayes.Counts
	totals        bayes.Totals
	features      map[string]bayes.Counts
	featureTotals bayes.Totals
	regression    *logreg.Model
	// Without Online, the regression is fitted as the token database fits
	// it, from all examples, when a lookup follows training.
	Online   bool
	params   logreg.Params
	keys     [][32]byte
	examples []logreg.Example
	index    map[[32]byte]int
	fitted   bool
}

// NewModel returns an empty model whose regression learns with p.
func NewModel(p logreg.Params) *Model {
	return &Model{
		words:      make(map[string]bayes.Counts),
		features:   make(map[string]bayes.Counts),
		regression: logreg.New(p),
		params:     p,
		index:      make(map[[32]byte]int),
		fitted:     true,
	}
}

// Train counts one message's SpamOracle tokens (with repeats) in its class.
func (m *Model) Train(tokens []string, spam bool) {
	count(m.words, &m.totals, tokens, spam)
}

// TrainFeatures teaches the default classifier one message, known by its
// ledger hash: its distinct features are counted, and the regression learns
// it (at once when Online, else at the next lookup).
func (m *Model) TrainFeatures(hash [32]byte, features []string, hashed []uint32, spam bool) {
	count(m.features, &m.featureTotals, features, spam)
	if m.Online {
		m.regression.Train(hashed, spam)
		return
	}
	m.index[hash] = len(m.keys)
	m.keys = append(m.keys, hash)
	m.examples = append(m.examples, logreg.Example{Idx: hashed, Spam: spam, Repeat: 1})
	m.fitted = false
}

// Reinforce makes the regression learn a trained message once more,
// leaving the counts alone, as tokendb.Batch.Reinforce does.
func (m *Model) Reinforce(hash [32]byte) {
	if i, ok := m.index[hash]; ok {
		m.examples[i].Repeat++
		m.fitted = false
	}
}

// Fit fits the regression if training changed it; lookups call it too.
func (m *Model) Fit() {
	if m.fitted {
		return
	}
	r, _ := logreg.Fit(m.params, m.keys, func(i int, _ []uint32) (logreg.Example, error) { return m.examples[i], nil })
	m.regression, m.fitted = r, true
}

func count(into map[string]bayes.Counts, t *bayes.Totals, tokens []string, spam bool) {
	for _, w := range tokens {
		c := into[w]
		if spam {
			c.Spam++
		} else {
			c.Good++
		}
		into[w] = c
	}
	if spam {
		t.Spam++
	} else {
		t.Good++
	}
}

// Lookup fills out[i] with the counts of words[i] and returns the totals.
// It must not run concurrently with training.
func (m *Model) Lookup(words []string, out []bayes.Counts) (bayes.Totals, error) {
	for i, w := range words {
		out[i] = m.words[w]
	}
	return m.totals, nil
}

// LookupModel is tokendb.DB.LookupModel from memory.
func (m *Model) LookupModel(features []string, out []bayes.Counts, hashed []uint32) (tokendb.Evidence, error) {
	m.Fit()
	for i, f := range features {
		out[i] = m.features[f]
	}
	return tokendb.Evidence{Totals: m.featureTotals, Margin: m.regression.Margin(hashed)}, nil
}
