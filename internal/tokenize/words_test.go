package tokenize

import (
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/mailsift/mailsift/internal/mail"
)

// The examples of the SpamOracle reference (section 9.4), with the results
// of mailsift's Unicode rules. Where SpamOracle reads bytes as Latin-1 the
// expectations differ on purpose; the comments say how.
func TestWordRules(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"reference probe 1: U<n> before the word, accents folded",
			`SUMMER in English is written "été" in French ààà and Æsop ß`,
			// SpamOracle: ... aaa and sop (Æ is not a letter there, ß alone is one)
			"U6 summer english written ete french aaa and aesop"},
		{"reference probe 2: dashes split, long runs dropped, numbers 3 to 8",
			`well-known e-mail don't isn't ABCDEFGHIJKLMNOP abcdefghijklm abcdefghijkl ... .... 1,000,000 12345678 123456789 $$$ 100% 3.14 1.5 $5 ¤¤¤ ab`,
			"well known mail don't isn't U16 abcdefghijkl ... .... 12345678 $$$ 100% 3.14 1.5 ¤¤¤"},
		{"reference probe 3: decoded UTF-8, not Latin-1 bytes",
			`UTF8 café résumé 你好 éé`,
			// SpamOracle: U3 utf caf sum W6 W4
			"U3 utf cafe resume"},
		{"reference probe 4: apostrophes are letters, not upper case",
			"DON'T ÉTÉ ''' ab' 'ab A'BC HELLO-WORLD x\u007f\u0080\u0081y",
			"don't U3 ete ''' ab' 'ab a'bc U5 hello U5 world W3"},
		{"typographic apostrophe is an apostrophe", "don’t", "don't"},
		{"zero-width characters do not split a word", "vi\u200bag\u00adra", "viagra"},
		{"nor an upper-case run, nor count in it", "VI\u200bAG\u00adRA Ab\u200bC", "U6 viagra abc"},
		{"weird runs count characters", "привет мир", "W6 W3"},
		{"cjk pairs are too short, triples are weird", "你好 你好吗", "W3"},
		{"euro is numeric", "€€€ 99€", "€€€ 99€"},
		{"two letters give nothing", "ab cd ef", ""},
		{"twelve kept, thirteen dropped", "abcdefghijkl abcdefghijklm", "abcdefghijkl"},
		{"upper-case run of 13 gives only U13", "ABCDEFGHIJKLM", "U13"},
		{"mixed case gives no U", "FrEE", "free"},
		{"a run of no-break spaces is weird, as in SpamOracle", "abc\u00a0\u00a0\u00a0def\u00a0ghi", "abc W3 def ghi"},
		{"ligatures and special letters", "Œuvre straße Øre", "oeuvre strasse ore"},
		{"numeric of 9 dropped", "123456789 12345678", "12345678"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := strings.Join(Words(tt.in), " ")
			if got != tt.want {
				t.Errorf("Words(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestReassembly(t *testing.T) {
	known := map[string]bool{"click": true, "free": true, "money": true, "offer": true}
	var got []string
	w := wordSplitter{emit: func(s string) { got = append(got, s) }, known: func(s string) bool { return known[s] }, arena: new(arena)}
	w.chunk("c.l.i.c.k f r e e m-o-n-e-y o f f e r")
	if g := strings.Join(got, " "); g != "click free money offer" {
		t.Errorf("reassembly gave %q", g)
	}
	got = nil
	w.known = nil
	w.chunk("c.l.i.c.k f r e e")
	if len(got) != 0 {
		t.Errorf("without Known, reassembly emitted %q", got)
	}
}

func TestHTMLText(t *testing.T) {
	doc := `<html><head><style>body { color: red; }</style></head><body>
<!-- hidden comment > visible tail -->
vi<b>ag</b>ra spe<p>cial don&rsquo;t caf&eacute; &nbsp;&nbsp;&nbsp; &quot;quoted&quot; &#233;t&#233; &#x41;bc fish &amp; chips
<a href="http://www.example.com/%70romo?id=42">link text</a>
<img src="pic.gif" alt="Buy cheap watches">
<font face="Arial" color="#ff0000">red</font>
caf&#xE9; na&iuml;ve r&eacute;sum&eacute; crème</body></html>`
	opts := DefaultOptions()
	got := strings.Join(Words(htmlText(doc, opts.HTMLTagAttributes, false)), " ")
	// SpamOracle: html body color red visible tail viagra spe cial donyt cafe W3 yquotedy ete fish chips ...
	// (it reads the style sheet, its comment ends at the first '>', unknown
	// entities become ÿ, hex entities are not decoded).
	want := "viagra spe cial don't cafe W3 quoted ete abc fish chips link text red cafe naive resume creme " +
		"http www example com promo pic gif buy cheap watches arial 0000"
	if got != want {
		t.Errorf("html words\n got %q\nwant %q", got, want)
	}
}

func TestHTMLHidesScriptAndStyle(t *testing.T) {
	doc := `<html><head><style><!-- .msonormal { font-family: trebuchet } --></style>
<script language="javascript"><!-- function loadPage() { location.href = "x" } --></script></head>
<body>visible <SCRIPT>hidden()</SCRIPT> words</body></html>`
	got := strings.Join(Words(htmlText(doc, nil, false)), " ")
	if got != "visible words" {
		t.Errorf("got %q, want only the visible words", got)
	}
}

func TestCompilePattern(t *testing.T) {
	re, err := CompilePattern(DefaultMailHeaders)
	if err != nil {
		t.Fatal(err)
	}
	for s, want := range map[string]bool{"from:": true, "Subject:": true, "to:": false, "x-from:": false, "from ": false} {
		if re.MatchString(s) != want {
			t.Errorf("%q: match = %v, want %v", s, !want, want)
		}
	}
	if _, err := CompilePattern(`(`); err == nil {
		t.Error("bad pattern accepted")
	}
}

// The generated fold table agrees with Unicode decomposition.
func TestFoldTable(t *testing.T) {
	for r := rune(foldLo); r <= foldHi; r++ {
		got, ok := fold(r)
		d := norm.NFD.String(string(r))
		base, _ := utf8.DecodeRuneInString(d)
		if unicode.IsLetter(r) && base < utf8.RuneSelf && 'a' <= base|0x20 && base|0x20 <= 'z' {
			if !ok || got != string(base|0x20) {
				t.Errorf("fold(%c) = %q, %v; want %q", r, got, ok, string(base|0x20))
			}
		}
	}
	for r, want := range map[rune]string{'æ': "ae", 'ß': "ss", 'ẞ': "ss", 'Ø': "o", 'þ': "th", 'é': "e", 'Ñ': "n"} {
		if got, ok := fold(r); !ok || got != want {
			t.Errorf("fold(%c) = %q, %v; want %q", r, got, ok, want)
		}
	}
	for _, r := range []rune{'a', '×', '÷', 'ɐ', 'я', '你'} {
		if _, ok := fold(r); ok {
			t.Errorf("fold(%c) claims a letter", r)
		}
	}
}

func TestFeatures(t *testing.T) {
	raw := "Received: from relay.example.net ([192.0.2.17]) by mx.example.org\r\n" +
		"From: \"Bank\" <alerts@secure.bank.example>\r\nTo: bob@example.org\r\n" +
		"Subject: FREE money\r\nX-Mailer: Mass Mailer 3\r\nMessage-ID: <abc@mailer.example>\r\n" +
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" +
		"<a href=\"http://login.phish.example.com/x\">free</a> 你好世界 verification\r\n" +
		"--b\r\nContent-Type: application/octet-stream; name=\"invoice.exe\"\r\nContent-Transfer-Encoding: base64\r\n\r\nTVo=\r\n--b--\r\n"
	got := map[string]bool{}
	for _, f := range DefaultOptions().Features(mail.Parse([]byte(raw))) {
		got[f] = true
	}
	for _, want := range []string{
		"subj:free", "subj:U4", "subj:money", "from:bank", "from:alerts", "from@secure.bank.example", "from@bank.example",
		"to:bob", "ip:192.0.2.17", "ip:192.0.2", "rcvd:relay", "xm:mass", "mid@mailer.example",
		"url:login.phish.example.com", "url:example.com", "free", "verification",
		"你好", "好世", "世界", "ct:multipart/mixed", "ct:text/html", "cs:utf-8", "ext:exe", "cte:base64",
	} {
		if !got[want] {
			t.Errorf("no feature %q", want)
		}
	}
	for _, unwanted := range []string{"money", "bob", "W4"} {
		if got[unwanted] {
			t.Errorf("feature %q should carry its header's prefix or be CJK pairs", unwanted)
		}
	}
}

// One pass gives what Message and Features give apart.
func TestWordsAndFeatures(t *testing.T) {
	raw := "From: Ann <ann@example.com>\nSubject: Free offer\nContent-Type: multipart/alternative; boundary=b\n\n--b\nContent-Type: text/plain\n\nclick here now\n--b\nContent-Type: text/html\n\n<p>click <a href=\"http://x.example.org/a\">here</a></p>\n--b--\n"
	m := mail.Parse([]byte(raw))
	o := DefaultOptions()
	words, feats, _ := o.WordsAndFeatures(m)
	wantWords, _ := o.Message(m)
	if !slices.Equal(words, wantWords) || len(words) == 0 {
		t.Errorf("words %q, Message gives %q", words, wantWords)
	}
	if want := o.Features(m); !slices.Equal(feats, want) || !slices.Contains(feats, "url:example.org") {
		t.Errorf("features %q, Features gives %q", feats, want)
	}
}
