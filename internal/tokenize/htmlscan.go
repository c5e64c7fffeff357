package tokenize

import (
	"regexp"
	"strings"

	"golang.org/x/net/html"
)

// scanHTML is htmlText in one pass over the document's bytes, by the rules
// of the HTML tokenizer (WHATWG, as golang.org/x/net/html applies them):
// the same text, tags and attributes, with character references decoded by
// html.UnescapeString. It declines (false) the documents whose reading
// takes the tokenizer's rarer states: a NUL byte, which the tokenizer
// replaces in some places and not in others, and a script whose text holds
// "<!--", which starts the script's escaped states. An attribute value
// with a character reference is decoded by the tokenizer itself, since
// references in attributes follow rules of their own.
func scanHTML(doc string, attrs *regexp.Regexp, retainTags bool) (string, bool) {
	if strings.IndexByte(doc, 0) >= 0 {
		return "", false
	}
	o := newHTMLOut(len(doc), attrs, retainTags)
	s := htmlScanner{doc: doc}
	for s.p < len(doc) {
		start := s.p
		lt := s.nextMarkup()
		if lt > start && !o.hidden {
			o.main.WriteString(htmlData(doc[start:lt], true))
		}
		if lt == len(doc) {
			break
		}
		s.p = lt + 1
		switch c := doc[s.p]; {
		case isASCIILetter(c):
			t, ok := s.tag(true)
			if !ok {
				return o.String(), true
			}
			o.tag(t.name, !t.selfClosing)
			for _, a := range s.attrs {
				if o.selects(t.name, a.key) {
					o.attr(a.key, a.value(doc))
				}
			}
			if !s.raw(t.name, o) {
				return "", false
			}
		case c == '/':
			s.p++
			switch {
			case isASCIILetter(doc[s.p]):
				t, ok := s.tag(false)
				if !ok {
					return o.String(), true
				}
				o.tag(t.name, false)
			case doc[s.p] == '>':
				s.p++ // "</>" is nothing at all
			default: // "</" and neither a letter nor '>': a bogus comment
				s.untilCloseAngle()
			}
		case c == '!':
			s.p++
			s.markupDeclaration()
		default: // '?'
			s.untilCloseAngle()
		}
	}
	return o.String(), true
}

// htmlScanner reads an HTML document from its position p.
type htmlScanner struct {
	doc   string
	p     int
	attrs []htmlAttr          // of the last start tag, as the tokenizer keeps them
	seen  map[string]struct{} // their keys, once there are many
	names []byte              // scratch for lower-casing names
}

// htmlTag is a tag read by htmlScanner.tag.
type htmlTag struct {
	name        string // lower case
	selfClosing bool
}

// htmlAttr is an attribute of a start tag: its lower-case key and where
// its value lies in the document.
type htmlAttr struct {
	key        string
	start, end int  // the value, without quotes
	quote      byte // '"', '\'' or 0 for an unquoted value
}

// value returns the attribute's value with newlines normalised and
// character references decoded.
func (a htmlAttr) value(doc string) string {
	v := doc[a.start:a.end]
	if strings.IndexByte(v, '&') < 0 {
		return convertNewlines(v)
	}
	// Let the tokenizer decode it, from a tag of the same quoting.
	var tag strings.Builder
	tag.WriteString("<a v=")
	if a.quote != 0 {
		tag.WriteByte(a.quote)
	}
	tag.WriteString(v)
	if a.quote != 0 {
		tag.WriteByte(a.quote)
	}
	tag.WriteByte('>')
	z := html.NewTokenizer(strings.NewReader(tag.String()))
	z.Next()
	z.TagName()
	_, val, _ := z.TagAttr()
	return string(val)
}

// isHTMLSpace reports whether c is white space to the tokenizer.
func isHTMLSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f'
}

// nextMarkup returns the position of the next '<' that starts markup (a
// tag, comment, declaration or processing instruction), or the document's
// length. A '<' followed by anything but a letter, '!', '?' or '/', and a
// "</" that ends the document, are text.
func (s *htmlScanner) nextMarkup() int {
	doc := s.doc
	for i := s.p; ; {
		j := strings.IndexByte(doc[i:], '<')
		if j < 0 {
			return len(doc)
		}
		i += j
		if i+1 >= len(doc) {
			return len(doc)
		}
		switch c := doc[i+1]; {
		case isASCIILetter(c), c == '!', c == '?':
			return i
		case c == '/':
			if i+2 < len(doc) {
				return i
			}
			return len(doc)
		}
		i++
	}
}

// skipSpace moves past white space and reports whether any input is left.
func (s *htmlScanner) skipSpace() bool {
	for s.p < len(s.doc) && isHTMLSpace(s.doc[s.p]) {
		s.p++
	}
	return s.p < len(s.doc)
}

// tag reads a tag from its name (p is on its first letter) to its closing
// '>', keeping the attributes of a start tag in s.attrs. It reports false
// when the document ends first: the tokenizer then drops the tag and ends.
func (s *htmlScanner) tag(start bool) (htmlTag, bool) {
	doc := s.doc
	s.attrs = s.attrs[:0]
	clear(s.seen)
	nameStart := s.p
	s.p++
	var nameEnd int
	for {
		if s.p >= len(doc) {
			return htmlTag{}, false
		}
		c := doc[s.p]
		if isHTMLSpace(c) {
			nameEnd = s.p
			s.p++
			break
		}
		if c == '/' || c == '>' {
			nameEnd = s.p
			break
		}
		s.p++
	}
	lastValueEnd := -1 // of the last attribute kept
	for {
		if !s.skipSpace() {
			return htmlTag{}, false
		}
		if doc[s.p] == '>' {
			s.p++
			break
		}
		keyStart := s.p
		keyEnd, ok := s.attrKey()
		if !ok {
			return htmlTag{}, false
		}
		a, ok := s.attrValue()
		if !ok {
			return htmlTag{}, false
		}
		if start && keyStart < keyEnd {
			a.key = s.lower(doc[keyStart:keyEnd])
			if s.keep(a) {
				lastValueEnd = a.end
			}
		}
	}
	t := htmlTag{name: s.lower(doc[nameStart:nameEnd])}
	// "/>" closes the tag itself, unless the '/' ends an unquoted value.
	if start && doc[s.p-2] == '/' && s.p-2 != lastValueEnd-1 {
		t.selfClosing = true
	}
	return t, true
}

// keep adds a to the tag's attributes unless it has one of the same name
// (the tokenizer keeps the first), and reports whether it did. Past a few
// attributes their names go in a set, so that a tag with thousands of
// them costs no more than it does the tokenizer.
func (s *htmlScanner) keep(a htmlAttr) bool {
	const few = 8
	if len(s.attrs) < few {
		for _, b := range s.attrs {
			if b.key == a.key {
				return false
			}
		}
	} else {
		if s.seen == nil {
			s.seen = map[string]struct{}{}
		}
		if len(s.seen) == 0 {
			for _, b := range s.attrs {
				s.seen[b.key] = struct{}{}
			}
		}
		if _, dup := s.seen[a.key]; dup {
			return false
		}
		s.seen[a.key] = struct{}{}
	}
	s.attrs = append(s.attrs, a)
	return true
}

// attrKey reads an attribute name and returns where it ends. A '=' that
// comes first is part of the name.
func (s *htmlScanner) attrKey() (int, bool) {
	doc := s.doc
	start := s.p
	for ; s.p < len(doc); s.p++ {
		switch c := doc[s.p]; {
		case c == '=' && s.p > start, c == '/', c == '>', isHTMLSpace(c):
			return s.p, true
		}
	}
	return 0, false
}

// attrValue reads what follows an attribute name: "= value", quoted or
// not, or nothing. A '/' after the name is consumed.
func (s *htmlScanner) attrValue() (htmlAttr, bool) {
	doc := s.doc
	a := htmlAttr{start: s.p, end: s.p}
	if !s.skipSpace() {
		return a, false
	}
	switch doc[s.p] {
	case '/':
		s.p++
		return a, true
	case '=':
		s.p++
	default:
		return a, true
	}
	if !s.skipSpace() {
		return a, false
	}
	switch q := doc[s.p]; q {
	case '>':
		return a, true
	case '"', '\'':
		end := strings.IndexByte(doc[s.p+1:], q)
		if end < 0 {
			return a, false
		}
		a.start, a.end, a.quote = s.p+1, s.p+1+end, q
		s.p = a.end + 1
		return a, true
	default:
		a.start = s.p
		for {
			s.p++
			if s.p >= len(doc) {
				return a, false
			}
			if c := doc[s.p]; isHTMLSpace(c) {
				a.end = s.p
				s.p++
				return a, true
			} else if c == '>' {
				a.end = s.p
				return a, true
			}
		}
	}
}

// lower returns name in ASCII lower case, as the tokenizer gives names:
// without a copy when it is already, and without an allocation when it is
// the name of a common tag or attribute.
func (s *htmlScanner) lower(name string) string {
	i := 0
	for i < len(name) && (name[i] < 'A' || name[i] > 'Z') {
		i++
	}
	if i == len(name) {
		return name
	}
	b := append(s.names[:0], name...)
	for ; i < len(b); i++ {
		if c := b[i]; 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	s.names = b
	if n, ok := commonNames[string(b)]; ok {
		return n
	}
	return string(b)
}

// commonNames are the tag and attribute names that mail HTML writes in
// upper case most.
var commonNames = func() map[string]string {
	m := map[string]string{}
	for _, n := range strings.Fields(`a b big blockquote body br center div em font form h1 h2 h3 h4 h5 h6
		head hr html i img input li link meta ol option p pre small span strike strong style sub sup
		table tbody td th thead title tr tt u ul script
		align alt background bgcolor border cellpadding cellspacing class color colspan content face
		height href id lang name rowspan size src target type valign value width`) {
		m[n] = n
	}
	return m
}()

// untilCloseAngle skips a bogus comment: everything up to the next '>'.
func (s *htmlScanner) untilCloseAngle() {
	if i := strings.IndexByte(s.doc[s.p:], '>'); i >= 0 {
		s.p += i + 1
	} else {
		s.p = len(s.doc)
	}
}

// markupDeclaration skips what follows "<!": a comment, or a doctype or
// bogus comment up to the next '>'.
func (s *htmlScanner) markupDeclaration() {
	if strings.HasPrefix(s.doc[s.p:], "--") {
		s.p += 2
		s.comment()
		return
	}
	s.untilCloseAngle()
}

// comment skips a comment after its "<!--". It ends at "-->" or "--!>",
// or at once as "<!-->" or "<!--->".
func (s *htmlScanner) comment() {
	doc := s.doc
	dashes, beginning := 0, true
	for s.p < len(doc) {
		c := doc[s.p]
		s.p++
		switch c {
		case '-':
			dashes++
			continue
		case '>':
			if dashes >= 2 || beginning {
				return
			}
		case '!':
			if dashes >= 2 && s.p < len(doc) {
				c = doc[s.p]
				s.p++
				switch c {
				case '>':
					return
				case '-':
					dashes, beginning = 1, false
					continue
				}
			}
		}
		dashes, beginning = 0, false
	}
}

// raw reads the text of an element whose content is not markup, after its
// start tag: skipped while hidden (after <script> and <style>; a
// self-closing <script/> hides nothing, but its text is still raw), kept
// as written otherwise, with references decoded in title and textarea. It
// declines a script that holds "<!--".
func (s *htmlScanner) raw(name string, o *htmlOut) bool {
	switch name {
	case "script", "style", "textarea", "title", "iframe", "noembed", "noframes", "noscript", "xmp":
	case "plaintext":
		if !o.hidden {
			o.main.WriteString(htmlData(s.doc[s.p:], false))
		}
		s.p = len(s.doc)
		return true
	default:
		return true
	}
	end := s.rawEnd(name)
	text := s.doc[s.p:end]
	if name == "script" && strings.Contains(text, "<!--") {
		return false
	}
	if !o.hidden {
		o.main.WriteString(htmlData(text, name == "textarea" || name == "title"))
	}
	s.p = end
	return true
}

// rawEnd returns where the raw text from p ends: at the "</name" followed
// by white space, '/' or '>' (in any case), or at the end of the document.
func (s *htmlScanner) rawEnd(name string) int {
	doc := s.doc
	for i := s.p; ; {
		j := strings.Index(doc[i:], "</")
		if j < 0 {
			return len(doc)
		}
		i += j
		// name is ASCII, so EqualFold of as many bytes folds ASCII only.
		k := i + 2 + len(name)
		if k < len(doc) && strings.EqualFold(doc[i+2:k], name) {
			if c := doc[k]; isHTMLSpace(c) || c == '/' || c == '>' {
				return i
			}
		}
		i += 2
	}
}

// htmlData returns text as the tokenizer gives it: carriage returns made
// line feeds and, unless the text is raw, character references decoded.
func htmlData(text string, decode bool) string {
	text = convertNewlines(text)
	if decode {
		return html.UnescapeString(text)
	}
	return text
}

// convertNewlines turns "\r\n" and a lone "\r" into "\n".
func convertNewlines(s string) string {
	if strings.IndexByte(s, '\r') < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
}
