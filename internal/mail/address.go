package mail

import (
	netmail "net/mail"
	"strings"
	"unicode/utf8"
)

// DefectBadAddressList marks an address header that the RFC 5322 parser
// refused and that was read leniently instead.
const DefectBadAddressList = "bad-address-list"

// maxAddresses bounds the addresses read from one header value.
const maxAddresses = 1000

// Address is one mailbox of an address header (From, To, Cc, Reply-To...).
type Address struct {
	Name    string // the display name, RFC 2047 words decoded, valid UTF-8
	Address string // local@domain with the domain lower-cased
}

// ParseAddressList reads an address header value. It never fails: the
// strict RFC 5322 parser (net/mail, with our charset decoding for encoded
// words) is tried first; when it refuses the value, the list is split on
// commas outside quotes, comments, angle brackets and encoded words, and
// each piece is read on its own, down to picking out whatever looks like
// local@domain. The lenient reading is reported as a DefectBadAddressList.
//
// Groups ("undisclosed-recipients:;", "team: a@example.org;") yield their
// members. Entries without an address are dropped. A display name that is
// itself an address ("alice@example.org <bob@example.net>") is kept as the
// name; the mailbox is the one in angle brackets.
func ParseAddressList(v string) ([]Address, []Defect) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, nil
	}
	p := netmail.AddressParser{WordDecoder: &wordDecoder}
	if list, err := p.ParseList(v); err == nil {
		var out []Address
		for _, a := range list {
			if len(out) == maxAddresses {
				break
			}
			if addr := normaliseAddress(a.Address); addr != "" {
				out = append(out, Address{Name: toUTF8(a.Name), Address: addr})
			}
		}
		return out, nil
	}
	var out []Address
	for _, piece := range splitAddressList(v) {
		if len(out) == maxAddresses {
			break
		}
		piece = strings.TrimSpace(stripGroupName(piece))
		if piece == "" {
			continue
		}
		if a, err := p.Parse(piece); err == nil {
			if addr := normaliseAddress(a.Address); addr != "" {
				out = append(out, Address{Name: toUTF8(a.Name), Address: addr})
			}
			continue
		}
		if a, ok := looseAddress(piece); ok {
			out = append(out, a)
		}
	}
	return out, []Defect{{Name: DefectBadAddressList, Detail: clip(v, 80)}}
}

// splitAddressList splits on ',' and ';' outside quoted strings, comments
// and RFC 2047 encoded words. Angle brackets protect commas only in an
// obsolete source route ("<@relay1,@relay2:user@example.org>"), so that a
// missing '>' does not swallow the rest of the list. An unclosed quote or
// comment runs to the end of the value.
func splitAddressList(v string) []string {
	var (
		pieces []string
		start  int
		quoted bool
		depth  int  // comment nesting
		route  bool // inside "<@...>"
	)
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case quoted:
			if c == '\\' {
				i++
			} else if c == '"' {
				quoted = false
			}
		case c == '"':
			quoted = true
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case depth > 0:
			if c == '\\' {
				i++
			}
		case c == '<':
			route = i+1 < len(v) && v[i+1] == '@'
		case c == '>':
			route = false
		case route:
		case c == '=' && i+1 < len(v) && v[i+1] == '?':
			// An encoded word: skip to its end "?=", past charset,
			// encoding and text.
			if end := encodedWordEnd(v[i:]); end > 0 {
				i += end - 1
			}
		case c == ',' || c == ';':
			pieces = append(pieces, v[start:i])
			start = i + 1
		}
	}
	return append(pieces, v[start:])
}

// encodedWordEnd returns the length of the encoded word "=?cs?e?text?="
// at the start of s, or 0.
func encodedWordEnd(s string) int {
	q := 0
	for i := 2; i < len(s) && i < 256; i++ {
		switch s[i] {
		case '?':
			q++
			if q == 3 {
				if i+1 < len(s) && s[i+1] == '=' {
					return i + 2
				}
				return 0
			}
		case ' ', '\t':
			return 0
		}
	}
	return 0
}

// stripGroupName removes a group's "name:" prefix: a ':' outside quotes
// before any '<' or '@'.
func stripGroupName(p string) string {
	quoted := false
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case quoted:
			if c == '\\' {
				i++
			} else if c == '"' {
				quoted = false
			}
		case c == '"':
			quoted = true
		case c == '<' || c == '@':
			return p
		case c == ':':
			return p[i+1:]
		}
	}
	return p
}

// looseAddress reads one list entry that net/mail refused: the text in the
// last angle brackets is the address and what precedes it the name;
// failing that, the first word with an '@' is the address and the rest the
// name.
func looseAddress(p string) (Address, bool) {
	if i := strings.LastIndexByte(p, '<'); i >= 0 {
		addr := p[i+1:]
		if j := strings.IndexByte(addr, '>'); j >= 0 {
			addr = addr[:j]
		}
		if strings.HasPrefix(addr, "@") {
			// An obsolete source route: "@relay1,@relay2:user@example.org".
			if k := strings.LastIndexByte(addr, ':'); k >= 0 {
				addr = addr[k+1:]
			}
		}
		addr = normaliseAddress(addr)
		if addr != "" {
			return Address{Name: displayName(p[:i]), Address: addr}, true
		}
	}
	at := strings.IndexByte(p, '@')
	if at < 0 {
		return Address{}, false
	}
	start := at
	for start > 0 && isLocalByte(p[start-1]) {
		start--
	}
	end := at + 1
	for end < len(p) && isDomainByte(p[end]) {
		end++
	}
	addr := normaliseAddress(p[start:end])
	if addr == "" {
		return Address{}, false
	}
	name := strings.TrimSpace(p[:start] + " " + p[end:])
	name = strings.Trim(name, "<>()")
	return Address{Name: displayName(name), Address: addr}, true
}

// isLocalByte reports the bytes of an unquoted local part.
func isLocalByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c >= utf8.RuneSelf:
		return true
	}
	return strings.IndexByte(".!#$%&'*+/=?^_`{|}~-", c) >= 0
}

// isDomainByte reports the bytes of a domain name (Unicode included).
func isDomainByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c >= utf8.RuneSelf
}

// displayName unquotes and decodes a display name read leniently.
func displayName(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 1 && s[0] == '"' {
		s = s[1:]
		if j := strings.LastIndexByte(s, '"'); j >= 0 {
			s = s[:j]
		}
		s = strings.ReplaceAll(s, `\"`, `"`)
		s = strings.ReplaceAll(s, `\\`, `\`)
	}
	return strings.Join(strings.Fields(DecodeWords(s)), " ")
}

// normaliseAddress trims an addr-spec and lower-cases its domain. A value
// without '@' is kept when it is a single word (a "<MAILER-DAEMON>"-style
// mailbox); anything else without '@' is no address.
func normaliseAddress(a string) string {
	a = strings.Trim(strings.TrimSpace(a), "<>")
	a = strings.TrimSpace(a)
	if a == "" || strings.ContainsAny(a, " \t") {
		return ""
	}
	a = toUTF8(a)
	i := strings.LastIndexByte(a, '@')
	if i < 0 {
		return a
	}
	local, domain := a[:i], strings.TrimSuffix(a[i+1:], ".")
	if local == "" || domain == "" {
		return ""
	}
	return local + "@" + strings.ToLower(domain)
}

// Domain returns the lower-cased domain of an address ("Name
// <user@Example.ORG>" and "user@example.org." both give "example.org"),
// or "" when there is none.
func Domain(addr string) string {
	a := strings.TrimSpace(addr)
	if i := strings.LastIndexByte(a, '<'); i >= 0 {
		a = a[i+1:]
		if j := strings.IndexByte(a, '>'); j >= 0 {
			a = a[:j]
		}
	}
	i := strings.LastIndexByte(a, '@')
	if i < 0 {
		return ""
	}
	d := strings.TrimSpace(a[i+1:])
	d = strings.TrimRight(d, ".>; ")
	return strings.ToLower(toUTF8(d))
}
