package bayes

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-4 }

// Values observed from SpamOracle (reference section 4.3 and 9.3).
func TestWordProb(t *testing.T) {
	tot := Totals{Good: 4, Spam: 4}
	tests := []struct {
		name string
		p    Params
		c    Counts
		want float64
		ok   bool
	}{
		{"here", DefaultParams(), Counts{Good: 1, Spam: 3}, 0.6, true},
		{"the", DefaultParams(), Counts{Good: 24, Spam: 1}, 0.2, true},
		{"only spam clamps to 0.99", DefaultParams(), Counts{Spam: 10}, 0.99, true},
		{"only ham clamps to 0.01", DefaultParams(), Counts{Good: 4}, 0.01, true},
		{"weight 4 is not interesting", DefaultParams(), Counts{Good: 1, Spam: 2}, 0.5, false},
		{"weight 5 is", DefaultParams(), Counts{Good: 2, Spam: 1}, 0.2, true},
		{"robinson claim", Params{RobinsonS: 1, RobinsonX: 0.5, LowFreqLimit: 0.01, HighFreqLimit: 0.99, MinWordWeight: 5}, Counts{Spam: 5}, 0.916667, true},
		{"robinson here", Params{RobinsonS: 1, RobinsonX: 0.5, LowFreqLimit: 0.01, HighFreqLimit: 0.99, MinWordWeight: 5}, Counts{Good: 1, Spam: 3}, 0.583333, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.p.WordProb(tt.c, tot)
			if ok != tt.ok || !near(got, tt.want) {
				t.Errorf("WordProb(%+v) = %v, %v; want %v, %v", tt.c, got, ok, tt.want, tt.ok)
			}
		})
	}
	if _, ok := DefaultParams().WordProb(Counts{Spam: 9}, Totals{Spam: 3}); ok {
		t.Error("a word counted with no good mail trained")
	}
}

func TestScoreSelection(t *testing.T) {
	p := DefaultParams()
	tot := Totals{Good: 100, Spam: 100}
	spammy := Counts{Spam: 50}         // 0.99
	hammy := Counts{Good: 50}          // 0.01
	mild := Counts{Good: 10, Spam: 30} // 0.6
	var toks []string
	var cs []Counts
	add := func(w string, c Counts, n int) {
		for range n {
			toks = append(toks, w)
			cs = append(cs, c)
		}
	}
	add("mild", mild, 1)
	add("click", spammy, 3) // kept at most twice
	add("rare", Counts{Spam: 2}, 5)
	add("hello", hammy, 1)
	r := p.Score(toks, cs, tot)
	got := Explain(r.Words)
	want := "click:99 click:99 hello:01 mild:60 "
	if got != want {
		t.Fatalf("words %q, want %q", got, want)
	}
	if r.Verdict != Unknown {
		t.Errorf("verdict %s with 4 words, want unknown", r.Verdict)
	}
	// Fill up with 20 spammy words: only 15 kept, verdict yes.
	for i := range 20 {
		add(strings.Repeat("x", 3)+string(rune('a'+i)), spammy, 1)
	}
	r = p.Score(toks, cs, tot)
	if len(r.Words) != 15 || r.Verdict != Spam || r.Score < 0.99 {
		t.Errorf("got %d words, verdict %s, score %v", len(r.Words), r.Verdict, r.Score)
	}
	if r.Words[14].P != 0.99 {
		t.Errorf("the least interesting kept word should still be 0.99: %v", r.Words)
	}
}

func TestScoreNoWords(t *testing.T) {
	r := DefaultParams().Score([]string{"x"}, []Counts{{}}, Totals{Good: 3, Spam: 3})
	if r.Score != 0.5 || r.Verdict != Unknown || len(r.Words) != 0 {
		t.Errorf("got %+v", r)
	}
}

func TestScoreOneClass(t *testing.T) {
	for _, tot := range []Totals{{Spam: 4}, {Good: 4}, {}} {
		r := DefaultParams().Score([]string{"free"}, []Counts{{Spam: 9}}, tot)
		if math.IsNaN(r.Score) || r.Score != 0.5 || r.Verdict != Unknown || r.Reason == "" {
			t.Errorf("totals %+v: got %+v", tot, r)
		}
	}
}

// SpamOracle printed 0.48 for the words the:0.2 and here:0.6 with chi-square
// on (15 slots): this formula gives 0.4772.
func TestChiSquare(t *testing.T) {
	got := chiSquare([]Word{{"the", 0.2}, {"here", 0.6}}, 15)
	if !near(got, 0.4772) {
		t.Errorf("chiSquare = %.4f, want 0.4772", got)
	}
	if g := chiSquare(nil, 15); !near(g, 0.5) {
		t.Errorf("no words: %v", g)
	}
	spam := make([]Word, 15)
	for i := range spam {
		spam[i] = Word{"w", 0.99}
	}
	if g := chiSquare(spam, 15); g < 0.99 {
		t.Errorf("all spammy: %v", g)
	}
}

func TestGraham(t *testing.T) {
	// the:0.2 here:0.6 gives 0.27 (reference 9.3).
	if g := graham([]Word{{"the", 0.2}, {"here", 0.6}}); !near(g, 0.2727) {
		t.Errorf("graham = %v", g)
	}
	// 400 extreme words must not underflow to NaN.
	ws := make([]Word, 400)
	for i := range ws {
		ws[i] = Word{"w", 0.01}
	}
	if g := graham(ws); math.IsNaN(g) || g > 1e-10 {
		t.Errorf("graham of 400 hammy words = %v", g)
	}
}

func TestExplain(t *testing.T) {
	got := Explain([]Word{{"click", 0.99}, {"the", 0.01}, {"odd", 0.29}, {"here", 0.6}})
	if want := "click:99 the:01 odd:28 here:60 "; got != want {
		t.Errorf("Explain = %q, want %q", got, want)
	}
}

func TestVerdictThresholds(t *testing.T) {
	p := DefaultParams()
	tests := []struct {
		score float64
		n     int
		want  Verdict
	}{
		{0.2, 5, Ham}, {0.21, 5, Unknown}, {0.8, 5, Spam}, {0.79, 5, Unknown},
		{0.0, 4, Unknown}, {1.0, 4, Unknown},
	}
	for _, tt := range tests {
		if got := p.verdict(tt.score, tt.n); got != tt.want {
			t.Errorf("verdict(%v, %d) = %s, want %s", tt.score, tt.n, got, tt.want)
		}
	}
}

// Values of the chi-square survival function for even degrees of freedom,
// from the closed form computed with 60-digit decimals.
func TestChiSquareQ(t *testing.T) {
	tests := []struct {
		x    float64
		df   int
		want float64
	}{
		{0, 2, 1},
		{2, 2, 0.36787944117144233},
		{10, 4, 0.040427681994512805},
		{30, 30, 0.46565370894400965},
		{1000, 1000, 0.49405285382923964},
		{3000, 1000, 1.6436845843569544e-198},
		{10, 60, 1},
	}
	for _, tt := range tests {
		if got := ChiSquareQ(tt.x, tt.df); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("ChiSquareQ(%v, %d) = %.15g, want %.15g", tt.x, tt.df, got, tt.want)
		}
	}
}

func TestFisher(t *testing.T) {
	p := DefaultFisher()
	tot := Totals{Good: 100, Spam: 100}
	// Robinson's f(w): a word in 10 spam and no ham, with s = 0.0178 and x = 0.52.
	if got, want := p.WordProb(Counts{Spam: 10}, tot), (0.0178*0.52+10*1)/(0.0178+10); math.Abs(got-want) > 1e-12 {
		t.Errorf("f(w) = %v, want %v", got, want)
	}
	if got := p.WordProb(Counts{}, tot); got != 0.52 {
		t.Errorf("unknown word: %v", got)
	}
	words := []string{"free", "money", "meeting", "the"}
	spammy := []Counts{{Spam: 40}, {Spam: 30, Good: 1}, {}, {Good: 50, Spam: 50}}
	r := p.Score(words, spammy, tot)
	if r.Verdict != Spam || r.Score < 0.99 || len(r.Words) != 2 || r.Words[0].Text != "free" {
		t.Errorf("spammy: %+v", r)
	}
	hammy := []Counts{{}, {}, {Good: 60}, {Good: 50, Spam: 50}}
	if r := p.Score(words, hammy, tot); r.Verdict != Ham || r.Score > 0.45 {
		t.Errorf("hammy: %+v", r)
	}
	// Nothing decisive: 0.5 and unknown.
	if r := p.Score(words, make([]Counts, 4), tot); r.Score != 0.5 || r.Verdict != Unknown {
		t.Errorf("no evidence: %+v", r)
	}
	if r := p.Score(words, spammy, Totals{Spam: 5}); r.Verdict != Unknown || r.Score != 0.5 || r.Reason == "" {
		t.Errorf("one class: %+v", r)
	}
}

// keepDecisive keeps what a stable sort by distance from 0.5, cut to n,
// would keep.
func TestKeepDecisive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 500 {
		words := make([]Word, rng.IntN(40))
		for i := range words {
			// Few distinct probabilities, so that ties are common.
			words[i] = Word{Text: strconv.Itoa(i), P: float64(rng.IntN(11)) / 10}
		}
		n := rng.IntN(20)
		want := slices.Clone(words)
		slices.SortStableFunc(want, func(a, b Word) int {
			return cmp.Compare(math.Abs(b.P-0.5), math.Abs(a.P-0.5))
		})
		want = want[:min(n, len(want))]
		var got []Word
		for _, w := range words {
			got = keepDecisive(got, w, n)
		}
		if !slices.Equal(got, want) && len(got)+len(want) > 0 {
			t.Fatalf("n=%d %v:\n got %v\nwant %v", n, words, got, want)
		}
	}
}
