package eval

import (
	"bytes"
	"crypto/sha256"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/mailsift/mailsift/internal/bayes"
	"github.com/mailsift/mailsift/internal/logreg"
)

func TestAUC(t *testing.T) {
	tests := []struct {
		name      string
		ham, spam []float64
		want      float64
	}{
		{"perfect", []float64{0.1, 0.2}, []float64{0.8, 0.9}, 1},
		{"inverted", []float64{0.8, 0.9}, []float64{0.1, 0.2}, 0},
		{"all tied", []float64{0.5, 0.5}, []float64{0.5}, 0.5},
		// Pairs (ham, spam): (0.1,0.4) win, (0.1,0.35) win, (0.4,0.4) tie, (0.4,0.35) loss,
		// (0.35,0.4) win, (0.35,0.35) tie → (3 + 2·0.5) / 6.
		{"hand made with ties", []float64{0.1, 0.4, 0.35}, []float64{0.4, 0.35}, 4.0 / 6},
		{"one class", nil, []float64{0.3}, math.NaN()},
	}
	for _, tt := range tests {
		got := AUC(tt.ham, tt.spam)
		if math.IsNaN(tt.want) != math.IsNaN(got) || (!math.IsNaN(got) && math.Abs(got-tt.want) > 1e-12) {
			t.Errorf("%s: AUC = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestFNAtFP(t *testing.T) {
	ham := make([]float64, 1000)
	for i := range ham {
		ham[i] = float64(i) / 1000 // 0 .. 0.999
	}
	spam := []float64{0.9985, 0.9995, 0.5, 1.0}
	// 0.1% of 1000 ham: one may lie above the threshold, so the
	// threshold is the second highest ham score, 0.998.
	if got := FNAtFP(ham, spam, 0.001); got != 0.25 {
		t.Errorf("FNAtFP = %v, want 0.25 (only 0.5 is missed)", got)
	}
	if got := FNAtFP(ham, spam, 0); got != 0.5 {
		t.Errorf("FNAtFP at 0 = %v, want 0.5 (0.5 and 0.9985 are at or below 0.999)", got)
	}
}

func TestSummarize(t *testing.T) {
	samples := []Sample{
		{Spam: false, Score: 0.01, Verdict: -1},
		{Spam: false, Score: 0.95, Verdict: +1}, // FP
		{Spam: false, Score: 0.5, Verdict: 0},
		{Spam: true, Score: 0.99, Verdict: +1},
		{Spam: true, Score: 0.1, Verdict: -1}, // FN
	}
	m := Summarize(samples, 0.001)
	if m.Ham != 3 || m.Spam != 2 || m.FP != 1 || m.FN != 1 || m.Unsure != 1 {
		t.Fatalf("counts %+v", m)
	}
	if math.Abs(m.FPRate()-100.0/3) > 1e-9 || m.FNRate() != 50 || m.UnsureRate() != 20 {
		t.Errorf("rates %v %v %v", m.FPRate(), m.FNRate(), m.UnsureRate())
	}
}

// The split must never change: every published figure depends on it. These
// values agree with ../shared/corpus/prepare-sa.sh (python: int(sha256(b).hexdigest()[:16], 16) % 3).
func TestSplitStable(t *testing.T) {
	tests := map[string]bool{"": false, "a": false, "spam": false, "ham": true, "hello world\n": false}
	for in, want := range tests {
		if got := IsTest([]byte(in)); got != want {
			t.Errorf("IsTest(%q) = %v, want %v", in, got, want)
		}
	}
	for in, want := range map[string]int{"": 2, "a": 0, "b": 1, "d": 4, "ham": 0} {
		if got := Fold([]byte(in), 5); got != want {
			t.Errorf("Fold(%q, 5) = %d, want %d", in, got, want)
		}
	}
}

func TestModel(t *testing.T) {
	m := NewModel(logreg.DefaultParams())
	m.Train([]string{"free", "free", "money"}, true)
	m.Train([]string{"meeting", "free"}, false)
	out := make([]bayes.Counts, 3)
	tot, err := m.Lookup([]string{"free", "meeting", "nope"}, out)
	if err != nil || tot != (bayes.Totals{Good: 1, Spam: 1}) {
		t.Fatalf("totals %+v %v", tot, err)
	}
	if out[0] != (bayes.Counts{Good: 1, Spam: 2}) || out[1] != (bayes.Counts{Good: 1}) || out[2] != (bayes.Counts{}) {
		t.Errorf("counts %+v", out)
	}
}

// The regression is fitted from all examples at once, so the order of
// training does not change it.
func TestModelFitIgnoresOrder(t *testing.T) {
	type ex struct {
		text string
		spam bool
	}
	var exs []ex
	for i := range 30 {
		exs = append(exs, ex{fmt.Sprintf("meeting agenda %d", i), false}, ex{fmt.Sprintf("cheap pills %d", i), true})
	}
	p := logreg.DefaultParams()
	probe := p.Features([]string{"meeting"}, []byte("cheap meeting"))
	margin := func(order []ex) float64 {
		m := NewModel(p)
		for _, e := range order {
			m.TrainFeatures(sha256.Sum256([]byte(e.text)), nil, p.Features(nil, []byte(e.text)), e.spam)
		}
		ev, err := m.LookupModel(nil, nil, probe)
		if err != nil {
			t.Fatal(err)
		}
		return ev.Margin
	}
	reversed := slices.Clone(exs)
	slices.Reverse(reversed)
	if a, b := margin(exs), margin(reversed); a != b || a == 0 {
		t.Errorf("margin %v in one order, %v in the other", a, b)
	}
}

func TestPlotIsSVG(t *testing.T) {
	var buf bytes.Buffer
	samples := []Sample{{Spam: false, Score: 0.01}, {Spam: false, Score: 0.3}, {Spam: true, Score: 0.99}, {Spam: true, Score: 0.2}}
	if err := Plot(&buf, samples, "test <run> & more"); err != nil {
		t.Fatal(err)
	}
	svg := buf.String()
	if !strings.Contains(svg, "test &lt;run&gt; &amp; more") || !strings.Contains(svg, "ROC AUC 0.75000") {
		t.Errorf("title or AUC missing:\n%s", svg[:min(len(svg), 400)])
	}
	dec := xml.NewDecoder(strings.NewReader(svg))
	elements := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v", err)
		}
		if _, ok := tok.(xml.StartElement); ok {
			elements++
		}
	}
	if elements < 40 {
		t.Errorf("only %d elements", elements)
	}
}
