package tokenize

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mailsift/mailsift/internal/mail"
)

// htmlSeeds are documents that take the tokenizer through its corners:
// raw text elements, comments of every ending, bogus comments, quoting,
// self-closing tags, references in text and in attributes, and a
// document cut anywhere.
var htmlSeeds = []string{
	`<html><head><title>Caf&eacute; &amp; more</title><style>p{color:red}</style></head>` +
		`<body><p>Hello <b>wor</b>ld &rsquo;n&nbsp;co.</p><a HREF="http://x.example/a?b=1&copy=2&amp;c">click</a>` +
		`<img src=http://i.example/%61.png alt='pic &lt;1&gt;'/><br/></body></html>`,
	"<SCRIPT type=x>if (a<b) { x = '</scr' + 'ipt>'; }</SCRIPT >after <ScRiPt/>shown</script>",
	"<script>var a = '<!-- x';</script>text",
	"<!-->a<!--->b<!---->c<!-- x --!>d<!-- y --!-->e<!-- z -- >f-->g<!--- --->h<!--",
	"<!DOCTYPE html><!doctype><!x><!><![CDATA[ x ]]><?xml version='1.0'?>text</>more</ x>tail</",
	"a < b <3 c<=d <",
	"<p a=/>x<p a='/'/>y<p / a = \"v\"  b=w  =c d>z<p a a=2 A=3 b>",
	"<textarea>&lt;b&gt; <i>not a tag</i></textarea><xmp><b>&amp;</b></xmp><noscript>&amp;<p></noscript>",
	"<iframe>in</iframeX></iframe >out<noembed>n</NOEMBED/>o<noframes>f</noframes>",
	"<plaintext><b>all &amp; the rest</b></plaintext>",
	"line\r\nbreaks\rand<a title=\"x\r\ny\">\r</a>",
	"<a href=\"&#x41;&#66;&amp\" title=\"&notit; &notin; &copy= &copy\">&notit; &copy2 &#0;</a>",
	"<div\tclass=x\fid=y\nstyle='z'>t</div><span>u</span>",
	"<a k0 k1 k2 k3 k4 k5 k6 k7 k8 K3 k9=x href=1 k2 HREF=2 v=a&amp;b V=c k10=/>t<a k0 k1 k2 k3 k4 k5 k6 k7 k8 href=3 v='>'/>u",
	"<a href='x'",
	"<a href=\"x",
	"<a href=x",
	"<a b",
	"text<",
	"<!-",
	"<!--x--",
	"<style>unfinished",
	"<title>a</tit",
	"a\x00b",
	"",
}

// htmlAttrs is a selection of tag/attribute pairs as the configuration
// gives them.
var htmlAttrs = regexp.MustCompile(`^(a/href|img/src|img/alt|a/title|p/a|div/class|[a-z]+/v)$`)

func checkScanHTML(t *testing.T, doc string) {
	t.Helper()
	for _, attrs := range []*regexp.Regexp{htmlAttrs, nil} {
		for _, retain := range []bool{false, true} {
			got, ok := scanHTML(doc, attrs, retain)
			if !ok {
				continue
			}
			if want := tokenizeHTML(doc, attrs, retain); got != want {
				t.Errorf("%q (attributes %v, tags %v):\n got %q\nwant %q", doc, attrs != nil, retain, got, want)
			}
		}
	}
}

// scanHTML gives what the tokenizer gives, on every seed and on every cut
// of the seeds.
func TestScanHTMLIsTheTokenizer(t *testing.T) {
	for _, doc := range htmlSeeds {
		for i := range len(doc) + 1 {
			checkScanHTML(t, doc[:i])
		}
	}
}

// scanHTML leaves the documents it does not read to the tokenizer, and
// reads the common ones itself.
func TestScanHTMLDeclines(t *testing.T) {
	for doc, want := range map[string]bool{
		"<p>plain</p>":                       true,
		"<script>a</script>":                 true,
		"<script>a<!-- b</script>":           false,
		"<script>a</script><!-- comment -->": true,
		"a\x00b":                             false,
	} {
		if _, ok := scanHTML(doc, nil, false); ok != want {
			t.Errorf("%q: read %v, want %v", doc, ok, want)
		}
	}
}

// corpusHTML returns the decoded HTML parts of the SpamAssassin split's
// test mails, or skips.
func corpusHTML(tb testing.TB) []string {
	root := os.Getenv("MAILSIFT_CORPUS")
	if root == "" {
		home, _ := os.UserHomeDir()
		root = filepath.Join(home, ".cache", "mailsift-corpus")
	}
	opts := DefaultOptions()
	var docs []string
	for _, name := range []string{"test-ham.txt", "test-spam.txt"} {
		list, err := os.ReadFile(filepath.Join(root, "sa", name))
		if err != nil {
			tb.Skipf("SpamAssassin corpus not found (%v): run make corpus", err)
		}
		for _, rel := range strings.Fields(string(list)) {
			raw, err := os.ReadFile(filepath.Join(root, rel))
			if err != nil {
				tb.Fatal(err)
			}
			docs = append(docs, htmlParts(raw, opts)...)
		}
	}
	if len(docs) == 0 {
		tb.Fatal("no HTML parts in the corpus's test mails")
	}
	return docs
}

// scanHTML reads most HTML parts of the SpamAssassin corpus, when it is
// there, and gives what the tokenizer gives on each.
func TestScanHTMLCorpus(t *testing.T) {
	opts := DefaultOptions()
	docs := corpusHTML(t)
	read := 0
	for _, doc := range docs {
		got, ok := scanHTML(doc, opts.HTMLTagAttributes, false)
		if !ok {
			continue
		}
		read++
		if want := tokenizeHTML(doc, opts.HTMLTagAttributes, false); got != want {
			t.Errorf("the text differs from the tokenizer's:\n got %.200q\nwant %.200q", got, want)
		}
	}
	// The scanner is there for the common document: it must read most.
	if read < len(docs)*9/10 {
		t.Errorf("the scanner read %d of %d HTML parts", read, len(docs))
	}
	t.Logf("the scanner read %d of %d HTML parts", read, len(docs))
}

// BenchmarkHTMLText reduces the HTML parts of the corpus to their text,
// with the scanner (and the tokenizer for what it declines) and with the
// tokenizer alone.
func BenchmarkHTMLText(b *testing.B) {
	docs := corpusHTML(b)
	attrs := DefaultOptions().HTMLTagAttributes
	for _, bm := range []struct {
		name string
		text func(string, *regexp.Regexp, bool) string
	}{{"scan", htmlText}, {"tokenizer", tokenizeHTML}} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				bm.text(docs[i%len(docs)], attrs, false)
			}
		})
	}
}

func FuzzScanHTML(f *testing.F) {
	for _, doc := range htmlSeeds {
		f.Add(doc)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		checkScanHTML(t, doc)
	})
}

// htmlParts returns the decoded HTML parts of a raw mail.
func htmlParts(raw []byte, opts Options) []string {
	var docs []string
	var defects []mail.Defect
	opts.walk(mail.Parse(raw).Root, func(text string, html bool) {
		if html {
			docs = append(docs, text)
		}
	}, &defects)
	return docs
}
