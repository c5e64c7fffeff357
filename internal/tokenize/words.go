package tokenize

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Word-length rules of SpamOracle.
const (
	minWord    = 3  // shorter runs of letters give no token
	maxWord    = 12 // longer runs are dropped, not truncated
	minNumeric = 3
	maxNumeric = 8
	minRun     = 3 // shortest upper-case or weird run that gives U<n> / W<n>
)

type class uint8

const (
	other   class = iota // separators: ASCII punctuation, blanks, controls
	letter               // word constituents: letters that fold to ASCII, and the apostrophe
	numeric              // 0-9 . , $ % € ¤
	weird                // any other non-ASCII character that is not white space
	ignore               // invisible format characters (zero-width space, soft hyphen): skipped inside runs
)

// fold maps a Latin letter with diacritics to its lower-case ASCII spelling.
// It is built from Unicode decomposition plus the letters that do not
// decompose (æ, œ, ß, ø, ł, đ, þ, ð, ı).
var fold = func() map[rune]string {
	m := map[rune]string{
		'æ': "ae", 'Æ': "ae", 'œ': "oe", 'Œ': "oe", 'ß': "ss", 'ẞ': "ss",
		'ø': "o", 'Ø': "o", 'ł': "l", 'Ł': "l", 'đ': "d", 'Đ': "d",
		'þ': "th", 'Þ': "th", 'ð': "d", 'Ð': "d", 'ı': "i", 'ĸ': "k",
		'ŀ': "l", 'Ŀ': "l", 'ŉ': "n", 'ſ': "s", 'ƒ': "f",
	}
	for r := rune(0xC0); r <= 0x24F; r++ {
		if _, ok := m[r]; ok || !unicode.IsLetter(r) {
			continue
		}
		d := norm.NFD.String(string(r))
		base, _ := utf8.DecodeRuneInString(d)
		if base < utf8.RuneSelf && ('a' <= base|0x20 && base|0x20 <= 'z') {
			m[r] = string(base | 0x20)
		}
	}
	return m
}()

func classOf(r rune) class {
	switch {
	case r < utf8.RuneSelf:
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', r == '\'':
			return letter
		case '0' <= r && r <= '9', r == '.', r == ',', r == '$', r == '%':
			return numeric
		case r == 0x7f:
			return weird
		}
		return other
	case r == '’' || r == 'ʼ':
		return letter
	case r == '€' || r == '¤':
		return numeric
	}
	if _, ok := fold[r]; ok {
		return letter
	}
	if unicode.Is(unicode.Cf, r) {
		return ignore
	}
	if unicode.IsSpace(r) {
		return other
	}
	return weird
}

func isUpper(r rune) bool {
	if r < utf8.RuneSelf {
		return 'A' <= r && r <= 'Z'
	}
	return unicode.IsUpper(r)
}

// wordSplitter applies SpamOracle's lexical rules to decoded text. A run of
// letters gives U<n> first when it is all upper case and n >= 3, then the
// folded word when it is 3 to 12 characters long; a numeric run of 3 to 8
// characters is a token as written; a run of 3 or more weird characters gives
// W<n>. Lengths count characters, not bytes.
type wordSplitter struct {
	emit   func(string)
	known  func(string) bool // for reassembly; nil disables it
	recent []string          // reassembly: recent short runs, normalised
	buf    strings.Builder
}

// chunk tokenizes one independent piece of text (one header value, one body
// part). Reassembly never joins runs across chunks.
func (w *wordSplitter) chunk(text string) {
	w.recent = w.recent[:0]
	i := 0
	for i < len(text) {
		r, size := utf8.DecodeRuneInString(text[i:])
		c := classOf(r)
		if c == other || c == ignore {
			i += size
			continue
		}
		j, n, upper := i, 0, true
		for j < len(text) {
			r2, s2 := utf8.DecodeRuneInString(text[j:])
			c2 := classOf(r2)
			if c2 == ignore {
				j += s2
				continue
			}
			if c2 != c {
				break
			}
			if c == letter && !isUpper(r2) {
				upper = false
			}
			n++
			j += s2
		}
		run := text[i:j]
		switch c {
		case letter:
			w.word(run, n, upper)
		case numeric:
			if n >= minNumeric && n <= maxNumeric {
				w.emit(stripIgnored(run))
			}
		case weird:
			if n >= minRun {
				w.emit("W" + strconv.Itoa(n))
			}
		}
		i = j
	}
}

func (w *wordSplitter) word(run string, n int, upper bool) {
	if upper && n >= minRun {
		w.emit("U" + strconv.Itoa(n))
	}
	norm := w.normalise(run)
	if w.known != nil {
		w.reassemble(norm, n)
	}
	if n >= minWord && n <= maxWord {
		w.emit(norm)
	}
}

// normalise lower-cases and folds a run of letters to ASCII.
func (w *wordSplitter) normalise(run string) string {
	ascii := true
	for i := 0; i < len(run); i++ {
		c := run[i]
		if c >= utf8.RuneSelf || ('A' <= c && c <= 'Z') {
			ascii = false
			break
		}
	}
	if ascii {
		return run
	}
	w.buf.Reset()
	for _, r := range run {
		switch {
		case 'A' <= r && r <= 'Z':
			w.buf.WriteByte(byte(r) | 0x20)
		case r < utf8.RuneSelf:
			w.buf.WriteByte(byte(r))
		case r == '’' || r == 'ʼ':
			w.buf.WriteByte('\'')
		default:
			if f, ok := fold[r]; ok {
				w.buf.WriteString(f)
			}
		}
	}
	return w.buf.String()
}

// reassemble implements SpamOracle's reassembly of s p a c e d and
// d.o.t.t.e.d words: the current run joined with the runs just before it
// is emitted when the result is a known word. Runs of 12 characters or more
// reset the list.
func (w *wordSplitter) reassemble(norm string, n int) {
	if n >= maxWord {
		w.recent = w.recent[:0]
		return
	}
	joined := norm
	for k := len(w.recent) - 1; k >= 0; k-- {
		joined = w.recent[k] + joined
		if len(joined) > maxWord {
			break
		}
		if w.known(joined) {
			w.emit(joined)
		}
	}
	w.recent = append(w.recent, norm)
}

func stripIgnored(s string) string {
	if isASCII(s) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if classOf(r) == ignore {
			return -1
		}
		return r
	}, s)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
