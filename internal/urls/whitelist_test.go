package urls

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func TestParseDomains(t *testing.T) {
	list := `# trusted senders
google.com
*.amazon.com            # wildcard form
mail.example.org 2027-01-01
old.example.net  2026-05-31   # expired
soon.example.net 2026-06-01T13:00:00+01:00
Пример.рф
.apache.org.
`
	d, err := ParseDomains(strings.NewReader(list))
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 7 {
		t.Errorf("Len %d", d.Len())
	}
	tests := []struct {
		host string
		want bool
	}{
		{"google.com", true},
		{"drive.google.com", true},
		{"DRIVE.Google.COM.", true},
		{"notgoogle.com", false},
		{"google.com.evil.example", false},
		{"www.amazon.com", true},
		{"mail.example.org", true},
		{"x.mail.example.org", true},
		{"example.org", false},
		{"other.example.org", false},
		{"old.example.net", false},
		{"soon.example.net", false}, // 13:00+01:00 is 12:00 UTC: expired at now
		{"www.пример.рф", true},
		{"xn--e1afmkfd.xn--p1ai", true},
		{"svn.apache.org", true},
		{"192.0.2.1", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := d.Match(tt.host, now); got != tt.want {
			t.Errorf("Match(%q) = %v, want %v", tt.host, got, tt.want)
		}
	}
	if !d.Match("old.example.net", time.Date(2026, 5, 30, 0, 0, 0, 0, time.UTC)) {
		t.Error("entry not active before its expiry")
	}
	var none *Domains
	if none.Match("google.com", now) || none.Len() != 0 {
		t.Error("nil Domains matched")
	}
}

func TestDomainsPrivateSuffix(t *testing.T) {
	d, err := ParseDomains(strings.NewReader("github.io\nmyproject.github.io\n"))
	if err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]bool{
		"github.io":               true,
		"evil.github.io":          false,
		"myproject.github.io":     true,
		"www.myproject.github.io": true,
	} {
		if got := d.Match(host, now); got != want {
			t.Errorf("Match(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestParseDomainsErrors(t *testing.T) {
	list := "good.example\ncom\nco.uk\nhttp://x.example/\n192.0.2.1\nbad..example\nx.example 2027-13-01\nx.example 2027 extra\nlocalhost\nfine.example 2027-01-01T00:00:00Z\n"
	d, err := ParseDomains(strings.NewReader(list))
	if err == nil {
		t.Fatal("no error")
	}
	if d.Len() != 2 || !d.Match("good.example", now) || !d.Match("fine.example", now) {
		t.Errorf("good lines not kept: %d", d.Len())
	}
	wantLines := map[int]error{2: ErrPublicSuffix, 3: ErrPublicSuffix, 4: ErrBadDomain, 5: ErrBadDomain, 6: ErrBadDomain, 7: ErrBadExpiry, 8: ErrExtraFields, 9: ErrBadDomain}
	var got []*LineError
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var le *LineError
		if errors.As(e, &le) {
			got = append(got, le)
		}
	}
	if len(got) != len(wantLines) {
		t.Fatalf("got %d line errors: %v", len(got), err)
	}
	for _, le := range got {
		if !errors.Is(le, wantLines[le.Line]) {
			t.Errorf("line %d: %v, want %v", le.Line, le.Err, wantLines[le.Line])
		}
	}
	if !strings.Contains(err.Error(), `line 7: "x.example 2027-13-01": bad expiry date`) {
		t.Errorf("message: %v", err)
	}
}

func TestParseDomainsManyErrors(t *testing.T) {
	_, err := ParseDomains(strings.NewReader(strings.Repeat("com\n", 30)))
	if err == nil || !strings.Contains(err.Error(), "10 more bad lines") {
		t.Errorf("error %v", err)
	}
}

func TestWhitelistReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "whitelist.txt")
	write := func(content string, mtime time.Time) {
		t.Helper()
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	write("google.com\n", t0)
	w, err := LoadWhitelist(path)
	if err != nil {
		t.Fatal(err)
	}
	if !w.Match("mail.google.com", now) || w.Match("apache.org", now) {
		t.Fatal("first load")
	}
	if changed, err := w.Reload(); changed || err != nil {
		t.Errorf("unchanged file: %v %v", changed, err)
	}

	write("apache.org\n", t0.Add(time.Second))
	if changed, err := w.Reload(); !changed || err != nil {
		t.Errorf("changed file: %v %v", changed, err)
	}
	if w.Match("google.com", now) || !w.Match("apache.org", now) {
		t.Error("new list not in use")
	}

	// A bad edit keeps the list in use and is reported once.
	write("apache.org\ncom\n", t0.Add(2*time.Second))
	changed, err := w.Reload()
	var le *LineError
	if changed || !errors.As(err, &le) || le.Line != 2 {
		t.Errorf("bad edit: %v %v", changed, err)
	}
	if !w.Match("apache.org", now) {
		t.Error("list dropped after a bad edit")
	}
	if changed, err := w.Reload(); changed || err != nil {
		t.Errorf("bad file read again: %v %v", changed, err)
	}

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Reload(); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if !w.Match("apache.org", now) {
		t.Error("list dropped when the file went missing")
	}

	if _, err := LoadWhitelist(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("load missing: %v", err)
	}
	write("com\n", t0)
	if _, err := LoadWhitelist(path); !errors.Is(err, ErrPublicSuffix) {
		t.Errorf("load bad: %v", err)
	}
}
