// Package tokenize turns a parsed mail into the words a Bayesian filter
// counts.
//
// Data flows from a *mail.Message through two steps. Text selection picks
// what SpamOracle reads: the values of the configured top-level headers
// (From: and Subject: by default), then a walk of the MIME tree that takes
// text/plain parts, text/html parts reduced to text (plus link targets and
// image sources), multipart preambles, and the bodies of embedded
// message/rfc822 parts; with AlternativeFavorHTML a multipart/alternative
// that has an HTML child is read through that child only. Every piece of
// text is decoded to UTF-8 first, so "café" gives "cafe" whatever its
// charset. The lexer then applies SpamOracle's word rules (see
// wordSplitter) to each piece.
//
// The package is pure: no I/O, no database. Reassembly of s p a c e d words
// needs to know which words the database holds; the caller supplies that as
// Options.Known. Attachments other than text are never decoded here.
package tokenize

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/mailsift/mailsift/internal/mail"
)

// Options select the text that is tokenized. The zero value selects no
// header and no HTML attribute; use DefaultOptions.
type Options struct {
	// MailHeaders matches the lower-case header names, with their colon
	// ("subject:"), whose values are tokenized.
	MailHeaders *regexp.Regexp
	// HTMLTagAttributes matches "tag/attribute" pairs whose values are
	// added after the text of an HTML part.
	HTMLTagAttributes *regexp.Regexp
	// HTMLRetainTags adds every tag name of an HTML part as a word.
	HTMLRetainTags bool
	// AlternativeFavorHTML reads only the HTML child of a
	// multipart/alternative that has one.
	AlternativeFavorHTML bool
	// Known, when set, turns on reassembly of words written with a
	// separator between their letters: joined runs are emitted when Known
	// says the database holds them.
	Known func(word string) bool
	// MaxTextBytes caps the decoded text read from one part; 0 means no cap.
	MaxTextBytes int
}

// SpamOracle's defaults, in its own (Emacs) regexp syntax.
const (
	DefaultMailHeaders       = `from:\|subject:`
	DefaultHTMLTagAttributes = `a/href\|img/src\|img/alt\|frame/src\|font/face\|font/color`
)

// DefaultOptions are SpamOracle's defaults.
func DefaultOptions() Options {
	return Options{
		MailHeaders:          regexp.MustCompile(`^(?i:from:|subject:)`),
		HTMLTagAttributes:    regexp.MustCompile(`^(?i:a/href|img/src|img/alt|frame/src|font/face|font/color)`),
		AlternativeFavorHTML: true,
		MaxTextBytes:         4 << 20,
	}
}

// CompilePattern compiles a SpamOracle configuration regexp. Patterns are Go
// regexps (RE2 syntax), matched case-insensitively from the start of the
// string; SpamOracle's Emacs-style operators \| \( \) are accepted too, so
// a spamoracle.conf value works as it is.
func CompilePattern(p string) (*regexp.Regexp, error) {
	r := strings.NewReplacer(`\|`, `|`, `\(`, `(`, `\)`, `)`)
	re, err := regexp.Compile(`^(?i:` + r.Replace(p) + `)`)
	if err != nil {
		return nil, fmt.Errorf("tokenize: pattern %q: %w", p, err)
	}
	return re, nil
}

// Words tokenizes one piece of plain text.
func Words(text string) []string {
	var out []string
	w := wordSplitter{emit: func(s string) { out = append(out, s) }, arena: new(arena)}
	w.chunk(text)
	return out
}

// Message returns the tokens of m in stream order (headers first, then the
// bodies), with repeats, and the defects met while decoding its text.
func (o Options) Message(m *mail.Message) ([]string, []mail.Defect) {
	toks, _, defects := o.scan(m, true, false, nil)
	return toks, defects
}

// Text returns the text that would be tokenized, one piece per line group,
// as the words command shows it.
func (o Options) Text(m *mail.Message) string {
	var sb strings.Builder
	for _, f := range m.Root.Header {
		if o.selects(f.Name) {
			sb.WriteString(mail.DecodeWords(f.Value))
			sb.WriteByte('\n')
		}
	}
	var defects []mail.Defect
	o.walk(m.Root, func(text string, html bool) {
		if html {
			text = htmlText(text, o.HTMLTagAttributes, o.HTMLRetainTags)
		}
		sb.WriteString(text)
		sb.WriteByte('\n')
	}, &defects)
	return sb.String()
}

// selects reports whether the header field name is one whose value is
// tokenized. Names seen before are answered from a memo (header names
// repeat from mail to mail).
func (o Options) selects(name string) bool {
	if o.MailHeaders == nil {
		return false
	}
	if ok, found := headerMemo.known(o.MailHeaders)[name]; found {
		return ok
	}
	ok := o.MailHeaders.MatchString(strings.ToLower(name) + ":")
	headerMemo.add(o.MailHeaders, name, ok)
	return ok
}

// headerMemo remembers the answers of selects.
var headerMemo matchMemo

// walk visits the text of p in SpamOracle's order and calls text for each
// piece, with html set for text/html parts.
func (o Options) walk(p *mail.Part, text func(s string, html bool), defects *[]mail.Defect) {
	mt := p.MediaType
	switch {
	case mt == "text/plain", mt == "text/enriched", mt == "text":
		s, ds := p.TextLimit(o.MaxTextBytes)
		*defects = append(*defects, ds...)
		text(s, false)
	case mt == "text/html":
		s, ds := p.TextLimit(o.MaxTextBytes)
		*defects = append(*defects, ds...)
		text(s, true)
	case mt == "multipart/alternative" && o.AlternativeFavorHTML && htmlChild(p) != nil:
		o.walk(htmlChild(p), text, defects)
	case strings.HasPrefix(mt, "multipart/"):
		// Text before the first and after the last boundary is hidden
		// from readers, which makes it a signal worth reading.
		if len(p.Preamble) > 0 {
			text(p.DecodedPreamble(), false)
		}
		for _, c := range p.Parts {
			o.walk(c, text, defects)
		}
		if len(p.Epilogue) > 0 {
			text(p.DecodedEpilogue(), false)
		}
	case p.Embedded != nil:
		o.walk(p.Embedded, text, defects)
	}
}

func htmlChild(p *mail.Part) *mail.Part {
	for _, c := range p.Parts {
		if c.MediaType == "text/html" {
			return c
		}
	}
	return nil
}
