// Package eval measures a spam classifier the way a user would judge it:
// on labelled mail it was not trained on.
//
// Data flows from Samples (a message's true class, the score the
// classifier gave it and its verdict) to Metrics: the false positive,
// false negative and unsure rates of the verdicts, the area under the ROC
// curve of the scores, and the spam the classifier would miss if its
// threshold were set so that no more than 0.1% of the good mail is lost.
// Plot draws the ROC curve and the score histograms as an SVG that a person
// can look at. Split decides which messages are held out for testing by the
// fixed rule every accuracy figure of the project uses, and Model is the
// word counts of a training run kept in memory, so that an evaluation never
// touches the user's database.
//
// The package does no I/O beyond the writer it is given, and knows nothing
// of mail formats or of how scores are computed.
package eval

import (
	"math"
	"sort"
)

// Sample is one classified test message.
type Sample struct {
	Spam    bool    // the true class
	Score   float64 // higher is spammier
	Verdict int     // +1 spam, -1 ham, 0 unsure
}

// Metrics summarise a test run.
type Metrics struct {
	Ham, Spam int     // test messages of each class
	FP, FN    int     // ham judged spam, spam judged ham
	Unsure    int     // messages judged unsure
	AUC       float64 // ROC area of the scores: P(spam scores above ham), ties halved
	// FNAtFP is the fraction of spam scored at or below the lowest threshold
	// that keeps the ham above it to at most MaxFP of the ham.
	FNAtFP float64
	MaxFP  float64
}

// FPRate, FNRate and UnsureRate are percentages.
func (m Metrics) FPRate() float64     { return pct(m.FP, m.Ham) }
func (m Metrics) FNRate() float64     { return pct(m.FN, m.Spam) }
func (m Metrics) UnsureRate() float64 { return pct(m.Unsure, m.Ham+m.Spam) }

func pct(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return 100 * float64(n) / float64(of)
}

// Summarize computes the metrics of samples, with the FN rate taken at a
// false positive rate of at most maxFP (0.001 for 0.1%).
func Summarize(samples []Sample, maxFP float64) Metrics {
	m := Metrics{MaxFP: maxFP}
	var ham, spam []float64
	for _, s := range samples {
		if s.Spam {
			m.Spam++
			spam = append(spam, s.Score)
			if s.Verdict < 0 {
				m.FN++
			}
		} else {
			m.Ham++
			ham = append(ham, s.Score)
			if s.Verdict > 0 {
				m.FP++
			}
		}
		if s.Verdict == 0 {
			m.Unsure++
		}
	}
	m.AUC = AUC(ham, spam)
	m.FNAtFP = FNAtFP(ham, spam, maxFP)
	return m
}

// AUC is the area under the ROC curve: the probability that a random spam
// scores above a random ham, ties counting one half (the Mann-Whitney
// statistic). It is NaN when a class is empty.
func AUC(ham, spam []float64) float64 {
	if len(ham) == 0 || len(spam) == 0 {
		return math.NaN()
	}
	items := labelled(ham, spam)
	sort.Slice(items, func(i, j int) bool { return items[i].score < items[j].score })
	var rankSum float64
	for i := 0; i < len(items); {
		j := i
		for j+1 < len(items) && items[j+1].score == items[i].score {
			j++
		}
		rank := float64(i+j)/2 + 1 // average 1-based rank of the tie group
		for k := i; k <= j; k++ {
			if items[k].spam {
				rankSum += rank
			}
		}
		i = j + 1
	}
	ns, nh := float64(len(spam)), float64(len(ham))
	return (rankSum - ns*(ns+1)/2) / (ns * nh)
}

// scored is one test message's score and class.
type scored struct {
	score float64
	spam  bool
}

// labelled puts the ham and spam scores into one list.
func labelled(ham, spam []float64) []scored {
	items := make([]scored, 0, len(ham)+len(spam))
	for _, s := range ham {
		items = append(items, scored{s, false})
	}
	for _, s := range spam {
		items = append(items, scored{s, true})
	}
	return items
}

// FNAtFP is the fraction of spam missed at the strictest useful threshold:
// the one where at most maxFP of the ham scores above it (a message is
// called spam when its score is above the threshold).
func FNAtFP(ham, spam []float64, maxFP float64) float64 {
	if len(ham) == 0 || len(spam) == 0 {
		return math.NaN()
	}
	h := append([]float64(nil), ham...)
	sort.Float64s(h)
	// Ham allowed above the threshold.
	allowed := int(math.Floor(maxFP * float64(len(h))))
	threshold := h[len(h)-1-allowed]
	missed := 0
	for _, s := range spam {
		if s <= threshold {
			missed++
		}
	}
	return float64(missed) / float64(len(spam))
}
