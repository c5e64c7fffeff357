package urls

import (
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
	"mvdan.cc/xurls/v2"
)

// Limits bound the work spent on one message. Zero fields take the
// defaults below.
type Limits struct {
	// MaxURLs is the number of distinct URLs kept; later ones are dropped
	// and Set.Truncated reports it.
	MaxURLs int
	// MaxBytes is the number of input bytes (text and HTML together) a Set
	// reads; the rest of a longer input is not scanned.
	MaxBytes int
	// MaxRegexpBytes is the number of bytes of anchor windows a Set passes
	// to the URL regular expression, which runs at about 1 MB/s.
	MaxRegexpBytes int
}

// Default limits.
const (
	DefaultMaxURLs        = 1000
	DefaultMaxBytes       = 16 << 20
	DefaultMaxRegexpBytes = 256 << 10
)

func (l Limits) withDefaults() Limits {
	if l.MaxURLs <= 0 {
		l.MaxURLs = DefaultMaxURLs
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxRegexpBytes <= 0 {
		l.MaxRegexpBytes = DefaultMaxRegexpBytes
	}
	return l
}

// Set collects the distinct URLs of one message in the order of their first
// appearance. It is not safe for concurrent use.
type Set struct {
	lim       Limits
	list      []URL
	index     map[string]int
	read      int // input bytes read
	regexp    int // bytes passed to the regular expression
	truncated bool
}

// NewSet returns an empty Set with the given limits.
func NewSet(lim Limits) *Set {
	return &Set{lim: lim.withDefaults(), index: make(map[string]int)}
}

// FromText returns the URLs of a plain text under the default limits.
func FromText(text string) []URL {
	s := NewSet(Limits{})
	s.AddText(text, SourceText)
	return s.URLs()
}

// FromHTML returns the URLs of an HTML document under the default limits.
func FromHTML(doc string) []URL {
	s := NewSet(Limits{})
	s.AddHTML(doc)
	return s.URLs()
}

// URLs returns the URLs found so far. The slice is the Set's own.
func (s *Set) URLs() []URL { return s.list }

// Truncated reports whether a limit cut the extraction short: input left
// unread, windows not scanned, or URLs dropped.
func (s *Set) Truncated() bool { return s.truncated }

// budget clips text to what is left of MaxBytes and counts it as read.
func (s *Set) budget(text string) string {
	left := s.lim.MaxBytes - s.read
	if left <= 0 {
		if text != "" {
			s.truncated = true
		}
		return ""
	}
	if len(text) > left {
		s.truncated = true
		text = text[:left]
		for len(text) > 0 && !utf8.RuneStart(text[len(text)-1]) {
			text = text[:len(text)-1]
		}
		if len(text) > 0 {
			if r, _ := utf8.DecodeLastRuneInString(text); r == utf8.RuneError {
				text = text[:len(text)-1]
			}
		}
	}
	s.read += len(text)
	return text
}

// add records one URL candidate and returns its index, or -1 when it is
// not a usable URL or the Set is full.
func (s *Set) add(raw string, src Source, defanged bool) int {
	u, err := Parse(raw)
	if err != nil || !usable(u) {
		return -1
	}
	if i, ok := s.index[u.URL]; ok {
		s.list[i].Count++
		return i
	}
	if len(s.list) >= s.lim.MaxURLs {
		s.truncated = true
		return -1
	}
	u.Source = src
	u.Count = 1
	u.Defanged = u.Defanged || defanged
	s.index[u.URL] = len(s.list)
	s.list = append(s.list, u)
	return len(s.list) - 1
}

// usable rejects URLs whose host cannot be a public site: no dot and not an
// IP address.
func usable(u URL) bool {
	return u.IsIP || strings.Contains(u.HostASCII, ".") && u.RegisteredDomain != ""
}

// maxTexts bounds URL.Texts; maxTextLen bounds one link text.
const (
	maxTexts   = 4
	maxTextLen = 256
)

func (s *Set) addLinkText(i int, text string) {
	text = collapse(text, maxTextLen)
	if text == "" {
		return
	}
	u := &s.list[i]
	if len(u.Texts) >= maxTexts || slices.Contains(u.Texts, text) {
		return
	}
	u.Texts = append(u.Texts, text)
}

// collapse replaces runs of white space by one space, trims, and clips to n
// bytes.
func collapse(s string, n int) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == '\u00a0' || r == '\u200b' {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		if b.Len()+utf8.RuneLen(r) > n {
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Plain text.

// textRe matches URLs that start with a known scheme, defanged schemes
// included, or with "www.". The rest of the match is xurls' IRI body,
// which leaves out trailing punctuation and unbalanced closing brackets.
// It is compiled on first use: most mailsift processes never extract URLs.
var textRe = sync.OnceValue(func() *regexp.Regexp {
	re, err := xurls.StrictMatchingScheme(`https?://|hxxps?://|h\*\*ps?://|ftps?://|sftp://|wss?://|smb://|www\.`)
	if err != nil {
		panic(err) // a constant expression: caught by every test
	}
	return re
})

// Window bounds around an anchor: how far back to look for the scheme,
// and how long a URL may run on.
const (
	windowBack    = 64
	windowForward = 8192
	maxWindow     = 2 * windowForward // merged windows
)

// AddText scans plain text for URLs and records them with the given source.
func (s *Set) AddText(text string, src Source) {
	s.scanText(s.budget(text), src)
}

func (s *Set) scanText(text string, src Source) {
	for _, w := range anchorWindows(text) {
		win := text[w[0]:w[1]]
		if s.regexp+len(win) > s.lim.MaxRegexpBytes {
			s.truncated = true
			return
		}
		s.regexp += len(win)
		ref, offs := refangWindow(win)
		for _, m := range textRe().FindAllStringIndex(ref, -1) {
			match := ref[m[0]:m[1]]
			orig := win[offs[m[0]]:offs[m[1]]]
			if i := s.add(match, src, orig != match); i >= 0 && s.list[i].Count == 1 {
				s.list[i].Raw = clipRaw(orig)
			}
		}
	}
}

// anchorWindows returns the merged byte ranges of text around each anchor
// ("://", ":]//", "www." and "www[.]"), extended to the blanks, quotes or
// angle brackets that delimit a URL, within windowBack and windowForward.
func anchorWindows(text string) [][2]int {
	var anchors []int
	for i := 0; ; {
		j := strings.Index(text[i:], "//")
		if j < 0 {
			break
		}
		j += i
		if j >= 1 && text[j-1] == ':' || j >= 2 && (text[j-1] == ']' || text[j-1] == ')') && text[j-2] == ':' {
			anchors = append(anchors, j)
		}
		i = j + 2
	}
	for i := 0; ; {
		j := strings.IndexAny(text[i:], "wW")
		if j < 0 {
			break
		}
		j += i
		if j+4 <= len(text) && strings.EqualFold(text[j:j+3], "www") {
			if c := text[j+3]; c == '.' || c == '[' || c == '(' {
				anchors = append(anchors, j)
			}
			i = j + 3
			continue
		}
		i = j + 1
	}
	if len(anchors) == 0 {
		return nil
	}
	slices.Sort(anchors)
	var wins [][2]int
	for _, a := range anchors {
		if n := len(wins); n > 0 && a < wins[n-1][1] && wins[n-1][1]-wins[n-1][0] < maxWindow {
			continue // inside the previous window
		}
		start := a
		for start > 0 && a-start < windowBack && !isDelim(text[start-1]) {
			start--
		}
		for start < a && !utf8.RuneStart(text[start]) {
			start++
		}
		end := a
		for end < len(text) && end-a < windowForward && !isDelim(text[end]) {
			end++
		}
		for end < len(text) && end > a && !utf8.RuneStart(text[end]) {
			end--
		}
		if n := len(wins); n > 0 && start <= wins[n-1][1] && end-wins[n-1][0] <= maxWindow {
			wins[n-1][1] = end
			continue
		}
		wins = append(wins, [2]int{start, end})
	}
	return wins
}

func isDelim(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '\f', '\v', '"', '<', '>':
		return true
	}
	return false
}

// refangWindow undoes bracketed defanging in a window and returns, for
// every byte offset of the result (and its end), the offset in win.
func refangWindow(win string) (string, []int) {
	if !strings.ContainsAny(win, "[({") {
		return win, identity(len(win))
	}
	var b strings.Builder
	offs := make([]int, 0, len(win)+1)
	for i := 0; i < len(win); {
		if c := win[i]; c == '[' || c == '(' || c == '{' {
			if from, to, ok := defangAt(win[i:]); ok {
				for k := 0; k < len(to); k++ {
					offs = append(offs, i)
				}
				b.WriteString(to)
				i += len(from)
				continue
			}
		}
		offs = append(offs, i)
		b.WriteByte(win[i])
		i++
	}
	offs = append(offs, len(win))
	return b.String(), offs
}

var defangForms = [][2]string{
	{"[://]", "://"}, {"[:]//", "://"}, {"[:]", ":"}, {"[.]", "."}, {"(.)", "."}, {"{.}", "."},
	{"[dot]", "."}, {"(dot)", "."}, {"[DOT]", "."}, {"(DOT)", "."}, {"[/]", "/"},
}

func defangAt(s string) (from, to string, ok bool) {
	for _, f := range defangForms {
		if strings.HasPrefix(s, f[0]) {
			return f[0], f[1], true
		}
	}
	return "", "", false
}

func identity(n int) []int {
	offs := make([]int, n+1)
	for i := range offs {
		offs[i] = i
	}
	return offs
}

// HTML.

// AddHTML walks an HTML document and records the URLs of links, embedded
// resources, forms and meta refreshes, and those in its visible text and
// inline scripts. Relative links are resolved against <base href>; without
// one they are dropped, except "www." links, which mail readers and users
// take as http.
func (s *Set) AddHTML(doc string) { s.addHTML(doc, nil) }

// AddHTMLText is AddHTML that also returns the visible text of the
// document, as the walk saw it: tags, scripts and styles left out, entities
// decoded, white space not collapsed.
func (s *Set) AddHTMLText(doc string) string {
	var visible strings.Builder
	s.addHTML(doc, &visible)
	return visible.String()
}

func (s *Set) addHTML(doc string, visible *strings.Builder) {
	doc = s.budget(doc)
	if doc == "" {
		return
	}
	w := htmlWalk{set: s, anchor: -1, visible: visible}
	z := html.NewTokenizer(strings.NewReader(doc))
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			w.flush()
			w.endAnchor()
			return
		case html.TextToken:
			w.text(z.Text())
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			a := atom.Lookup(name)
			var attrs []html.Attribute
			for hasAttr {
				k, v, more := z.TagAttr()
				attrs = append(attrs, html.Attribute{Key: string(k), Val: string(v)})
				hasAttr = more
			}
			w.start(a, attrs, tt == html.SelfClosingTagToken)
		case html.EndTagToken:
			name, _ := z.TagName()
			w.end(atom.Lookup(name))
		}
	}
}

// htmlWalk is the state of one AddHTML call.
type htmlWalk struct {
	set     *Set
	base    *url.URL
	buf     strings.Builder // visible text not yet scanned
	skip    atom.Atom       // inside style or script
	anchor  int             // index of the URL of the open <a>, or -1
	inA     bool
	linkTxt strings.Builder
	visible *strings.Builder // when not nil, collects the visible text
}

func (w *htmlWalk) text(b []byte) {
	switch w.skip {
	case atom.Style:
		return
	case atom.Script:
		w.set.scanText(string(b), SourceScript)
		return
	}
	if w.buf.Len() > 0 {
		w.buf.WriteByte(' ')
	}
	w.buf.Write(b)
	if w.inA && w.linkTxt.Len() < 4*maxTextLen {
		w.linkTxt.Write(b)
	}
}

// flush scans the visible text gathered since the last URL attribute, so
// that URLs keep their document order.
func (w *htmlWalk) flush() {
	if w.buf.Len() == 0 {
		return
	}
	w.set.scanText(w.buf.String(), SourceHTMLText)
	if w.visible != nil {
		w.visible.WriteString(w.buf.String())
		w.visible.WriteByte('\n')
	}
	w.buf.Reset()
}

func (w *htmlWalk) endAnchor() {
	if w.inA && w.anchor >= 0 {
		w.set.addLinkText(w.anchor, w.linkTxt.String())
	}
	w.inA, w.anchor = false, -1
	w.linkTxt.Reset()
}

func (w *htmlWalk) start(a atom.Atom, attrs []html.Attribute, selfClosing bool) {
	switch a {
	case atom.Script, atom.Style:
		if !selfClosing {
			w.skip = a
		}
		return
	case atom.Base:
		if w.base == nil {
			if v, ok := attr(attrs, "href"); ok {
				if b, err := url.Parse(stripBlanks(v)); err == nil && b.IsAbs() {
					w.base = b
				}
			}
		}
		return
	case atom.A, atom.Area:
		if a == atom.A {
			w.endAnchor()
		}
		if v, ok := attr(attrs, "href"); ok {
			i := w.link(v, SourceHref)
			if a == atom.A {
				w.inA, w.anchor = true, i
			}
		}
	case atom.Link:
		if v, ok := attr(attrs, "href"); ok {
			w.link(v, SourceHref)
		}
	case atom.Form:
		if v, ok := attr(attrs, "action"); ok {
			w.link(v, SourceForm)
		}
	case atom.Button, atom.Input:
		if v, ok := attr(attrs, "formaction"); ok {
			w.link(v, SourceForm)
		}
		if v, ok := attr(attrs, "src"); ok {
			w.link(v, SourceSrc)
		}
	case atom.Meta:
		if v, ok := attr(attrs, "http-equiv"); ok && strings.EqualFold(strings.TrimSpace(v), "refresh") {
			if c, ok := attr(attrs, "content"); ok {
				if target := refreshURL(c); target != "" {
					w.link(target, SourceMetaRefresh)
				}
			}
		}
	default:
		for _, k := range []string{"src", "background", "data", "poster"} {
			if v, ok := attr(attrs, k); ok {
				w.link(v, SourceSrc)
			}
		}
	}
	if a == atom.Br || a == atom.P || a == atom.Div || a == atom.Td || a == atom.Tr || a == atom.Li {
		w.buf.WriteByte(' ')
	}
}

func (w *htmlWalk) end(a atom.Atom) {
	switch {
	case a == w.skip && a != 0:
		w.skip = 0
	case a == atom.A:
		w.endAnchor()
	}
}

// link resolves and records one URL attribute and returns its index, or -1.
func (w *htmlWalk) link(v string, src Source) int {
	w.flush()
	v = stripBlanks(v)
	if v == "" || strings.HasPrefix(v, "#") {
		return -1
	}
	if scheme, _, ok := splitScheme(v); ok && !hasPrefixFold(v, "www.") {
		switch strings.ToLower(scheme) {
		case "javascript", "data", "mailto", "tel", "cid", "about", "sms", "vbscript":
			return -1
		}
		return w.set.add(v, src, false)
	}
	if hasPrefixFold(v, "www.") && w.base == nil {
		return w.set.add(v, src, false)
	}
	if w.base == nil {
		if strings.HasPrefix(v, "//") || strings.HasPrefix(v, `\\`) {
			return w.set.add(v, src, false)
		}
		return -1
	}
	ref, err := url.Parse(v)
	if err != nil {
		return -1
	}
	return w.set.add(w.base.ResolveReference(ref).String(), src, false)
}

func attr(attrs []html.Attribute, key string) (string, bool) {
	for _, a := range attrs {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

// refreshURL returns the URL of a meta refresh content value such as
// "0; url='http://example.com/'" or "5;URL=http://example.com/".
func refreshURL(c string) string {
	i := strings.IndexAny(c, ";,")
	if i < 0 {
		return ""
	}
	c = strings.TrimSpace(c[i+1:])
	if hasPrefixFold(c, "url") {
		rest := strings.TrimSpace(c[3:])
		if strings.HasPrefix(rest, "=") {
			c = strings.TrimSpace(rest[1:])
		}
	}
	if len(c) > 0 && (c[0] == '\'' || c[0] == '"') {
		q := c[0]
		c = c[1:]
		if j := strings.IndexByte(c, q); j >= 0 {
			c = c[:j]
		}
	}
	return c
}
