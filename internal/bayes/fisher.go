package bayes

import (
	"math"
	"sync"
)

// Fisher is Robinson's scoring with Fisher's inverse chi-square
// combination, the method of bogofilter and SpamBayes. Every distinct word
// of a message counts once: its probability is Robinson's f(w), the spam
// frequency of the word pulled towards X by a prior of strength S, and the
// words whose f(w) lies within MinDev of 0.5 are left out. The combined
// score is (1 + H - S') / 2, where H and S' are the chi-square
// probabilities that the words' ham and spam evidence came by chance.
//
// Counts are of messages here, not of occurrences: a word's Counts say in
// how many ham and spam messages it appeared.
type Fisher struct {
	S         float64 // strength of the prior (bogofilter's robs)
	X         float64 // the prior: the probability of an unknown word (robx)
	MinDev    float64 // words with |f(w) - 0.5| below this are ignored (min_dev)
	HamCutoff float64 // at or below: ham
	SpamCut   float64 // at or above: spam
	MinTrain  uint32  // messages each class needs before a verdict other than unknown
	Explain   int     // words kept for the explanation, most decisive first
}

// DefaultFisher returns bogofilter's defaults.
func DefaultFisher() Fisher {
	return Fisher{S: 0.0178, X: 0.52, MinDev: 0.375, HamCutoff: 0.45, SpamCut: 0.99, MinTrain: 1, Explain: 15}
}

// WordProb is Robinson's f(w) for a word seen in c.Good ham and c.Spam
// spam messages, given the message totals.
func (p Fisher) WordProb(c Counts, t Totals) float64 {
	n := float64(c.Good) + float64(c.Spam)
	if n == 0 || t.Good == 0 || t.Spam == 0 {
		return p.X
	}
	bad := float64(c.Spam) / float64(t.Spam)
	good := float64(c.Good) / float64(t.Good)
	pw := bad / (bad + good)
	return (p.S*p.X + n*pw) / (p.S + n)
}

// Score combines the distinct words of a message (words[i] with counts[i];
// repeats are the caller's to remove).
func (p Fisher) Score(words []string, counts []Counts, t Totals) Result {
	if t.Good < max(p.MinTrain, 1) || t.Spam < max(p.MinTrain, 1) {
		return Result{Score: 0.5, Verdict: Unknown, Words: []Word{}, Reason: "the database holds too little " + emptyClass(t)}
	}
	var lnH, lnS float64 // sums of ln f and ln (1-f)
	n := 0
	top := make([]Word, 0, max(p.Explain, 0))
	for i, w := range words {
		f := p.WordProb(counts[i], t)
		if math.Abs(f-0.5) < p.MinDev {
			continue
		}
		f = math.Min(math.Max(f, 1e-12), 1-1e-12)
		lnH += math.Log(f)
		lnS += math.Log(1 - f)
		n++
		top = keepDecisive(top, Word{Text: w, P: f}, p.Explain)
	}
	if n == 0 {
		return Result{Score: 0.5, Verdict: Unknown, Words: []Word{}}
	}
	// H: how likely the spam evidence is by chance; S: the ham evidence.
	h := ChiSquareQ(-2*lnH, 2*n)
	s := ChiSquareQ(-2*lnS, 2*n)
	score := (1 + h - s) / 2
	v := Unknown
	switch {
	case score >= p.SpamCut:
		v = Spam
	case score <= p.HamCutoff:
		v = Ham
	}
	return Result{Score: score, Verdict: v, Words: top}
}

// ChiSquareQ is the probability that a chi-square variable with df degrees
// of freedom (df even) exceeds x: e^(-m) Σ_{i<df/2} m^i/i!, m = x/2. The
// terms are summed relative to the largest one, so that a message of a
// thousand words does not underflow to 0.
func ChiSquareQ(x float64, df int) float64 {
	m := x / 2
	k := df / 2
	if m <= 0 || k <= 0 {
		return 1
	}
	logM := math.Log(m)
	logTerm := func(i int) float64 {
		return -m + float64(i)*logM - logFactorial(i)
	}
	top := logTerm(min(int(m), k-1))
	var sum float64
	for i := range k {
		sum += math.Exp(logTerm(i) - top)
	}
	return math.Min(math.Exp(top)*sum, 1)
}

// logFactorials[i] is ln(i!), as math.Lgamma gives it, for the first
// few thousand i: ChiSquareQ needs one per word of a message.
var logFactorials = sync.OnceValue(func() []float64 {
	t := make([]float64, 4096)
	for i := range t {
		t[i], _ = math.Lgamma(float64(i) + 1)
	}
	return t
})

func logFactorial(i int) float64 {
	if t := logFactorials(); i < len(t) {
		return t[i]
	}
	lg, _ := math.Lgamma(float64(i) + 1)
	return lg
}

// keepDecisive adds w to top, the at most n words farthest from 0.5 seen
// so far in that order, and returns top. Words at the same distance keep
// the order they came in.
func keepDecisive(top []Word, w Word, n int) []Word {
	d := math.Abs(w.P - 0.5)
	at := len(top)
	for at > 0 && math.Abs(top[at-1].P-0.5) < d {
		at--
	}
	if at >= n {
		return top
	}
	if len(top) < n {
		top = append(top, Word{})
	}
	copy(top[at+1:], top[at:len(top)-1])
	top[at] = w
	return top
}
