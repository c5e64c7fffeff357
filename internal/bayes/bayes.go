// Package bayes is the classifier's arithmetic: from the counts of a
// message's words in the trained ham and spam, to a spam probability, a
// verdict, and the words that decided it.
//
// Data flows in one direction. The caller tokenizes a message, looks its
// words up in a token store, and hands both to Params.Score, which computes
// each word's probability (SpamOracle's Graham-style formula, optionally with
// Robinson's correction), keeps the most interesting words, combines them
// (Graham's Bayes product, or chi-square) and applies the verdict thresholds.
//
// Nothing here does I/O or keeps state between messages; the Params are the
// whole configuration. A store trained on one class only gives an unknown
// verdict with the neutral score 0.5, never NaN.
package bayes

import (
	"math"
	"strconv"
	"strings"
)

// Verdict is the filter's decision.
type Verdict string

const (
	Ham     Verdict = "no"
	Spam    Verdict = "yes"
	Unknown Verdict = "unknown"
)

// Params are SpamOracle's scoring parameters, under its names. The zero
// value is not useful; start from DefaultParams.
type Params struct {
	NumMeaningfulWords int     // words kept to decide (num_meaningful_words)
	MaxRepetitions     int     // times one word may be kept (max_repetitions)
	LowFreqLimit       float64 // lowest word probability (low_freq_limit)
	HighFreqLimit      float64 // highest word probability (high_freq_limit)
	MinMeaningfulWords int     // words needed for a yes/no verdict (min_meaningful_words)
	GoodMailProb       float64 // at or below: ham (good_mail_prob)
	SpamMailProb       float64 // at or above: spam (spam_mail_prob)
	RobinsonS          float64 // strength of the prior; 0 turns Robinson's correction off (robinson_s)
	RobinsonX          float64 // the prior for a word seen little (robinson_x)
	UseChiSquare       bool    // combine with chi-square instead of Graham's product (use_chi_square)
	MinWordWeight      uint64  // a word counts when 2·good + spam reaches this
}

// DefaultParams are SpamOracle's defaults.
func DefaultParams() Params {
	return Params{
		NumMeaningfulWords: 15,
		MaxRepetitions:     2,
		LowFreqLimit:       0.01,
		HighFreqLimit:      0.99,
		MinMeaningfulWords: 5,
		GoodMailProb:       0.2,
		SpamMailProb:       0.8,
		RobinsonS:          0,
		RobinsonX:          0.5,
		MinWordWeight:      5,
	}
}

// Word is a word that took part in a decision, with its probability.
type Word struct {
	Text string  `json:"word"`
	P    float64 `json:"p"`
}

// Result is the outcome of scoring one message.
type Result struct {
	Score   float64 `json:"score"`
	Verdict Verdict `json:"verdict"`
	Words   []Word  `json:"words"`
	// Reason says why the verdict is unknown when it is not for lack of
	// evidence in the message itself (for example an untrained class).
	Reason string `json:"reason,omitempty"`
}

// WordProb is the spam probability of a word with counts c, given the
// message totals t. ok is false when the word is not interesting enough
// to count (2·good + spam below MinWordWeight) or a class is empty.
func (p Params) WordProb(c Counts, t Totals) (prob float64, ok bool) {
	if c.Weight() < p.MinWordWeight || t.Good == 0 || t.Spam == 0 {
		return 0.5, false
	}
	pgood := math.Min(1, 2*float64(c.Good)/float64(t.Good))
	pbad := math.Min(1, float64(c.Spam)/float64(t.Spam))
	prob = pbad / (pgood + pbad)
	if p.RobinsonS != 0 {
		n := float64(c.Weight())
		prob = (p.RobinsonS*p.RobinsonX + n*prob) / (p.RobinsonS + n)
	}
	return math.Max(p.LowFreqLimit, math.Min(p.HighFreqLimit, prob)), true
}

// Score decides on a message from its tokens (in stream order, with
// repeats) and the counts of each token (counts[i] belongs to tokens[i]).
func (p Params) Score(tokens []string, counts []Counts, t Totals) Result {
	if t.Good == 0 || t.Spam == 0 {
		return Result{Score: 0.5, Verdict: Unknown, Words: []Word{}, Reason: "the database holds no " + emptyClass(t)}
	}
	words := p.interesting(tokens, counts, t)
	var score float64
	if p.UseChiSquare {
		score = chiSquare(words, p.NumMeaningfulWords)
	} else {
		score = graham(words)
	}
	return Result{Score: score, Verdict: p.verdict(score, len(words)), Words: words}
}

func emptyClass(t Totals) string {
	switch {
	case t.Good == 0 && t.Spam == 0:
		return "trained mail"
	case t.Good == 0:
		return "good mail"
	}
	return "spam"
}

// interesting keeps the NumMeaningfulWords words farthest from 0.5, in
// SpamOracle's way: tokens are taken in stream order, each goes before the
// first kept word strictly closer to 0.5 (so ties keep arrival order), and
// a word already kept MaxRepetitions times is passed over.
func (p Params) interesting(tokens []string, counts []Counts, t Totals) []Word {
	kept := make([]Word, 0, p.NumMeaningfulWords+1)
	for i, tok := range tokens {
		prob, ok := p.WordProb(counts[i], t)
		if !ok {
			continue
		}
		dist := math.Abs(prob - 0.5)
		if dist == 0 {
			continue
		}
		if len(kept) == p.NumMeaningfulWords && math.Abs(kept[len(kept)-1].P-0.5) >= dist {
			continue // no kept word is closer to 0.5: it cannot get in
		}
		reps := 0
		for _, w := range kept {
			if w.Text == tok {
				reps++
			}
		}
		if reps >= p.MaxRepetitions {
			continue
		}
		at := len(kept)
		for j, w := range kept {
			if math.Abs(w.P-0.5) < dist {
				at = j
				break
			}
		}
		if at >= p.NumMeaningfulWords {
			continue
		}
		kept = append(kept, Word{})
		copy(kept[at+1:], kept[at:])
		kept[at] = Word{Text: tok, P: prob}
		if len(kept) > p.NumMeaningfulWords {
			kept = kept[:p.NumMeaningfulWords]
		}
	}
	return kept
}

// graham is P = ∏p / (∏p + ∏(1-p)), computed in logarithms so that long
// products do not underflow. No words give 0.5.
func graham(words []Word) float64 {
	var lp, lq float64
	for _, w := range words {
		lp += math.Log(w.P)
		lq += math.Log(1 - w.P)
	}
	return 1 / (1 + math.Exp(lq-lp))
}

// chiSquare is SpamOracle's chi-square combination over slots slots, the
// kept words plus neutral 0.5 fillers: P = (1 + C(∏p) - C(∏(1-p))) / 2 with
// C(x) = min(1, Σ_{i=0..n} e^-m m^i / i!), m = -ln x, n = slots. (Fisher's
// method sums i = 0..n-1; SpamOracle's n+1 terms are kept for compatibility.)
func chiSquare(words []Word, slots int) float64 {
	var lp, lq float64
	for _, w := range words {
		lp += math.Log(w.P)
		lq += math.Log(1 - w.P)
	}
	if fill := slots - len(words); fill > 0 {
		lp += float64(fill) * math.Log(0.5)
		lq += float64(fill) * math.Log(0.5)
	}
	return (1 + chiC(-lp, slots) - chiC(-lq, slots)) / 2
}

func chiC(m float64, n int) float64 {
	term := math.Exp(-m)
	sum := term
	for i := 1; i <= n; i++ {
		term *= m / float64(i)
		sum += term
	}
	return math.Min(1, sum)
}

func (p Params) verdict(score float64, n int) Verdict {
	switch {
	case n >= p.MinMeaningfulWords && score <= p.GoodMailProb:
		return Ham
	case n >= p.MinMeaningfulWords && score >= p.SpamMailProb:
		return Spam
	}
	return Unknown
}

// Explain formats the words as SpamOracle does: "word:NN " for each, where NN
// is the probability times 100 truncated to two digits (0.99 is 99, 0.01 is
// 01), every item followed by a space.
func Explain(words []Word) string {
	var sb strings.Builder
	for _, w := range words {
		sb.WriteString(w.Text)
		sb.WriteByte(':')
		n := int(w.P * 100)
		if n < 10 {
			sb.WriteByte('0')
		}
		sb.WriteString(strconv.Itoa(n))
		sb.WriteByte(' ')
	}
	return sb.String()
}
