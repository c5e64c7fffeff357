package urls

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
	"golang.org/x/text/unicode/norm"
)

// confusables maps letters that look like a Latin letter or digit, after
// lower-casing and removing accents, to that letter. It covers the
// Cyrillic, Greek and Armenian homoglyphs seen in IDN phishing and a few
// Latin variants; full-width forms and ligatures are handled by NFKC.
var confusables = map[rune]rune{
	// Cyrillic
	'а': 'a', 'в': 'b', 'ь': 'b', 'с': 'c', 'ԁ': 'd', 'е': 'e', 'ё': 'e', 'ҽ': 'e', 'ɡ': 'g', 'һ': 'h',
	'н': 'h', 'і': 'i', 'ї': 'i', 'ј': 'j', 'к': 'k', 'ӏ': 'l', 'м': 'm', 'п': 'n', 'о': 'o',
	'р': 'p', 'ԛ': 'q', 'г': 'r', 'ѕ': 's', 'т': 't', 'у': 'y', 'ү': 'y', 'ѵ': 'v', 'ԝ': 'w',
	'ѡ': 'w', 'х': 'x', 'ӽ': 'x', 'ʏ': 'y', 'ԍ': 'g',
	// Greek
	'α': 'a', 'β': 'b', 'ϲ': 'c', 'ε': 'e', 'η': 'n', 'ι': 'i', 'ϳ': 'j', 'κ': 'k', 'ν': 'v',
	'ο': 'o', 'ρ': 'p', 'τ': 't', 'υ': 'u', 'χ': 'x', 'ω': 'w', 'γ': 'y', 'ς': 'c', 'σ': 'o',
	// Armenian
	'օ': 'o', 'ս': 'u', 'ո': 'n', 'ց': 'g', 'հ': 'h', 'ք': 'p', 'զ': 'q', 'ա': 'w',
	// Latin variants and symbols
	'ı': 'i', 'ɩ': 'i', 'ʟ': 'l', 'ɑ': 'a', 'ɒ': 'a', 'ᴏ': 'o', 'ᴄ': 'c', 'ᴠ': 'v', 'ᴡ': 'w',
	'ᴢ': 'z', 'ß': 'b', 'ƅ': 'b', 'ɗ': 'd', 'ɦ': 'h', 'ɱ': 'm', 'ɲ': 'n', 'ɵ': 'o', 'ø': 'o',
	'ƿ': 'p', 'ʂ': 's', 'ƚ': 'l', 'ł': 'l', 'đ': 'd', 'ħ': 'h', 'ŧ': 't', 'ℓ': 'l',
	'。': '.', '｡': '.', '．': '.', '‐': '-', '‑': '-', '‒': '-', '–': '-', '—': '-', '−': '-',
}

// Skeleton maps a domain name to a Latin skeleton in which look-alike
// spellings coincide: punycode labels are decoded, the name is NFKC
// folded (full-width forms) and lower-cased, accents are removed,
// Cyrillic, Greek and Armenian homoglyphs become Latin letters, '0'
// becomes 'o', '1' and 'i' become 'l' (as they look in many fonts), and
// "rn" and "vv" become 'm' and 'w'. Dots and hyphens are kept. The
// skeleton is for comparison only; it is not a host name.
func Skeleton(domain string) string {
	d := strings.TrimSuffix(strings.TrimSpace(domain), ".")
	if strings.Contains(strings.ToLower(d), "xn--") {
		if u, err := idna.Punycode.ToUnicode(strings.ToLower(d)); err == nil {
			d = u
		}
	}
	d = norm.NFKC.String(d)
	d = strings.ToLower(d)
	var b strings.Builder
	b.Grow(len(d))
	for _, r := range norm.NFD.String(d) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		if c, ok := confusables[r]; ok {
			r = c
		}
		switch r {
		case '0':
			r = 'o'
		case '1', 'i', '|', '!':
			r = 'l'
		}
		b.WriteRune(r)
	}
	s := b.String()
	if strings.Contains(s, "rn") || strings.Contains(s, "vv") {
		s = strings.NewReplacer("rn", "m", "vv", "w").Replace(s)
	}
	return s
}

// minTypoLabel is the shortest brand label (in runes) for which a skeleton
// one edit away counts as a look-alike; shorter names have too many
// innocent neighbours ("apple" and "ample").
const minTypoLabel = 6

// LookAlike reports whether domain imitates one of the target domains
// and returns that target. Only registered domains are compared, so
// "login.аррӏе.com" imitates "apple.com". A domain imitates a target when
// it is not the target nor one of its subdomains, its registered domain
// differs from the target's, and
//   - their skeletons are equal ("аррӏе.com", "paypa1.com", "rnicrosoft.com"),
//   - or the labels before the public suffix have equal skeletons while the
//     domain's label is spelt differently ("аррӏе.net" for "apple.com"),
//   - or the skeletons are one edit apart and the target's label has at
//     least six letters ("paypall.com", "micosoft.com").
//
// Domains may be given in Unicode or punycode form. A domain that carries
// the brand in a subdomain instead ("paypal.com.evil.example") is left to
// BrandInSubdomain.
func LookAlike(domain string, targets []string) (target string, ok bool) {
	host, err := toASCII(strings.TrimSuffix(strings.TrimSpace(domain), "."))
	if err != nil {
		return "", false
	}
	rd, _, suffix, _ := registered(host)
	if rd == "" {
		return "", false
	}
	for _, t := range targets {
		ta, err := toASCII(strings.TrimSuffix(strings.TrimSpace(t), "."))
		if err != nil {
			continue
		}
		if host == ta || strings.HasSuffix(host, "."+ta) {
			return "", false
		}
	}
	sk := Skeleton(rd)
	label := strings.TrimSuffix(rd, "."+suffix)
	labelSk := Skeleton(label)
	for _, t := range targets {
		ta, err := toASCII(strings.TrimSuffix(strings.TrimSpace(t), "."))
		if err != nil {
			continue
		}
		trd, _, tsuffix, _ := registered(ta)
		if trd == "" || trd == rd {
			continue
		}
		tsk := Skeleton(trd)
		tlabel := strings.TrimSuffix(trd, "."+tsuffix)
		tlabelSk := Skeleton(tlabel)
		switch {
		case sk == tsk:
			return t, true
		case labelSk == tlabelSk && label != tlabel:
			return t, true
		case utf8.RuneCountInString(tlabelSk) >= minTypoLabel && OneEdit(sk, tsk):
			return t, true
		}
	}
	return "", false
}

// BrandInSubdomain reports whether host carries the name of a target in
// the labels left of its registered domain while not belonging to the
// target: "paypal.com.evil.example", "www-paypal.secure-login.example" and
// "secure.paypa1.evil.example" all carry "paypal.com". The brand is the
// target's label before its public suffix, compared by skeleton with every
// dot- or hyphen-separated part of the subdomain labels.
func BrandInSubdomain(host string, targets []string) (target string, ok bool) {
	h, err := toASCII(strings.TrimSuffix(strings.TrimSpace(host), "."))
	if err != nil {
		return "", false
	}
	rd, _, _, _ := registered(h)
	if rd == "" || rd == h {
		return "", false
	}
	var parts []string
	for _, label := range strings.Split(strings.TrimSuffix(h, "."+rd), ".") {
		parts = append(parts, strings.Split(Skeleton(label), "-")...)
	}
	for _, t := range targets {
		ta, err := toASCII(strings.TrimSuffix(strings.TrimSpace(t), "."))
		if err != nil {
			continue
		}
		trd, _, tsuffix, _ := registered(ta)
		if trd == "" || trd == rd || h == ta || strings.HasSuffix(h, "."+ta) {
			continue
		}
		brand := Skeleton(strings.TrimSuffix(trd, "."+tsuffix))
		for _, p := range parts {
			if p == brand {
				return t, true
			}
		}
	}
	return "", false
}

// OneEdit reports whether a and b are at most one insertion, deletion or
// substitution of a character apart.
func OneEdit(a, b string) bool {
	if a == b {
		return true
	}
	if isASCII(a) && isASCII(b) {
		return oneEditOf([]byte(a), []byte(b))
	}
	return oneEditOf([]rune(a), []rune(b))
}

func oneEditOf[E byte | rune](a, b []E) bool {
	if len(a) < len(b) {
		a, b = b, a
	}
	if len(a)-len(b) > 1 {
		return false
	}
	i := 0
	for i < len(b) && a[i] == b[i] {
		i++
	}
	if len(a) == len(b) {
		return slices.Equal(a[i+1:], b[i+1:])
	}
	return slices.Equal(a[i+1:], b[i:])
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// TextURL reads the URL or domain a link text shows ("www.paypal.com",
// "https://paypal.com/login", "paypal.com"), so that it can be compared
// with the link's target. A bare domain counts only when it is the whole
// text and ends in a listed public suffix.
func TextURL(text string) (URL, bool) {
	t := collapse(text, maxTextLen)
	t = strings.Trim(t, "<>()[]\"'.,;: ")
	if t == "" || strings.ContainsAny(t, " \t") {
		return URL{}, false
	}
	if u, err := Parse(t); err == nil && usable(u) {
		return u, true
	}
	// A bare domain, maybe with a path.
	host := t
	if i := strings.IndexAny(host, "/?#"); i >= 0 {
		host = host[:i]
	}
	if strings.Contains(host, "@") || !strings.Contains(host, ".") {
		return URL{}, false
	}
	a, err := toASCII(host)
	if err != nil {
		return URL{}, false
	}
	if _, icann := publicsuffix.PublicSuffix(a); !icann {
		return URL{}, false
	}
	u, err := Parse("http://" + t)
	if err != nil || !usable(u) {
		return URL{}, false
	}
	return u, true
}
