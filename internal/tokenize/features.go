package tokenize

import (
	"net/url"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mailsift/mailsift/internal/mail"
)

// Features returns the tokens of m for the Fisher classifier, with
// repeats. Beyond the words of the text (SpamOracle's rules, with words up
// to 20 letters), they say where a word was found: a token from a header
// carries the header's name ("subj:free" is not "free"), and the message's
// structure becomes tokens of its own: sender and relay addresses, link
// hosts, MIME types, charsets and transfer encodings. Runs of CJK
// characters give overlapping pairs, since those scripts do not separate
// words.
func (o Options) Features(m *mail.Message) []string {
	toks := make([]string, 0, len(m.Raw)/6+32)
	add := func(s string) { toks = append(toks, s) }
	prefixed := func(prefix string) *wordSplitter {
		return &wordSplitter{emit: func(s string) { add(prefix + s) }, maxWord: featureMaxWord, cjk: add}
	}
	h := m.Root.Header
	for _, f := range h {
		name := strings.ToLower(f.Name)
		switch name {
		case "subject":
			prefixed("subj:").chunk(mail.DecodeWords(f.Value))
		case "from", "reply-to", "sender":
			prefixed("from:").chunk(mail.DecodeWords(f.Value))
			for _, d := range addressDomains(f.Value) {
				add("from@" + d)
			}
		case "to", "cc":
			prefixed("to:").chunk(mail.DecodeWords(f.Value))
		case "received":
			for _, ip := range ipv4.FindAllString(f.Value, -1) {
				add("ip:" + ip)
				add("ip:" + ip[:strings.LastIndexByte(ip, '.')])
			}
			prefixed("rcvd:").chunk(f.Value)
		case "x-mailer", "user-agent":
			prefixed("xm:").chunk(f.Value)
		case "message-id":
			if at := strings.LastIndexByte(f.Value, '@'); at >= 0 {
				add("mid@" + strings.ToLower(strings.Trim(f.Value[at+1:], "<> ")))
			}
		}
	}
	body := &wordSplitter{emit: add, maxWord: featureMaxWord, cjk: add}
	var defects []mail.Defect
	o.walk(m.Root, func(text string, html bool) {
		if html {
			text = htmlText(text, o.HTMLTagAttributes, o.HTMLRetainTags)
		}
		for _, host := range urlHosts(text) {
			add("url:" + host)
		}
		body.chunk(text)
	}, &defects)
	m.Root.Walk(func(p *mail.Part) bool {
		add("ct:" + p.MediaType)
		if cs := p.Charset(); cs != "" {
			add("cs:" + cs)
		}
		if p.Encoding != "" {
			add("cte:" + p.Encoding)
		}
		if p.Filename != "" {
			if dot := strings.LastIndexByte(p.Filename, '.'); dot >= 0 {
				add("ext:" + strings.ToLower(p.Filename[dot+1:]))
			}
		}
		return true
	})
	for _, d := range m.Defects {
		add("defect:" + d.Name)
	}
	return toks
}

// featureMaxWord is the longest word the Fisher classifier counts.
const featureMaxWord = 20

var (
	ipv4   = regexp.MustCompile(`\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b`)
	urlRe  = regexp.MustCompile(`(?i)\b(?:https?|ftp)://[^\s"'<>()]+`)
	domain = regexp.MustCompile(`@([A-Za-z0-9.-]+\.[A-Za-z]{2,})`)
)

// addressDomains returns the lower-case domains of the addresses in a
// header value, each with its parent domains down to two labels.
func addressDomains(v string) []string {
	var out []string
	for _, m := range domain.FindAllStringSubmatch(v, -1) {
		out = append(out, parents(strings.ToLower(m[1]))...)
	}
	return out
}

// urlHosts returns the hosts of the http, https and ftp links in text,
// each with its parent domains down to two labels.
func urlHosts(text string) []string {
	if !strings.Contains(text, "://") {
		return nil
	}
	var out []string
	for _, raw := range urlRe.FindAllString(text, -1) {
		u, err := url.Parse(raw)
		if err != nil || u.Hostname() == "" {
			continue
		}
		out = append(out, parents(strings.ToLower(u.Hostname()))...)
	}
	return out
}

// parents returns host and its parent domains: a.b.example.com gives
// a.b.example.com, b.example.com and example.com.
func parents(host string) []string {
	out := []string{host}
	for strings.Count(host, ".") > 1 {
		host = host[strings.IndexByte(host, '.')+1:]
		out = append(out, host)
	}
	return out
}

// isCJK reports whether r belongs to a script written without spaces.
func isCJK(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul, unicode.Thai)
}

// cjkPairs emits the overlapping pairs of characters of a run of CJK text
// (a run of one character gives itself).
func cjkPairs(run string, emit func(string)) {
	prev := -1
	for i := 0; i < len(run); {
		_, size := utf8.DecodeRuneInString(run[i:])
		if prev >= 0 {
			emit(run[prev : i+size])
		}
		prev = i
		i += size
	}
	if prev == 0 {
		emit(run)
	}
}
