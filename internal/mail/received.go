package mail

import (
	netmail "net/mail"
	"net/netip"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Hop is one Received header field, read tolerantly. The clause fields
// hold the clause text as written (comments included, keyword excluded);
// a clause that is absent is "". Raw always holds the whole field value.
type Hop struct {
	// Number counts hops from the origin: 1 is the oldest, the Received
	// field lowest in the header.
	Number int

	From string // "mail.example.com (mail.example.com [192.0.2.1])"
	By   string // "mx.example.net (Postfix)"
	Via  string
	With string // the protocol, comments removed: "ESMTPS", "Microsoft SMTP Server"
	ID   string // the first word of the id clause
	For  string // the first recipient of the for clause, without angle brackets

	// FromHost is the first word of the from clause: the HELO name for
	// Postfix and Sendmail, the checked host name or [address] for Exim.
	FromHost string
	// ByHost is the first word of the by clause.
	ByHost string
	// EnvelopeFrom is the envelope sender some servers add
	// ("(envelope-from <a@example.org>)"), without angle brackets.
	EnvelopeFrom string
	// FromIP is the address of the connecting client as the receiving
	// server recorded it; invalid when the field names none.
	FromIP netip.Addr

	// Date is the time stamp after the last ';' in UTC, zero when missing
	// or unreadable; TZOffset is its original offset east of UTC in
	// seconds.
	Date     time.Time
	TZOffset int
	// Delay is Date minus the Date of the previous (older) hop. It can be
	// negative when clocks disagree. HasDelay is false for the first hop
	// and when either date is missing.
	Delay    time.Duration
	HasDelay bool

	Raw string
}

// ReceivedChain parses every Received field of h and returns the hops
// oldest first (hop 1 is the last Received field), with the delays between
// consecutive hops.
func ReceivedChain(h Header) []Hop {
	vals := h.Values("Received")
	hops := make([]Hop, 0, len(vals))
	for i := len(vals) - 1; i >= 0; i-- {
		hop := ParseReceived(vals[i])
		hop.Number = len(hops) + 1
		if n := len(hops); n > 0 && !hop.Date.IsZero() && !hops[n-1].Date.IsZero() {
			hop.Delay = hop.Date.Sub(hops[n-1].Date)
			hop.HasDelay = true
		}
		hops = append(hops, hop)
	}
	return hops
}

// maxReceived bounds the length of a Received value that is parsed; the
// rest is kept in Raw only.
const maxReceived = 4096

// ParseReceived parses one Received field value. It never fails: what
// cannot be read is left empty, and Raw keeps the value.
func ParseReceived(v string) Hop {
	hop := Hop{Raw: v}
	s := toUTF8(v)
	if len(s) > maxReceived {
		s = strings.ToValidUTF8(s[:maxReceived], "")
	}
	s = strings.Join(strings.Fields(s), " ")

	toks := tokenizeReceived(s)
	if i := lastTopLevelSemicolon(toks); i >= 0 {
		hop.Date, hop.TZOffset = parseReceivedDate(s[toks[i].end:])
		toks = toks[:i]
	} else if loc := looseDate().FindStringIndex(s); loc != nil {
		// No ';' (SendGrid and some appliances): a date at the end.
		if d, off := parseReceivedDate(s[loc[0]:]); !d.IsZero() {
			hop.Date, hop.TZOffset = d, off
			for len(toks) > 0 && toks[len(toks)-1].end > loc[0] {
				toks = toks[:len(toks)-1]
			}
		}
	}

	// Split the tokens into clauses at the first top-level occurrence of
	// each keyword; a repeated keyword stays inside the current clause.
	type clause struct {
		key        string
		start, end int // token indexes of the clause body
	}
	var clauses []clause
	seen := map[string]bool{}
	for i, t := range toks {
		if t.kind != rtokWord {
			continue
		}
		k := strings.ToLower(t.text)
		switch k {
		case "from", "by", "via", "with", "id", "for", "envelope-from":
		default:
			continue
		}
		if seen[k] {
			continue
		}
		seen[k] = true
		if n := len(clauses); n > 0 {
			clauses[n-1].end = i
		}
		clauses = append(clauses, clause{key: k, start: i + 1, end: len(toks)})
	}
	for _, c := range clauses {
		body := toks[c.start:c.end]
		text := ""
		if len(body) > 0 {
			text = strings.TrimSpace(s[body[0].start:body[len(body)-1].end])
		}
		switch c.key {
		case "from":
			hop.From = text
			hop.FromHost = clauseFirstWord(body)
			hop.FromIP = clientIP(body)
		case "by":
			hop.By = text
			hop.ByHost = clauseFirstWord(body)
		case "via":
			hop.Via = clauseWords(body)
		case "with":
			hop.With = clauseWords(body)
		case "id":
			hop.ID = strings.TrimRight(clauseFirstWord(body), ";,")
		case "for":
			hop.For = strings.Trim(strings.TrimRight(clauseFirstWord(body), ";,"), "<>")
		case "envelope-from":
			hop.EnvelopeFrom = strings.Trim(clauseFirstWord(body), "<>")
		}
	}
	if hop.EnvelopeFrom == "" {
		hop.EnvelopeFrom = envelopeFromComment(toks)
	}
	return hop
}

type rtokKind int

const (
	rtokWord    rtokKind = iota
	rtokComment          // "( ... )", nested comments included
	rtokSemicolon
)

type rtoken struct {
	kind       rtokKind
	text       string
	start, end int
}

// tokenizeReceived splits a Received value into words, comments and
// semicolons. Angle-bracketed addresses, quoted strings and square-bracket
// literals are single words; an unclosed comment runs to the end.
func tokenizeReceived(s string) []rtoken {
	var toks []rtoken
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ':
			i++
		case c == ';':
			toks = append(toks, rtoken{rtokSemicolon, ";", i, i + 1})
			i++
		case c == '(':
			depth, j := 0, i
			for ; j < len(s); j++ {
				if s[j] == '\\' {
					j++
					continue
				}
				if s[j] == '(' {
					depth++
				} else if s[j] == ')' {
					depth--
					if depth == 0 {
						j++
						break
					}
				}
			}
			if j > len(s) {
				j = len(s)
			}
			toks = append(toks, rtoken{rtokComment, s[i:j], i, j})
			i = j
		default:
			j := i
			for j < len(s) && s[j] != ' ' && s[j] != ';' && s[j] != '(' {
				switch s[j] {
				case '<':
					j = groupEnd(s, j, '>')
				case '"':
					j = groupEnd(s, j, '"')
				case '[':
					j = groupEnd(s, j, ']')
				default:
					j++
				}
			}
			toks = append(toks, rtoken{rtokWord, s[i:j], i, j})
			i = j
		}
	}
	return toks
}

// groupEnd returns the offset just past the delimiter close that ends the
// group opened at s[i], or len(s).
func groupEnd(s string, i int, close byte) int {
	if k := strings.IndexByte(s[i+1:], close); k >= 0 {
		return i + 1 + k + 1
	}
	return len(s)
}

func lastTopLevelSemicolon(toks []rtoken) int {
	for i := len(toks) - 1; i >= 0; i-- {
		if toks[i].kind == rtokSemicolon {
			return i
		}
	}
	return -1
}

func clauseFirstWord(toks []rtoken) string {
	for _, t := range toks {
		if t.kind == rtokWord {
			return t.text
		}
	}
	return ""
}

// clauseWords joins the words of a clause, without its comments.
func clauseWords(toks []rtoken) string {
	var ws []string
	for _, t := range toks {
		if t.kind == rtokWord {
			ws = append(ws, t.text)
		}
	}
	return strings.Join(ws, " ")
}

// clientIP finds the client address in a from clause. Receiving servers
// write it in a comment: "(rdns [192.0.2.1])" (Postfix, Sendmail, Gmail),
// "([192.0.2.1]:4321 helo=x)" (Exim), "(192.0.2.1)" (qmail, Exchange),
// "[IPv6:2001:db8::1]". The name the client gave (HELO) is skipped, since
// the client chooses it. Without an address in a comment, the from host
// itself is used when it is an address ("from [192.0.2.1] (helo=x)").
func clientIP(body []rtoken) netip.Addr {
	var bare netip.Addr
	for _, t := range body {
		if t.kind != rtokComment {
			continue
		}
		inner := strings.Trim(t.text, "()")
		fields := strings.FieldsFunc(inner, func(r rune) bool { return r == ' ' || r == '(' || r == ')' || r == ',' })
		for i := 0; i < len(fields); i++ {
			w := fields[i]
			lw := strings.ToLower(w)
			if lw == "helo" || lw == "ehlo" {
				i++ // the next word is the client's own name
				continue
			}
			if strings.HasPrefix(lw, "helo=") || strings.HasPrefix(lw, "ehlo=") || strings.HasPrefix(lw, "port=") {
				continue
			}
			if a, bracketed, ok := parseIPWord(w); ok {
				if bracketed {
					return a
				}
				if !bare.IsValid() {
					bare = a
				}
			}
		}
	}
	if bare.IsValid() {
		return bare
	}
	if a, _, ok := parseIPWord(clauseFirstWord(body)); ok {
		return a
	}
	return netip.Addr{}
}

// parseIPWord reads "192.0.2.1", "[192.0.2.1]", "[192.0.2.1]:4321",
// "[IPv6:2001:db8::1]", "IPv6:2001:db8::1" or "2001:db8::1".
func parseIPWord(w string) (a netip.Addr, bracketed, ok bool) {
	w = strings.TrimRight(w, ".,;:")
	if strings.HasPrefix(w, "[") {
		end := strings.IndexByte(w, ']')
		if end < 0 {
			return a, false, false
		}
		w, bracketed = w[1:end], true
	}
	if len(w) > 5 && strings.EqualFold(w[:5], "ipv6:") {
		w = w[5:]
	}
	if i := strings.IndexByte(w, '%'); i >= 0 {
		w = w[:i]
	}
	a, err := netip.ParseAddr(w)
	if err != nil {
		return a, false, false
	}
	return a.Unmap(), bracketed, true
}

// envelopeFromComment finds "envelope-from <a@example.org>" or
// "envelope-from=a@example.org" inside a comment.
func envelopeFromComment(toks []rtoken) string {
	for _, t := range toks {
		if t.kind != rtokComment {
			continue
		}
		l := strings.ToLower(t.text)
		i := strings.Index(l, "envelope-from")
		if i < 0 {
			continue
		}
		rest := strings.TrimLeft(t.text[i+len("envelope-from"):], " =")
		if end := strings.IndexAny(rest, " )"); end >= 0 {
			rest = rest[:end]
		}
		return strings.Trim(rest, "<>")
	}
	return ""
}

// looseDate finds a date at the end of a Received value that has no ';'.
// It compiles on first use: most processes never read a Received header.
var looseDate = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)(?:(?:mon|tue|wed|thu|fri|sat|sun),? +)?\d{1,2} +(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec) +\d{2,4} +\d{1,2}:\d{2}(?::\d{2})?.*$|\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}.*$`)
})

// obsoleteZones are the RFC 5322 zone names time.Parse does not know.
var obsoleteZones = map[string]int{
	"EST": -5 * 3600, "EDT": -4 * 3600, "CST": -6 * 3600, "CDT": -5 * 3600,
	"MST": -7 * 3600, "MDT": -6 * 3600, "PST": -8 * 3600, "PDT": -7 * 3600,
}

// dateLayouts are tried after net/mail.ParseDate.
var dateLayouts = []string{
	"Mon, 2 Jan 2006 15:04:05",
	"2 Jan 2006 15:04:05",
	"Mon Jan _2 15:04:05 2006",
	"Mon Jan _2 15:04:05 -0700 2006",
	"Mon Jan _2 15:04:05 MST 2006",
	"2006-01-02 15:04:05.999999999 -0700 MST",
	"2006-01-02 15:04:05.999999999 -0700",
	"2006-01-02 15:04:05 -0700",
	"2006-01-02 15:04:05",
	time.RFC3339Nano,
}

// ParseDate reads a Date header value, or the date of a Received field,
// leniently: RFC 5322 and its obsolete forms, comments, zone names, and the
// other layouts mail software is seen to write. It returns the time in UTC
// with its original offset east of UTC in seconds; ok is false when nothing
// could be read.
func ParseDate(s string) (t time.Time, offset int, ok bool) {
	t, offset = parseReceivedDate(s)
	return t, offset, !t.IsZero()
}

// parseReceivedDate reads the date of a Received field and returns it in
// UTC with its original offset.
func parseReceivedDate(s string) (time.Time, int) {
	s = StripComments(s)
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return time.Time{}, 0
	}
	t, err := netmail.ParseDate(s)
	if err != nil {
		// SendGrid appends Go's monotonic clock reading: "... UTC m=+0.1".
		if i := strings.Index(s, " m=+"); i >= 0 {
			s = s[:i]
		}
		for _, l := range dateLayouts {
			if t, err = time.Parse(l, s); err == nil {
				break
			}
		}
		if err != nil {
			return time.Time{}, 0
		}
	}
	name, off := t.Zone()
	if zoff, ok := obsoleteZones[name]; ok && off == 0 {
		t = time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.FixedZone(name, zoff))
		off = zoff
	}
	return t.UTC(), off
}

// StripComments removes the parenthesised comments of a header value
// (nested ones included), as RFC 5322 allows them between tokens.
func StripComments(s string) string {
	if !strings.Contains(s, "(") {
		return s
	}
	var b strings.Builder
	depth := 0
	for _, r := range s {
		switch {
		case r == '(':
			depth++
		case r == ')' && depth > 0:
			depth--
		case depth == 0:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// SenderIP returns the address of the client that handed the message to
// our infrastructure.
//
// trust names our own servers: a hop is received by us when its by clause
// contains trust (case-insensitively). Counting from the newest hop, the
// first hop received by us is found; while its client looks like one of
// ours (an address that is not public, or a from clause naming trust) and
// the hop below was received by us too, the walk steps down. The client
// address of the hop reached is the sender, if it is public. A client that
// gives one of our names as HELO can make the walk step down one hop more,
// but only onto a hop that also claims to be received by us.
//
// With an empty trust, the sender is the client of the oldest hop with a
// public address. Such hops may have been written by the sender itself, so
// set trust where the receiving servers are known.
//
// ok is false when no public address is found. Public means not private,
// loopback, link-local, unspecified, multicast or shared (100.64.0.0/10).
func SenderIP(hops []Hop, trust string) (netip.Addr, bool) {
	trust = strings.ToLower(strings.TrimSpace(trust))
	if trust == "" {
		for _, h := range hops {
			if publicIP(h.FromIP) {
				return h.FromIP, true
			}
		}
		return netip.Addr{}, false
	}
	ours := func(clause string) bool { return strings.Contains(strings.ToLower(clause), trust) }
	i := len(hops) - 1
	for i >= 0 && !ours(hops[i].By) {
		i--
	}
	for ; i >= 0; i-- {
		h := hops[i]
		below := i > 0 && ours(hops[i-1].By)
		if below && (!publicIP(h.FromIP) || ours(h.From)) {
			continue // one of our servers handed it on
		}
		if publicIP(h.FromIP) {
			return h.FromIP, true
		}
		break
	}
	return netip.Addr{}, false
}

var sharedSpace = netip.MustParsePrefix("100.64.0.0/10")

// publicIP reports whether a is a valid, globally routable unicast address.
func publicIP(a netip.Addr) bool {
	return a.IsValid() && a.IsGlobalUnicast() && !a.IsPrivate() && !sharedSpace.Contains(a)
}
