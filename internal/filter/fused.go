package filter

import (
	"fmt"
	"math"

	"github.com/mailsift/mailsift/internal/bayes"
	"github.com/mailsift/mailsift/internal/tokendb"
)

// The classifiers a Filter can use.
const (
	// Default is Fused: Robinson-Fisher and logistic regression together.
	Default = "default"
	// SpamOracle is SpamOracle's scoring of its own words, unchanged.
	SpamOracle = "spamoracle"
)

// Fused is the default classifier. Robinson-Fisher scores the distinct
// header-aware features of a message, on-line logistic regression scores
// its hashed features, and the two are mixed in log-odds:
//
//	z = (1-Weight)·logit(fisher) + Weight·margin,  P = 1/(1+e^-z)
//
// With Weight 0 it is Fisher alone, with Weight 1 the regression alone;
// docs/accuracy.md has the measurements that chose 0.8.
type Fused struct {
	Fisher     bayes.Fisher
	Weight     float64 // the regression's share of the log-odds
	HamCutoff  float64 // at or below: ham
	SpamCutoff float64 // at or above: spam
	// MinTrain is how many messages of each class the classifier must have
	// learned before it gives a verdict other than unknown.
	MinTrain uint32
}

// DefaultFused returns the measured defaults.
func DefaultFused() Fused {
	return Fused{Fisher: bayes.DefaultFisher(), Weight: 0.8, HamCutoff: 0.1, SpamCutoff: 0.9, MinTrain: 10}
}

// maxLogOdds bounds each classifier's say: a Fisher score of exactly 0 or
// 1 must not outvote everything else.
const maxLogOdds = 20

// Score decides on a message from the counts of its distinct features and
// the regression's evidence.
func (f Fused) Score(features []string, counts []bayes.Counts, ev tokendb.Evidence) bayes.Result {
	t := ev.Totals
	if t.Good < max(f.MinTrain, 1) || t.Spam < max(f.MinTrain, 1) {
		return bayes.Result{Score: 0.5, Verdict: bayes.Unknown, Words: []bayes.Word{},
			Reason: tooLittle(t, max(f.MinTrain, 1))}
	}
	fisher := f.Fisher
	fisher.MinTrain = 1
	r := fisher.Score(features, counts, t)
	z := (1-f.Weight)*clampedLogit(r.Score) + f.Weight*math.Max(-maxLogOdds, math.Min(maxLogOdds, ev.Margin))
	r.Score = 1 / (1 + math.Exp(-z))
	r.Verdict = bayes.Unknown
	switch {
	case r.Score >= f.SpamCutoff:
		r.Verdict = bayes.Spam
	case r.Score <= f.HamCutoff:
		r.Verdict = bayes.Ham
	}
	return r
}

func clampedLogit(p float64) float64 {
	if p <= 0 || p >= 1 {
		return math.Copysign(maxLogOdds, p-0.5)
	}
	return math.Max(-maxLogOdds, math.Min(maxLogOdds, math.Log(p/(1-p))))
}

// tooLittle says why a classifier that learned t gives no verdict.
func tooLittle(t bayes.Totals, need uint32) string {
	return fmt.Sprintf("trained on %d good and %d spam mails; the default classifier needs %d of each", t.Good, t.Spam, need)
}
