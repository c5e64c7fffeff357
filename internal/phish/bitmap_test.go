package phish

import (
	"reflect"
	"strings"
	"testing"

	"github.com/mailsift/mailsift/internal/urls"
)

// testLists are SpamScope's example lists.
func testLists() *Lists {
	return &Lists{
		Subjects: []Rule{{"conferma"}, {"bonifico"}, {"fattura"}, {"123456"}, {"urgent"}, {"invoice"}, {"important"}},
		Targets: map[string][]Rule{
			"Google":        {{"gmail"}, {"google", "drive"}},
			"Amazon":        {{"amazon"}},
			"Banca Tizio":   {{"tizio"}, {"caio", "rossi"}, {"12345"}, {"123", "456"}},
			"Banca Fasulla": {{"fasulla"}, {"azzurra"}},
		},
	}
}

func mustURL(t testing.TB, raw string, src urls.Source, texts ...string) urls.URL {
	t.Helper()
	u, err := urls.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	u.Source, u.Texts, u.Count = src, texts, 1
	return u
}

func TestBitmapBits(t *testing.T) {
	link := func() []urls.URL { return []urls.URL{mustURL(t, "http://www.example.org/", urls.SourceText)} }
	tests := []struct {
		name    string
		in      Input
		score   int
		targets []string
	}{
		{"nothing", Input{Subject: "hello", BodyText: "nothing here", BodyURLs: link()}, 0, nil},
		{"mail_body", Input{BodyText: "Log in to your GMAIL account"}, 1, []string{"Google"}},
		{"urls_body", Input{BodyURLs: []urls.URL{mustURL(t, "http://amazon.example.net/x", urls.SourceHref)}}, 2, nil},
		{"text_attachments", Input{Attachments: []Attachment{{Filename: "a.txt", Text: "conto Tizio"}}}, 4, []string{"Banca Tizio"}},
		{"urls_attachments", Input{AttachmentURLs: []urls.URL{mustURL(t, "http://x.example/fasulla", urls.SourceText)}}, 8, nil},
		{"filename_attachments", Input{Attachments: []Attachment{{Filename: "Amazon-order.pdf"}}}, 16, []string{"Amazon"}},
		{"mail_from", Input{From: []Address{{Name: "Caio Rossi", Address: "x@example.org"}}}, 32, []string{"Banca Tizio"}},
		{"mail_from address", Input{From: []Address{{Address: "info@azzurra.example"}}}, 32, []string{"Banca Fasulla"}},
		{"mail_subject", Input{Subject: "Fattura n. 7"}, 64, nil},
		{"mail_form", Input{HTML: []string{"<p>x</p><FORM action=x><input></FORM>"}}, 128, nil},
		{"mail_form in text", Input{BodyText: "see <form method=post>"}, 128, nil},
		{"no form", Input{HTML: []string{"<p>format</p><formula>"}, BodyText: "<formal>"}, 0, nil},
		{"html attachment text", Input{Attachments: []Attachment{{Filename: "a.htm", HTML: "<p>google drive</p>"}}}, 4, []string{"Google"}},
		{"member file name", Input{Attachments: []Attachment{{Filename: "a.zip"}, {Filename: "tizio.exe", Path: "a.zip/tizio.exe"}}}, 16, []string{"Banca Tizio"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Check(&tt.in, testLists(), nil)
			if p.Score != tt.score {
				t.Errorf("score %d, want %d (%v)", p.Score, tt.score, p.ScoreExpanded)
			}
			want := tt.targets
			if want == nil {
				want = []string{}
			}
			if !reflect.DeepEqual(p.Targets, want) {
				t.Errorf("targets %q, want %q", p.Targets, want)
			}
			if p.ScoreExpanded == nil {
				t.Error("score_expanded is nil")
			}
		})
	}
}

// TestBitmapMailThug rebuilds the mail of SpamScope's test_check_phishing,
// which expects 123: subject, from, file names, attachment URLs, body
// URLs and body.
func TestBitmapMailThug(t *testing.T) {
	lists := &Lists{
		Subjects: []Rule{{"conferma"}, {"bonifico"}, {"fattura"}, {"123456"}, {"urgent"}},
		Targets: map[string][]Rule{
			"Banca Tizio": {{"tizio"}, {"caio", "rossi"}, {"12345"}, {"123", "456"}},
			"Test":        {{"payment"}, {"hampton"}, {"global"}},
		},
	}
	in := &Input{
		Subject:  "Conferma pagamento",
		From:     []Address{{Name: "Hampton Inn", Address: "reservations@hotel.example"}},
		BodyText: "Your payment is confirmed. Visit http://www.hampton.example/booking",
		BodyURLs: []urls.URL{mustURL(t, "http://www.hampton.example/booking", urls.SourceText)},
		Attachments: []Attachment{
			{Filename: "payment_details.zip"},
			{Filename: "payment.js", Path: "payment_details.zip/payment.js", Text: "var x = 1;"},
		},
		AttachmentURLs: []urls.URL{mustURL(t, "http://global-tizio.example/gate.php", urls.SourceText)},
	}
	p := Check(in, lists, nil)
	if p.Score != 123 {
		t.Errorf("score %d, want 123 (%v)", p.Score, p.ScoreExpanded)
	}
	wantExp := []string{"mail_subject", "mail_from", "filename_attachments", "urls_attachments", "urls_body", "mail_body"}
	if !reflect.DeepEqual(p.ScoreExpanded, wantExp) {
		t.Errorf("score_expanded %q", p.ScoreExpanded)
	}
	if !reflect.DeepEqual(p.Targets, []string{"Test"}) {
		t.Errorf("targets %q", p.Targets)
	}
	if !p.WithPhishing {
		t.Error("with_phishing false")
	}
}

func TestBitmapAllBits(t *testing.T) {
	in := &Input{
		Subject:        "URGENT",
		From:           []Address{{Name: "Tizio", Address: "a@b.example"}},
		BodyText:       "gmail",
		HTML:           []string{"<form></form>"},
		BodyURLs:       []urls.URL{mustURL(t, "http://amazon.example/", urls.SourceHref)},
		Attachments:    []Attachment{{Filename: "fasulla.txt", Text: "google drive"}},
		AttachmentURLs: []urls.URL{mustURL(t, "http://x.example/gmail", urls.SourceText)},
	}
	p := Check(in, testLists(), nil)
	if p.Score != 255 {
		t.Errorf("score %d, want 255", p.Score)
	}
	want := []string{"mail_form", "mail_subject", "mail_from", "filename_attachments", "urls_attachments", "text_attachments", "urls_body", "mail_body"}
	if !reflect.DeepEqual(p.ScoreExpanded, want) {
		t.Errorf("order %q", p.ScoreExpanded)
	}
	if !reflect.DeepEqual(p.Targets, []string{"Banca Fasulla", "Banca Tizio", "Google"}) {
		t.Errorf("targets %q: sorted, de-duplicated, none from URLs", p.Targets)
	}
}

func TestKeywordSemantics(t *testing.T) {
	lists := &Lists{Targets: map[string][]Rule{
		"AND": {{"alpha", "beta"}},
		"OR":  {{"gamma"}, {"delta"}},
		"UTF": {{"Überweisung"}, {"сбербанк"}},
		"Num": {{"12345"}},
	}}
	tests := []struct {
		text string
		want []string
	}{
		{"alpha only", []string{}},
		{"beta then ALPHA", []string{"AND"}},
		{"alphabetical betamax", []string{"AND"}}, // substrings, no word boundaries
		{"GAMMA", []string{"OR"}},
		{"xdeltax", []string{"OR"}},
		{"Ihre ÜBERWEISUNG", []string{"UTF"}},
		{"Ваш СберБанк", []string{"UTF"}},
		{"no 1234 here", []string{}},
		{"id 123456", []string{"Num"}},
		{"alpha beta gamma 12345", []string{"AND", "Num", "OR"}},
	}
	for _, tt := range tests {
		p := Check(&Input{BodyText: tt.text}, lists, nil)
		if !reflect.DeepEqual(p.Targets, tt.want) {
			t.Errorf("%q: targets %q, want %q", tt.text, p.Targets, tt.want)
		}
	}
}

func TestWithPhishing(t *testing.T) {
	l := testLists()
	if p := Check(&Input{BodyText: "gmail"}, l, nil); p.WithPhishing || p.Score == 0 {
		t.Errorf("no URL: %+v", p)
	}
	in := &Input{BodyText: "gmail", BodyURLs: []urls.URL{mustURL(t, "https://www.example.org/", urls.SourceText)}}
	p := Check(in, l, nil)
	if !p.WithPhishing {
		t.Errorf("with URL: %+v", p)
	}
	if p.Weight != DefaultBitmapWeight {
		t.Errorf("weight %v, want the share of one bit", p.Weight)
	}
	if p := Check(&Input{BodyURLs: in.BodyURLs}, l, nil); p.WithPhishing {
		t.Error("score 0 with phishing")
	}
}

func TestNilLists(t *testing.T) {
	p := Check(&Input{BodyText: "gmail", HTML: []string{"<form>"}}, nil, nil)
	if p.Score != 128 || len(p.Targets) != 0 {
		t.Errorf("%+v", p)
	}
	if p := Check(nil, nil, nil); p.Score != 0 || p.Verdict {
		t.Errorf("nil input: %+v", p)
	}
}

func TestExpand(t *testing.T) {
	if got := Expand(0); got == nil || len(got) != 0 {
		t.Errorf("Expand(0) = %#v", got)
	}
	if got := strings.Join(Expand(129), ","); got != "mail_form,mail_body" {
		t.Errorf("Expand(129) = %s", got)
	}
	if Property(5) != "mail_from" || Property(8) != "" || Property(-1) != "" {
		t.Error("Property")
	}
}

func TestMatcherAgreesWithContains(t *testing.T) {
	words := []string{"he", "she", "his", "hers", "ушка", "straße", "a", "aa", "aaa", "ab", "bab", "x y"}
	l := &Lists{}
	for _, w := range words {
		l.Subjects = append(l.Subjects, Rule{w})
	}
	m := newMatcher(l)
	if m.naive {
		t.Fatal("small lists went naive")
	}
	naive := newMatcher(l)
	naive.naive = true
	texts := []string{"", "ushers", "SHE SELLS", "hishers", "Кукушка", "STRASSE straße", "baaab", "x  y x y", "aXa", "HeRs"}
	for _, text := range texts {
		a, b := m.newHits(), naive.newHits()
		m.scan(text, a)
		naive.scan(text, b)
		low := strings.ToLower(text)
		for i, w := range words {
			if a[i] != strings.Contains(low, w) || b[i] != a[i] {
				t.Errorf("%q in %q: automaton %v, naive %v", w, text, a[i], b[i])
			}
		}
	}
}
