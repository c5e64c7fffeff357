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
// its words in. Entities are decoded by the HTML tokenizer (golang.org/x/net/html),
// so &eacute; is é and &rsquo; is ’. Comments and the contents of script and
// style elements are skipped: no reader sees them, and their code words are
// noise that ham and spam share.
func htmlText(doc string, attrs *regexp.Regexp, retainTags bool) string {
	var main, extra strings.Builder
	main.Grow(len(doc))
	z := html.NewTokenizer(strings.NewReader(doc))
	hidden := false // inside script or style
	var (
		pair  []byte // "tag/attribute", matched against attrs
		known map[string]bool
	)
	if attrs != nil {
		known = attrMemo.known(attrs)
	}
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			if extra.Len() > 0 {
				main.WriteByte('\n')
				main.WriteString(extra.String())
			}
			return main.String()
		case html.TextToken:
			if !hidden {
				main.Write(z.Text())
			}
		case html.StartTagToken, html.EndTagToken, html.SelfClosingTagToken:
			tag, hasAttr := z.TagName()
			if string(tag) == "script" || string(tag) == "style" {
				hidden = tt == html.StartTagToken
			}
			if isBlockTag(string(tag)) {
				main.WriteByte(' ')
			}
			if retainTags {
				extra.Write(tag)
				extra.WriteByte('\n')
			}
			for hasAttr {
				var key, val []byte
				key, val, hasAttr = z.TagAttr()
				if attrs == nil {
					continue
				}
				pair = append(append(append(pair[:0], tag...), '/'), key...)
				match, found := known[string(pair)]
				if !found {
					match = attrs.Match(pair)
					known = attrMemo.add(attrs, string(pair), match)
				}
				if !match {
					continue
				}
				v := string(val)
				if k := string(key); k == "href" || k == "src" {
					v = percentDecode(v)
				}
				extra.WriteString(v)
				extra.WriteByte('\n')
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
