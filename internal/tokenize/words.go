package tokenize

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
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
	weird                // any other non-ASCII character, no-break spaces included
	ignore               // invisible format characters (zero-width space, soft hyphen): skipped inside runs
)

//go:generate go run gen_fold.go

// fold returns the lower-case ASCII spelling of a Latin letter with
// diacritics (é is e, æ is ae, ß is ss), and false for anything else.
func fold(r rune) (string, bool) {
	if r >= foldLo && r <= foldHi {
		s := foldTable[r-foldLo]
		return s, s != ""
	}
	if r == 'ẞ' {
		return "ss", true
	}
	return "", false
}

// asciiClass is the class of every ASCII byte.
var asciiClass = func() (t [utf8.RuneSelf]class) {
	for c := range t {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', c == '\'':
			t[c] = letter
		case '0' <= c && c <= '9', c == '.', c == ',', c == '$', c == '%':
			t[c] = numeric
		case c == 0x7f:
			t[c] = weird
		}
	}
	return t
}()

func classOf(r rune) class {
	switch {
	case r < utf8.RuneSelf:
		return asciiClass[r]
	case r == '’' || r == 'ʼ':
		return letter
	case r == '€' || r == '¤':
		return numeric
	}
	if _, ok := fold(r); ok {
		return letter
	}
	if unicode.Is(unicode.Cf, r) {
		return ignore
	}
	// Non-ASCII blanks (the no-break space of &nbsp; above all) are weird
	// characters, as in SpamOracle: runs of them are a mark of spam.
	return weird
}

// allUpper reports whether every letter of a run of letters is upper
// case; the run's ignored characters do not count.
func allUpper(run string) bool {
	for i := 0; i < len(run); {
		if b := run[i]; b < utf8.RuneSelf {
			if b < 'A' || b > 'Z' {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(run[i:])
		i += size
		if classOf(r) != ignore && !isUpper(r) {
			return false
		}
	}
	return true
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
	emit    func(string)
	prefix  string            // put before every token given to emit
	known   func(string) bool // for reassembly; nil disables it
	maxWord int               // longest word kept; 0 is SpamOracle's 12
	// cjk, when set, receives overlapping character pairs of CJK text
	// instead of a W<n> for the run. They carry no prefix.
	cjk    func(string)
	recent []string // reassembly: recent short runs, normalised
	buf    []byte
	arena  *arena // the tokens that are not substrings of the text
}

// out emits tok with the prefix.
func (w *wordSplitter) out(tok string) {
	if w.prefix != "" {
		tok = w.arena.concat(w.prefix, tok)
	}
	w.emit(tok)
}

// chunk tokenizes one independent piece of text (one header value, one body
// part). Reassembly never joins runs across chunks.
func (w *wordSplitter) chunk(text string) {
	w.recent = w.recent[:0]
	i := 0
	for i < len(text) {
		c, size := other, 1
		if b := text[i]; b < utf8.RuneSelf {
			c = asciiClass[b]
		} else {
			var r rune
			r, size = utf8.DecodeRuneInString(text[i:])
			c = classOf(r)
		}
		if c == other || c == ignore {
			i += size
			continue
		}
		// extra counts the bytes of the run that are not characters of
		// it: the tails of multi-byte characters and ignored characters.
		j, extra := i, 0
		for j < len(text) {
			if b := text[j]; b < utf8.RuneSelf {
				// ASCII, most of mail: no decoding, no calls.
				if asciiClass[b] != c {
					break
				}
				j++
				continue
			}
			r2, s2 := utf8.DecodeRuneInString(text[j:])
			c2 := classOf(r2)
			if c2 == ignore {
				j += s2
				extra += s2
				continue
			}
			if c2 != c {
				break
			}
			j += s2
			extra += s2 - 1
		}
		run, n := text[i:j], j-i-extra
		switch c {
		case letter:
			// Whether the run is upper case matters from minRun letters
			// on, and most runs fail it at their second letter.
			w.word(run, n, n >= minRun && allUpper(run))
		case numeric:
			if n >= minNumeric && n <= maxNumeric {
				w.out(stripIgnored(run))
			}
		case weird:
			switch {
			case w.cjk != nil && strings.IndexFunc(run, isCJK) >= 0:
				w.pairs(run)
			case n >= minRun:
				w.out(lengthToken('W', n))
			}
		}
		i = j
	}
}

func (w *wordSplitter) word(run string, n int, upper bool) {
	if upper && n >= minRun {
		w.out(lengthToken('U', n))
	}
	longest := maxWord
	if w.maxWord > 0 {
		longest = w.maxWord
	}
	keep := n >= minWord && n <= longest
	if !keep && w.known == nil {
		return
	}
	tok := w.normalise(run)
	if w.known != nil {
		w.reassemble(tok[len(w.prefix):], n)
	}
	if keep {
		w.emit(tok)
	}
}

// lengthTokens are U<n> and W<n> for the lengths that occur most.
var lengthTokens = func() (t [2][64]string) {
	for n := range t[0] {
		t[0][n] = "U" + strconv.Itoa(n)
		t[1][n] = "W" + strconv.Itoa(n)
	}
	return t
}()

// lengthToken returns kind ('U' or 'W') followed by n.
func lengthToken(kind byte, n int) string {
	k := 0
	if kind == 'W' {
		k = 1
	}
	if n < len(lengthTokens[k]) {
		return lengthTokens[k][n]
	}
	return string(kind) + strconv.Itoa(n)
}

// pairs emits the CJK character pairs of a run of weird characters; the
// other characters of the run separate the CJK stretches.
func (w *wordSplitter) pairs(run string) {
	start := -1
	for i, r := range run {
		switch {
		case isCJK(r) && start < 0:
			start = i
		case !isCJK(r) && start >= 0:
			cjkPairs(run[start:i], w.cjk)
			start = -1
		}
	}
	if start >= 0 {
		cjkPairs(run[start:], w.cjk)
	}
}

// normalise returns the prefix followed by a run of letters lower-cased
// and folded to ASCII.
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
		if w.prefix == "" {
			return run
		}
		return w.arena.concat(w.prefix, run)
	}
	b := append(w.buf[:0], w.prefix...)
	for _, r := range run {
		switch {
		case 'A' <= r && r <= 'Z':
			b = append(b, byte(r)|0x20)
		case r < utf8.RuneSelf:
			b = append(b, byte(r))
		case r == '’' || r == 'ʼ':
			b = append(b, '\'')
		default:
			if f, ok := fold(r); ok {
				b = append(b, f...)
			}
		}
	}
	w.buf = b
	return w.arena.bytes(b)
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
			w.out(joined)
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
