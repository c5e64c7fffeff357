package eval

import "github.com/mailsift/mailsift/internal/bayes"

// Model holds the word counts of a training run in memory. It serves
// lookups like the token database does (it is a filter.Store), so an
// evaluation scores exactly as mark and test do, without a file.
type Model struct {
	words  map[string]bayes.Counts
	totals bayes.Totals
}

// NewModel returns an empty model.
func NewModel() *Model { return &Model{words: make(map[string]bayes.Counts)} }

// Train counts one message's tokens (with repeats) in its class.
func (m *Model) Train(tokens []string, spam bool) {
	for _, t := range tokens {
		c := m.words[t]
		if spam {
			c.Spam++
		} else {
			c.Good++
		}
		m.words[t] = c
	}
	if spam {
		m.totals.Spam++
	} else {
		m.totals.Good++
	}
}

// Lookup fills out[i] with the counts of words[i] and returns the totals.
// It must not run concurrently with Train.
func (m *Model) Lookup(words []string, out []bayes.Counts) (bayes.Totals, error) {
	for i, w := range words {
		out[i] = m.words[w]
	}
	return m.totals, nil
}
