package analyze

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailsift/mailsift/report"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	return fixtureAt(t, filepath.Join("..", "..", "testdata", "analyze", name))
}

func fixtureAt(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func analyse(t testing.TB, e *Engine, raw []byte) *report.Report {
	t.Helper()
	r, err := e.Analyze(context.Background(), raw, "test")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Update puts new settings in force for the next mail; a bad configuration
// changes nothing; a change to the seen filters says it needs a restart.
func TestUpdate(t *testing.T) {
	c := testConfig()
	e := newEngine(t, c, Options{})
	raw := fixture(t, "html-form-phishing.eml")
	if r := analyse(t, e, raw); !r.Phishing.Verdict {
		t.Fatalf("not flagged at the default threshold: %+v", r.Phishing)
	}
	c.Phishing.Threshold = 100
	c.BodyBytes = 10
	if err := e.Update(c); err != nil {
		t.Fatal(err)
	}
	r := analyse(t, e, raw)
	if r.Phishing.Verdict || !r.Bodies[0].Truncated || len(r.Bodies[0].Text) > 10 {
		t.Errorf("after Update: verdict %v, body %q truncated %v", r.Phishing.Verdict, r.Bodies[0].Text, r.Bodies[0].Truncated)
	}
	bad := c
	bad.Phishing.Weights = map[string]float64{"no-such-finding": 1}
	if err := e.Update(bad); err == nil || !strings.Contains(err.Error(), "no-such-finding") {
		t.Errorf("Update with an unknown finding: %v", err)
	}
	if r := analyse(t, e, raw); r.Phishing.Verdict {
		t.Error("a refused Update changed the settings")
	}
	c.Seen.Mails.Enabled = true
	if err := e.Update(c); !errors.Is(err, ErrRestart) {
		t.Errorf("Update of the seen filters: %v, want ErrRestart", err)
	}
}

// A whitelisted domain is marked and leaves the phishing stage; a changed
// whitelist file is read again by Reload.
func TestWhitelistReload(t *testing.T) {
	list := filepath.Join(t.TempDir(), "white.txt")
	if err := os.WriteFile(list, []byte("example.net\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := testConfig()
	c.URLs.Whitelist = []string{list}
	e := newEngine(t, c, Options{})
	raw := fixture(t, "multipart.eml")
	whitelisted := func() map[string]bool {
		m := map[string]bool{}
		for _, u := range analyse(t, e, raw).URLs {
			m[u.RegisteredDomain] = m[u.RegisteredDomain] || u.Whitelisted
		}
		return m
	}
	if w := whitelisted(); !w["example.net"] || w["example.com"] {
		t.Fatalf("whitelisted before reload: %v", w)
	}
	if err := os.WriteFile(list, []byte("example.com 2099-01-01\n# example.net is off\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if changed, err := e.Reload(); !changed || err != nil {
		t.Fatalf("Reload: %v %v", changed, err)
	}
	if w := whitelisted(); w["example.net"] || !w["example.com"] {
		t.Errorf("whitelisted after reload: %v", w)
	}
	if err := os.WriteFile(list, []byte("not a domain at all!\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Reload(); err == nil {
		t.Error("a broken whitelist reloaded without error")
	}
	if w := whitelisted(); !w["example.com"] {
		t.Errorf("a broken whitelist replaced the old one: %v", w)
	}
}

// The second copy of a mail, and of an attachment in another mail, is
// recognised: filtered, with its heavy stages skipped.
func TestSeen(t *testing.T) {
	c := testConfig()
	c.Seen.Mails.Enabled, c.Seen.Attachments.Enabled, c.Seen.IPs.Enabled = true, true, true
	e := newEngine(t, c, Options{})
	raw := fixture(t, "archive-zip.eml")
	first := analyse(t, e, raw)
	if first.Filtered || first.Attachments[0].Filtered || len(first.Attachments[0].Members) == 0 || first.Phishing == nil {
		t.Fatalf("first copy not analysed in full: %+v", first)
	}
	second := analyse(t, e, raw)
	a := second.Attachments[0]
	if !second.Filtered || second.Phishing != nil || second.Bodies != nil || len(second.URLs) != 0 {
		t.Errorf("second copy: filtered %v, phishing %v", second.Filtered, second.Phishing)
	}
	if !a.Filtered || len(a.Members) != 0 || a.Hashes.SHA256 != first.Attachments[0].Hashes.SHA256 {
		t.Errorf("second copy's attachment: %+v", a)
	}
	// The same attachment under another body.
	other := strings.Replace(string(raw), "please find", "kindly find", 1)
	third := analyse(t, e, []byte(other))
	if third.Filtered || !third.Attachments[0].Filtered {
		t.Errorf("new body, old attachment: mail filtered %v, attachment filtered %v", third.Filtered, third.Attachments[0].Filtered)
	}
}

// Blacklisted types are listed and hashed only; payloads come when asked.
func TestBlacklistAndPayload(t *testing.T) {
	c := testConfig()
	c.Attachments.Blacklist = []string{"application/zip"}
	c.Attachments.IncludePayload = true
	e := newEngine(t, c, Options{})
	a := analyse(t, e, fixture(t, "archive-zip.eml")).Attachments[0]
	if len(a.Members) != 0 || a.Payload != "" || a.Hashes.SHA256 == "" || a.Filtered {
		t.Errorf("blacklisted zip: %+v", a)
	}
	a = analyse(t, e, fixture(t, "multipart.eml")).Attachments[0]
	if a.Payload == "" || a.Text == "" {
		t.Errorf("pdf with payload inclusion: payload %d bytes, text %q", len(a.Payload), a.Text)
	}
}

// A failing enricher leaves its error in the report; the mail is analysed.
func TestEnricherFailure(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, `{"error":{"code":"TransientError","message":"down"}}`, http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	c := testConfig()
	c.Enrichers.VirusTotal.Enabled = true
	c.Enrichers.VirusTotal.APIKey = "test-key"
	c.Enrichers.VirusTotal.BaseURL = srv.URL
	c.Enrichers.VirusTotal.RequestsPerMinute = 6000
	e := newEngine(t, c, Options{})
	r := analyse(t, e, fixture(t, "archive-zip.eml"))
	if r.Error != "" || len(r.Attachments) != 1 {
		t.Fatalf("report: error %q, %d attachments", r.Error, len(r.Attachments))
	}
	got, ok := r.Attachments[0].Enrichment["virustotal"]
	if !ok || got.Error == "" || got.Result != nil {
		t.Errorf("virustotal enrichment: %+v", r.Attachments[0].Enrichment)
	}
	if r.Phishing == nil || len(r.Attachments[0].Members) == 0 {
		t.Error("the rest of the analysis did not run")
	}
}

// Parts hidden in epilogues, each hiding the next, are parsed only so far:
// every re-parse counts against one budget per mail.
func TestHiddenPartsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("From: a@example.org\nSubject: nest\n")
	const depth = 2000
	for i := range depth {
		fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=\"b%d\"\n\n--b%d\nContent-Type: text/plain\n\nlevel %d http://l%d.example.com/\n--b%d--\n", i, i, i, i, i)
	}
	e := newEngine(t, testConfig(), Options{})
	r := analyse(t, e, []byte(b.String()))
	if len(r.Bodies) > maxMessages+1 {
		t.Errorf("%d bodies from %d nested hidden parts, want at most %d", len(r.Bodies), depth, maxMessages+1)
	}
	found := false
	for _, d := range r.Defects {
		found = found || d.Name == "too-deep" && strings.Contains(d.Detail, "too many messages")
		if len(d.Part) > 200 {
			t.Fatalf("defect part path of %d bytes", len(d.Part))
		}
	}
	if !found {
		t.Errorf("no too-deep defect: %v", r.Defects)
	}
}

// A mail whose analysis was cut short leaves nothing in the seen filters:
// analysed again, it is analysed in full.
func TestCancelledLeavesNoTrace(t *testing.T) {
	c := testConfig()
	c.Seen.Mails.Enabled, c.Seen.Attachments.Enabled = true, true
	e := newEngine(t, c, Options{})
	raw := fixture(t, "archive-zip.eml")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.Analyze(ctx, raw, "cancelled"); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled analysis: %v", err)
	}
	r := analyse(t, e, raw)
	if r.Filtered || r.Attachments[0].Filtered || len(r.Attachments[0].Members) == 0 {
		t.Errorf("after a cancelled run: filtered %v, attachment %+v", r.Filtered, r.Attachments[0])
	}
}

// One URL linked from many bodies under many texts keeps a few of them.
func TestLinkTextsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("From: a@example.org\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=x\n\n")
	for i := range 50 {
		fmt.Fprintf(&b, "--x\nContent-Type: text/html\n\n<a href=\"https://example.com/a\">text %d</a>\n", i)
	}
	b.WriteString("--x--\n")
	r := analyse(t, newEngine(t, testConfig(), Options{}), []byte(b.String()))
	if len(r.URLs) != 1 || len(r.URLs[0].LinkText) != maxLinkTexts || r.URLs[0].Count != 50 {
		t.Errorf("urls: %+v", r.URLs)
	}
}

// On the ham of the SpamAssassin corpus the phishing verdict may flag at
// most 0.5%.
func TestSpamAssassinHamPhishing(t *testing.T) {
	dir := filepath.Join(corpusDir(), "sa", "ham")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Skipf("SpamAssassin corpus not prepared (make corpus): %v", err)
	}
	e := newEngine(t, testConfig(), Options{})
	flagged := 0
	for _, ent := range entries {
		r := analyse(t, e, fixtureAt(t, filepath.Join(dir, ent.Name())))
		if r.Phishing != nil && r.Phishing.Verdict {
			flagged++
			t.Logf("%s: %.2f %+v", ent.Name(), r.Phishing.Weight, r.Phishing.Findings)
		}
	}
	rate := float64(flagged) / float64(max(len(entries), 1))
	t.Logf("%d of %d ham flagged (%.2f%%)", flagged, len(entries), 100*rate)
	if len(entries) < 1000 || rate > 0.005 {
		t.Errorf("%d of %d ham flagged, at most 0.5%% allowed", flagged, len(entries))
	}
}
