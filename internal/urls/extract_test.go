package urls

import (
	"slices"
	"strings"
	"testing"
)

func urlStrings(us []URL) []string {
	var out []string
	for _, u := range us {
		out = append(out, u.URL)
	}
	return out
}

func TestFromText(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
	}{
		{"trailing punctuation", "See http://example.com/a.html, and (https://x.example/p?q=1&r=2). Or 'http://q.example/a'!",
			[]string{"http://example.com/a.html", "https://x.example/p?q=1&r=2", "http://q.example/a"}},
		{"balanced parentheses kept", "wiki: https://en.wikipedia.org/wiki/Foo_(bar) end",
			[]string{"https://en.wikipedia.org/wiki/Foo_(bar)"}},
		{"angle brackets and quotes", `<http://a.example/x> "http://b.example/y" [http://c.example/z]`,
			[]string{"http://a.example/x", "http://b.example/y", "http://c.example/z"}},
		{"www without scheme", "Visit WWW.Example.com/Path. Thanks", []string{"http://www.example.com/Path"}},
		{"defanged", "IOC: hxxp://evil[.]example[.]com/gate.php and hxxps[:]//bad(.)example/x",
			[]string{"http://evil.example.com/gate.php", "https://bad.example/x"}},
		{"defanged www", "www[.]evil[.]com/x", []string{"http://www.evil.com/x"}},
		{"duplicates and order", "http://b.example/ http://a.example/ http://b.example/",
			[]string{"http://b.example/", "http://a.example/"}},
		{"IDN and full-width", "http://пример.рф/путь https://ｅｘａｍｐｌｅ.com/x",
			[]string{"http://xn--e1afmkfd.xn--p1ai/%D0%BF%D1%83%D1%82%D1%8C", "https://example.com/x"}},
		{"obfuscated ip", "go to http://3232235777/login now", []string{"http://192.168.1.1/login"}},
		{"ipv6", "http://[2001:db8::1]:8080/x", []string{"http://[2001:db8::1]:8080/x"}},
		{"not urls", "javascript:alert(1) mailto:a@example.com data:text/html,x file:///etc/passwd http://localhost/ http:///",
			nil},
		{"glued to text", "click:http://evil.example/x;", []string{"http://evil.example/x"}},
		{"semicolon in path", "http://a.example/x;jsessionid=1", []string{"http://a.example/x;jsessionid=1"}},
		{"scheme inside a word", "xhttp://a.example/ foo.https://b.example/", []string{"http://a.example/", "https://b.example/"}},
		{"no anchor", "nothing to see at example.com or user@example.org", nil},
		{"html source as text", `<a href="http://a.example/?x=1&amp;y=2">`, []string{"http://a.example/?x=1&amp;y=2"}},
	}
	for _, tt := range tests {
		got := urlStrings(FromText(tt.in))
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestFromTextDetails(t *testing.T) {
	us := FromText("hxxp://evil[.]example/x and http://evil.example/x and http://ok.example/")
	if len(us) != 2 {
		t.Fatalf("got %q", urlStrings(us))
	}
	if u := us[0]; !u.Defanged || u.Count != 2 || u.Raw != "hxxp://evil[.]example/x" || u.Source != SourceText {
		t.Errorf("first: %+v", u)
	}
	if us[1].Defanged {
		t.Errorf("second flagged defanged: %+v", us[1])
	}
}

func TestFromHTML(t *testing.T) {
	doc := `<html><head>
<meta http-equiv="Refresh" content="5; URL='https://redirect.example/landing'">
<base href="https://base.example/dir/">
<link rel=stylesheet href="/css/site.css">
<style>body { background: url(http://style.example/bg.png) }</style>
<script>var u = "https://script.example/track.js";</script>
</head><body background="bg.jpg">
<p>Dear customer, visit www.visible.example/help or http://text.example/a.</p>
<a href="https://www.paypal.com.evil.example/login?a=1&amp;b=2">https://www.paypal.com/signin</a>
<a href=" relative/page.html ">Read <b>more</b></a>
<a href="mailto:x@example.com">mail</a><a href="javascript:void(0)">js</a><a href="#top">top</a>
<img src="https://img.example/pixel.gif" alt="">
<form action="https://collect.example/post.php" method=post><input type=text name=pass>
<button formaction="//other.example/submit">Go</button></form>
<iframe src="http://frame.example/"></iframe>
<a href="https://www.paypal.com.evil.example/login?a=1&amp;b=2">Log in</a>
</body></html>`
	s := NewSet(Limits{})
	s.AddHTML(doc)
	got := s.URLs()
	want := []struct {
		url string
		src Source
	}{
		{"https://redirect.example/landing", SourceMetaRefresh},
		{"https://base.example/css/site.css", SourceHref},
		{"https://script.example/track.js", SourceScript},
		{"https://base.example/dir/bg.jpg", SourceSrc},
		{"http://www.visible.example/help", SourceHTMLText},
		{"http://text.example/a", SourceHTMLText},
		{"https://www.paypal.com.evil.example/login?a=1&b=2", SourceHref},
		{"https://www.paypal.com/signin", SourceHTMLText},
		{"https://base.example/dir/relative/page.html", SourceHref},
		{"https://img.example/pixel.gif", SourceSrc},
		{"https://collect.example/post.php", SourceForm},
		{"https://other.example/submit", SourceForm},
		{"http://frame.example/", SourceSrc},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d URLs %q, want %d", len(got), urlStrings(got), len(want))
	}
	for i, w := range want {
		if got[i].URL != w.url || got[i].Source != w.src {
			t.Errorf("%d: got %s (%s), want %s (%s)", i, got[i].URL, got[i].Source, w.url, w.src)
		}
	}
	phish := got[6]
	if !slices.Equal(phish.Texts, []string{"https://www.paypal.com/signin", "Log in"}) || phish.Count != 2 {
		t.Errorf("anchor texts %q count %d", phish.Texts, phish.Count)
	}
	if txt := got[8].Texts; !slices.Equal(txt, []string{"Read more"}) {
		t.Errorf("nested anchor text %q", txt)
	}
	if s.Truncated() {
		t.Error("truncated")
	}
}

func TestFromHTMLWithoutBase(t *testing.T) {
	doc := `<a href="/local">x</a><a href="www.Evil.example/x">y</a><a href="//cdn.example/z">z</a><a href="HTTPS://Up.Example">up</a>`
	want := []string{"http://www.evil.example/x", "http://cdn.example/z", "https://up.example/"}
	if got := urlStrings(FromHTML(doc)); !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestFromHTMLBroken(t *testing.T) {
	for _, doc := range []string{
		`<a href="http://a.example/`,
		`<a href=http://b.example/x>unterminated`,
		`<<<a href="http://c.example/">x</a`,
		`<meta http-equiv=refresh content="0;url=http://d.example/">`,
		`<script>document.location="http://e.example/"`,
		"\x00<a href=\"http://f.example/\x00\">",
	} {
		_ = FromHTML(doc) // must not panic; results vary
	}
	if got := urlStrings(FromHTML(`<meta http-equiv=refresh content="0;url=http://d.example/">`)); !slices.Equal(got, []string{"http://d.example/"}) {
		t.Errorf("meta refresh: %q", got)
	}
}

func TestLimits(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 50; i++ {
		b.WriteString("http://h")
		b.WriteByte(byte('a' + i%26))
		b.WriteByte(byte('a' + i/26))
		b.WriteString(".example/ ")
	}
	s := NewSet(Limits{MaxURLs: 10})
	s.AddText(b.String(), SourceText)
	if len(s.URLs()) != 10 || !s.Truncated() {
		t.Errorf("MaxURLs: %d URLs, truncated %v", len(s.URLs()), s.Truncated())
	}

	s = NewSet(Limits{MaxBytes: 40})
	s.AddText("http://a.example/ http://b.example/ http://c.example/", SourceText)
	if got := urlStrings(s.URLs()); !slices.Equal(got, []string{"http://a.example/", "http://b.example/"}) || !s.Truncated() {
		t.Errorf("MaxBytes: %q truncated %v", got, s.Truncated())
	}
	s.AddHTML(`<a href="http://d.example/">`)
	if len(s.URLs()) != 2 {
		t.Errorf("read past MaxBytes: %q", urlStrings(s.URLs()))
	}

	s = NewSet(Limits{MaxRegexpBytes: 40})
	s.AddText("http://a.example/ http://b.example/ http://c.example/", SourceText)
	if len(s.URLs()) != 2 || !s.Truncated() {
		t.Errorf("MaxRegexpBytes: %q truncated %v", urlStrings(s.URLs()), s.Truncated())
	}
}

func TestAnchorWindows(t *testing.T) {
	text := "aaa http://x.example/p bbb www.y.example ccc"
	wins := anchorWindows(text)
	var got []string
	for _, w := range wins {
		got = append(got, text[w[0]:w[1]])
	}
	if want := []string{"http://x.example/p", "www.y.example"}; !slices.Equal(got, want) {
		t.Errorf("windows %q, want %q", got, want)
	}
	long := strings.Repeat("x", 100) + "://" + strings.Repeat("y", 10000)
	w := anchorWindows(long)
	if at := 101; len(w) != 1 || w[0][0] != at-windowBack || w[0][1] != at+windowForward {
		t.Errorf("long window %v", w)
	}
}

func TestTextURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://www.paypal.com/signin", "www.paypal.com"},
		{" www.PayPal.com ", "www.paypal.com"},
		{"paypal.com", "paypal.com"},
		{"(paypal.com/login).", "paypal.com"},
		{"Click here", ""},
		{"readme.txt", ""},
		{"user@example.com", ""},
		{"1.2.3.4", ""},
	}
	for _, tt := range tests {
		u, ok := TextURL(tt.in)
		if got := u.HostASCII; got != tt.want || ok != (tt.want != "") {
			t.Errorf("TextURL(%q) = %q %v, want %q", tt.in, got, ok, tt.want)
		}
	}
}
