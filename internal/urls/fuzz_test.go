package urls

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzExtract(f *testing.F) {
	for _, s := range []string{
		"see http://example.com/a.html, and (https://x.example/p?q=1).",
		"hxxps[:]//evil[.]com/x www[.]bad(.)example",
		"http://3232235777/ http://[2001:db8::1]:80/ http://user@paypal.com@evil.example/",
		`<base href="https://b.example/"><a href="x">http://text.example</a><meta http-equiv=refresh content="0;url=y">`,
		"<form action=//f.example><img src=\"http://пример.рф/\"><script>'http://s.example'</script>",
		"http://%77%77%77.example.com:0/%zz#frag", "www.", "://", "http://[", "http://0x.0x.0x.0x/",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		set := NewSet(Limits{MaxURLs: 50})
		set.AddText(s, SourceText)
		set.AddHTML(s)
		for _, u := range set.URLs() {
			if !utf8.ValidString(u.URL) || !strings.Contains(u.URL, "://") {
				t.Fatalf("bad URL %q from %q", u.URL, s)
			}
			// A normalised URL is a fixed point.
			again, err := Parse(u.URL)
			if err != nil {
				t.Fatalf("re-parse %q: %v", u.URL, err)
			}
			if again.URL != u.URL {
				t.Fatalf("not stable: %q -> %q", u.URL, again.URL)
			}
		}
		_, _ = TextURL(s)
		_ = Skeleton(s)
		_, _ = LookAlike(s, []string{"paypal.com"})
		_, _ = BrandInSubdomain(s, []string{"paypal.com"})
	})
}
