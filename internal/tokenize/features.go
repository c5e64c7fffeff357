package tokenize

import (
	"net/url"
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
	return o.AppendFeatures(nil, m)
}

// AppendFeatures is Features appending to dst, so that a caller can
// reuse one slice from message to message.
func (o Options) AppendFeatures(dst []string, m *mail.Message) []string {
	_, feats, _ := o.scan(m, false, true, dst)
	return feats
}

// WordsAndFeatures returns both views of m, SpamOracle's words (as
// Message gives them) and the features, from one pass over its text: each
// part is decoded and each HTML part parsed once.
func (o Options) WordsAndFeatures(m *mail.Message) (words, features []string, defects []mail.Defect) {
	return o.scan(m, true, true, nil)
}

// scan reads m once and collects SpamOracle's words, the features
// (appended to feats), or both.
func (o Options) scan(m *mail.Message, wantWords, wantFeatures bool, feats []string) (words, _ []string, defects []mail.Defect) {
	var w *wordSplitter
	a := new(arena)
	if wantWords {
		words = make([]string, 0, len(m.Raw)/8+16)
		w = &wordSplitter{emit: func(s string) { words = append(words, s) }, known: o.Known, arena: a}
		for _, f := range m.Root.Header {
			if o.selects(f.Name) {
				w.chunk(mail.DecodeWords(f.Value))
			}
		}
	}
	var body *wordSplitter
	add := func(s string) { feats = append(feats, s) }
	if wantFeatures {
		if feats == nil {
			feats = make([]string, 0, len(m.Raw)/6+32)
		}
		o.headerFeatures(m.Root.Header, add, a)
		body = &wordSplitter{emit: add, maxWord: featureMaxWord, cjk: add, arena: a}
	}
	o.walk(m.Root, func(text string, html bool) {
		if html {
			text = htmlText(text, o.HTMLTagAttributes, o.HTMLRetainTags)
		}
		if w != nil {
			w.chunk(text)
		}
		if body != nil {
			for _, host := range urlHosts(text) {
				add(a.concat("url:", host))
			}
			body.chunk(text)
		}
	}, &defects)
	if wantFeatures {
		structureFeatures(m, add, a)
	}
	return words, feats, defects
}

// headerFeatures adds the tokens of the headers, each named by where it
// was found.
func (o Options) headerFeatures(h mail.Header, add func(string), a *arena) {
	w := &wordSplitter{emit: add, maxWord: featureMaxWord, cjk: add, arena: a}
	prefixed := func(prefix, text string) {
		w.prefix = prefix
		w.chunk(text)
	}
	for _, f := range h {
		switch headerKind(f.Name) {
		case "subject":
			prefixed("subj:", mail.DecodeWords(f.Value))
		case "from", "reply-to", "sender":
			prefixed("from:", mail.DecodeWords(f.Value))
			for _, d := range addressDomains(f.Value) {
				add(a.concat("from@", d))
			}
		case "to", "cc":
			prefixed("to:", mail.DecodeWords(f.Value))
		case "received":
			for v := f.Value; ; {
				ip, rest := nextIPv4(v)
				if ip == "" {
					break
				}
				add(a.concat("ip:", ip))
				add(a.concat("ip:", ip[:strings.LastIndexByte(ip, '.')]))
				v = rest
			}
			prefixed("rcvd:", f.Value)
		case "x-mailer", "user-agent":
			prefixed("xm:", f.Value)
		case "message-id":
			if at := strings.LastIndexByte(f.Value, '@'); at >= 0 {
				add("mid@" + strings.ToLower(strings.Trim(f.Value[at+1:], "<> ")))
			}
		}
	}
}

// featureHeaders are the header fields whose values give features.
var featureHeaders = [...]string{"subject", "from", "reply-to", "sender", "to", "cc", "received", "x-mailer", "user-agent", "message-id"}

// headerKind returns the lower-case name of a header field with features,
// or "".
func headerKind(name string) string {
	for _, k := range featureHeaders {
		if len(name) == len(k) && strings.EqualFold(name, k) {
			return k
		}
	}
	return ""
}

// structureFeatures adds the message's MIME structure and defects.
func structureFeatures(m *mail.Message, add func(string), a *arena) {
	m.Root.Walk(func(p *mail.Part) bool {
		add(a.concat("ct:", p.MediaType))
		if cs := p.Charset(); cs != "" {
			add(a.concat("cs:", cs))
		}
		if p.Encoding != "" {
			add(a.concat("cte:", p.Encoding))
		}
		if p.Filename != "" {
			if dot := strings.LastIndexByte(p.Filename, '.'); dot >= 0 {
				add("ext:" + strings.ToLower(p.Filename[dot+1:]))
			}
		}
		return true
	})
	for _, d := range m.Defects {
		add(a.concat("defect:", d.Name))
	}
}

// featureMaxWord is the longest word the Fisher classifier counts.
const featureMaxWord = 20

// nextIPv4 finds the first dotted quad in s as the regexp
// \b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b would, and returns it with the
// text after it; ip is "" when there is none. Each number is a whole run
// of digits: the word boundaries leave the regexp no other choice.
func nextIPv4(s string) (ip, rest string) {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) || (i > 0 && isWordByte(s[i-1])) {
			continue
		}
		end := i
		for group := 0; group < 4; group++ {
			if group > 0 {
				if end >= len(s) || s[end] != '.' {
					end = -1
					break
				}
				end++
			}
			j := end
			for j < len(s) && isDigit(s[j]) {
				j++
			}
			if n := j - end; n < 1 || n > 3 {
				end = -1
				break
			}
			end = j
		}
		if end >= 0 && (end == len(s) || !isWordByte(s[end])) {
			return s[i:end], s[end:]
		}
	}
	return "", ""
}

func isDigit(b byte) bool { return '0' <= b && b <= '9' }

// addressDomains returns the lower-case domains of the addresses in a
// header value, each with its parent domains down to two labels.
func addressDomains(v string) []string {
	var out []string
	for {
		d, rest := nextDomain(v)
		if d == "" {
			return out
		}
		out = appendParents(out, strings.ToLower(d))
		v = rest
	}
}

// nextDomain finds the first domain after an @ in s as the regexp
// @([A-Za-z0-9.-]+\.[A-Za-z]{2,}) would, and returns it with the text
// after it; d is "" when there is none. Of the run of domain bytes after
// an @, the regexp takes the longest start that is followed by a dot and
// two letters, then every letter after that dot.
func nextDomain(s string) (d, rest string) {
	for {
		at := strings.IndexByte(s, '@')
		if at < 0 {
			return "", ""
		}
		s = s[at+1:]
		n := 0
		for n < len(s) && isDomainByte(s[n]) {
			n++
		}
		for dot := n - 3; dot >= 1; dot-- {
			if s[dot] == '.' && isASCIILetter(s[dot+1]) && isASCIILetter(s[dot+2]) {
				end := dot + 3
				for end < n && isASCIILetter(s[end]) {
					end++
				}
				return s[:end], s[end:]
			}
		}
		s = s[n:]
	}
}

func isDomainByte(b byte) bool { return isASCIILetter(b) || isDigit(b) || b == '.' || b == '-' }

// urlHosts returns the hosts of the http, https and ftp links in text,
// each with its parent domains down to two labels.
func urlHosts(text string) []string {
	if !strings.Contains(text, "://") {
		return nil
	}
	var out []string
	for _, raw := range findLinks(text) {
		u, err := url.Parse(raw)
		if err != nil || u.Hostname() == "" {
			continue
		}
		out = appendParents(out, strings.ToLower(u.Hostname()))
	}
	return out
}

// findLinks returns what the regexp \b(?i:https?|ftp)://[^\s"'<>()]+
// would find in text, by looking only around each "://": the regexp,
// case-insensitive and without a literal prefix, scans every byte of the
// text and was a sixth of the time of classifying a mail.
func findLinks(text string) []string {
	var out []string
	for i := 0; i < len(text); {
		j := strings.Index(text[i:], "://")
		if j < 0 {
			break
		}
		at := i + j
		i = at + 3
		start := at
		for start > 0 && isASCIILetter(text[start-1]) {
			start--
		}
		if start > 0 && isWordByte(text[start-1]) {
			continue // no word boundary before the scheme
		}
		switch scheme := text[start:at]; {
		case strings.EqualFold(scheme, "http"), strings.EqualFold(scheme, "https"), strings.EqualFold(scheme, "ftp"):
		default:
			continue
		}
		end := i
		for end < len(text) && !strings.ContainsRune("\t\n\f\r \"'<>()", rune(text[end])) {
			end++
		}
		if end == i {
			continue
		}
		out = append(out, text[start:end])
		i = end
	}
	return out
}

func isASCIILetter(b byte) bool { return 'a' <= b|0x20 && b|0x20 <= 'z' }

// isWordByte is regexp's \w: an ASCII letter, digit or underscore.
func isWordByte(b byte) bool { return isASCIILetter(b) || isDigit(b) || b == '_' }

// appendParents appends host and its parent domains to out:
// a.b.example.com gives a.b.example.com, b.example.com and example.com.
func appendParents(out []string, host string) []string {
	out = append(out, host)
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
