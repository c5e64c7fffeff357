package tokenize

import (
	"encoding/hex"
	"regexp"
	"strings"

	"golang.org/x/net/html"
)

// isBlockTag reports whether a tag ends a run of text: text on either
// side of it does not join. Inline tags (b, i, font, span, a, ...) add
// nothing, so vi<b>ag</b>ra reads as one word, as a mail reader shows it.
func isBlockTag(tag string) bool {
	switch tag {
	case "p", "br", "ul", "ol", "dt", "li", "dd",
		"table", "tr", "th", "td", "img", "div",
		"blockquote", "h1", "h2", "h3", "h4", "h5",
		"h6", "address", "hr", "pre", "title", "center",
		"form", "section", "article", "header", "footer",
		"option", "input", "button", "body", "head":
		return true
	}
	return false
}

// htmlText reduces an HTML document to its visible text followed by a line
// break and the selected attribute values, one per line: the text a reader
// sees, then the link targets, image sources and alt texts that spam hides
// its words in. Entities are decoded as the HTML tokenizer of
// golang.org/x/net/html decodes them, so &eacute; is é and &rsquo; is ’.
// Comments and the contents of script and style elements are skipped: no
// reader sees them, and their code words are noise that ham and spam share.
//
// Most mail HTML is read by scanHTML, which gives what the tokenizer gives
// at a fraction of its cost; the documents it leaves aside go to the
// tokenizer (tokenizeHTML).
func htmlText(doc string, attrs *regexp.Regexp, retainTags bool) string {
	if text, ok := scanHTML(doc, attrs, retainTags); ok {
		return text
	}
	return tokenizeHTML(doc, attrs, retainTags)
}

// htmlOut collects htmlText's result: the visible text, and the extra
// lines of tag names and selected attribute values.
type htmlOut struct {
	main, extra strings.Builder
	attrs       *regexp.Regexp
	retainTags  bool
	known       map[string]bool // attrMemo's answers for attrs
	pair        []byte          // "tag/attribute", matched against attrs
	hidden      bool            // inside script or style
}

func newHTMLOut(size int, attrs *regexp.Regexp, retainTags bool) *htmlOut {
	o := &htmlOut{attrs: attrs, retainTags: retainTags}
	o.main.Grow(size)
	if attrs != nil {
		o.known = attrMemo.known(attrs)
	}
	return o
}

// tag notes a start, end or self-closing tag: whether it hides what
// follows, whether it separates words, and its name when tags are kept.
func (o *htmlOut) tag(name string, start bool) {
	if name == "script" || name == "style" {
		o.hidden = start
	}
	if isBlockTag(name) {
		o.main.WriteByte(' ')
	}
	if o.retainTags {
		o.extra.WriteString(name)
		o.extra.WriteByte('\n')
	}
}

// selects reports whether the attribute key of tag is one whose value is
// kept.
func (o *htmlOut) selects(tag, key string) bool {
	if o.attrs == nil {
		return false
	}
	o.pair = append(append(append(o.pair[:0], tag...), '/'), key...)
	match, found := o.known[string(o.pair)]
	if !found {
		match = o.attrs.Match(o.pair)
		o.known = attrMemo.add(o.attrs, string(o.pair), match)
	}
	return match
}

// attr adds the decoded value of a selected attribute.
func (o *htmlOut) attr(key, val string) {
	if key == "href" || key == "src" {
		val = percentDecode(val)
	}
	o.extra.WriteString(val)
	o.extra.WriteByte('\n')
}

func (o *htmlOut) String() string {
	if o.extra.Len() > 0 {
		o.main.WriteByte('\n')
		o.main.WriteString(o.extra.String())
	}
	return o.main.String()
}

// tokenizeHTML is htmlText by golang.org/x/net/html's tokenizer.
func tokenizeHTML(doc string, attrs *regexp.Regexp, retainTags bool) string {
	o := newHTMLOut(len(doc), attrs, retainTags)
	z := html.NewTokenizer(strings.NewReader(doc))
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return o.String()
		case html.TextToken:
			if !o.hidden {
				o.main.Write(z.Text())
			}
		case html.StartTagToken, html.EndTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			tag := string(name)
			o.tag(tag, tt == html.StartTagToken)
			for hasAttr {
				var key, val []byte
				key, val, hasAttr = z.TagAttr()
				if o.selects(tag, string(key)) {
					o.attr(string(key), string(val))
				}
			}
		}
	}
}

// attrMemo remembers which tag/attribute pairs the attribute patterns
// match.
var attrMemo matchMemo

// percentDecode decodes the %XX escapes of a URL and keeps anything else, so
// that "cl%61im" reads as "claim" and a stray "%" survives.
func percentDecode(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	b := make([]byte, 0, len(s))
	var c [1]byte
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if _, err := hex.Decode(c[:], []byte(s[i+1:i+3])); err == nil {
				b = append(b, c[0])
				i += 2
				continue
			}
		}
		b = append(b, s[i])
	}
	return string(b)
}
