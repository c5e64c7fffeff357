package filter

import (
	"math"
	"strings"
	"testing"

	"github.com/mailsift/mailsift/internal/bayes"
	"github.com/mailsift/mailsift/internal/tokendb"
	"github.com/mailsift/mailsift/internal/tokenize"
)

func TestFusedScore(t *testing.T) {
	feats := []string{"subj:free", "url:example.com", "meeting"}
	counts := []bayes.Counts{{Spam: 40}, {Spam: 30, Good: 1}, {Good: 2}}
	trained := tokendb.Evidence{Totals: bayes.Totals{Good: 50, Spam: 50}, Margin: 3}

	f := DefaultFused()
	fisherOnly := f
	fisherOnly.Weight = 0
	fisher := f.Fisher
	fisher.MinTrain = 1
	if got, want := fisherOnly.Score(feats, counts, trained).Score, fisher.Score(feats, counts, trained.Totals).Score; math.Abs(got-want) > 1e-12 {
		t.Errorf("weight 0: %v, want Fisher's %v", got, want)
	}
	lrOnly := f
	lrOnly.Weight = 1
	if got, want := lrOnly.Score(feats, counts, trained).Score, 1/(1+math.Exp(-3)); math.Abs(got-want) > 1e-12 {
		t.Errorf("weight 1: %v, want the regression's %v", got, want)
	}
	r := f.Score(feats, counts, trained)
	if r.Verdict != bayes.Spam || r.Score < 0.9 {
		t.Errorf("spam evidence from both: %+v", r)
	}
	if len(r.Words) == 0 || r.Words[0].Text != "subj:free" {
		t.Errorf("explanation %+v, want subj:free first", r.Words)
	}
	ham := f.Score(feats[2:], counts[2:], tokendb.Evidence{Totals: trained.Totals, Margin: -8})
	if ham.Verdict != bayes.Ham {
		t.Errorf("ham evidence: %+v", ham)
	}
	// A huge margin is bounded: Fisher still has its say.
	if s := f.Score(feats, counts, tokendb.Evidence{Totals: trained.Totals, Margin: 1e9}).Score; math.IsNaN(s) || s >= 1 {
		t.Errorf("unbounded margin gives %v", s)
	}
}

func TestFusedNeedsTraining(t *testing.T) {
	f := DefaultFused()
	for _, tot := range []bayes.Totals{{}, {Good: 100}, {Good: 100, Spam: f.MinTrain - 1}} {
		r := f.Score([]string{"x"}, []bayes.Counts{{Spam: 99}}, tokendb.Evidence{Totals: tot, Margin: 50})
		if r.Verdict != bayes.Unknown || r.Score != 0.5 || !strings.Contains(r.Reason, "needs") {
			t.Errorf("totals %+v: %+v, want unknown 0.5 with a reason", tot, r)
		}
	}
}

func TestFilterDefaultClassifier(t *testing.T) {
	raw := []byte("From: a@example.com\nSubject: free money\n\nclick here for free money\n")
	store := &memStore{
		features: map[string]bayes.Counts{"subj:free": {Spam: 30}, "money": {Spam: 25}, "click": {Spam: 20}},
		ftotals:  bayes.Totals{Good: 30, Spam: 30},
		margin:   4,
	}
	fl := &Filter{Params: bayes.DefaultParams(), Fused: DefaultFused(), Tokens: tokenize.DefaultOptions(), Store: store}
	v, err := fl.Classify(raw)
	if err != nil {
		t.Fatal(err)
	}
	if v.Verdict != bayes.Spam {
		t.Errorf("verdict %+v", v.Result)
	}
	// The same message through SpamOracle's classifier sees no words.
	fl.Classifier = SpamOracle
	v, err = fl.Classify(raw)
	if err != nil {
		t.Fatal(err)
	}
	if v.Verdict != bayes.Unknown {
		t.Errorf("spamoracle verdict %+v with an empty word store", v.Result)
	}
}

func TestHashedIgnoresEnvelopeAndCR(t *testing.T) {
	lf := Hashed([]string{"a"}, []byte("Subject: x\n\nbody text here\n"))
	crlf := Hashed([]string{"a"}, []byte("From me@x Mon Jan  1 00:00:00 2024\r\nSubject: x\r\n\r\nbody text here\r\n"))
	if len(lf) == 0 {
		t.Fatal("no features")
	}
	if len(lf) != len(crlf) {
		t.Fatalf("%d features with LF, %d with CRLF and an envelope", len(lf), len(crlf))
	}
	for i := range lf {
		if lf[i] != crlf[i] {
			t.Fatalf("feature %d differs: %d vs %d", i, lf[i], crlf[i])
		}
	}
}
