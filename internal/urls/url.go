package urls

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
)

// Source says where in a message a URL was found.
type Source string

// Sources set by this package. Callers may use their own values with
// Set.AddText, for instance for text extracted from attachments.
const (
	SourceText        Source = "text"         // plain text
	SourceHref        Source = "html-href"    // href of a, area or link
	SourceSrc         Source = "html-src"     // src or background of img, script, iframe and the like
	SourceForm        Source = "html-form"    // form action or button formaction
	SourceHTMLText    Source = "html-text"    // the visible text of an HTML document
	SourceScript      Source = "html-script"  // the text of inline scripts
	SourceMetaRefresh Source = "meta-refresh" // <meta http-equiv="refresh" content="0; url=...">
)

// URL is one normalised URL and the facts derived from it.
type URL struct {
	// URL is the normalised URL without its fragment: lower-case scheme,
	// punycode host, no default port, valid percent escapes.
	URL string
	// Raw is the text the URL was read from, clipped to 256 bytes.
	Raw    string
	Source Source
	// Texts are the distinct visible texts of the HTML anchors that link
	// here (at most four), white space collapsed.
	Texts []string
	// Count is the number of times the URL was found in the message.
	Count int

	Scheme string
	// Host is the host in Unicode form (an IP address without brackets);
	// HostASCII is the punycode form used in URL.
	Host      string
	HostASCII string
	Port      string // "" when absent or the scheme's default
	Path      string // percent-encoded; "/" when empty
	Query     string // without "?"
	Fragment  string // without "#"
	Userinfo  string // the text before "@" in the authority, percent-encoded

	// RegisteredDomain is the effective TLD plus one label (punycode),
	// with the private section of the public suffix list applied:
	// "user.github.io" for user.github.io. ICANNDomain uses the ICANN
	// section only ("github.io"); the two differ when PrivateSuffix.
	RegisteredDomain string
	ICANNDomain      string
	PrivateSuffix    bool
	// TLD is the public suffix of the host ("co.uk", "com"), punycode.
	TLD string

	IsIP         bool // the host is an IPv4 or IPv6 literal
	ObfuscatedIP bool // an IPv4 host written other than as a dotted quad (3232235777, 0xC0.0250.1.1)
	IsIDN        bool // the host has non-ASCII or punycode ("xn--") labels
	HasUserinfo  bool // "http://paypal.com@evil.example/": the host is what follows "@"
	Defanged     bool // written defanged ("hxxp", "[.]") and refanged here
}

// Parse errors.
var (
	ErrNoScheme = errors.New("no scheme")
	ErrNoHost   = errors.New("no host")
	ErrBadHost  = errors.New("bad host")
	ErrBadPort  = errors.New("bad port")
)

// maxRaw bounds URL.Raw; maxURLLen bounds the input of Parse.
const (
	maxRaw    = 256
	maxURLLen = 8192
)

// lenient converts hosts to ASCII as browsers do, without the STD3 rules
// that refuse the underscores some real host names carry.
var lenient = idna.New(idna.MapForLookup(), idna.Transitional(false), idna.StrictDomainName(false))

// specialSchemes treat a backslash as a slash and need no "//", as
// browsers do. defaultPorts are dropped.
var (
	specialSchemes = map[string]bool{"http": true, "https": true, "ftp": true, "ws": true, "wss": true, "file": true}
	defaultPorts   = map[string]string{"http": "80", "https": "443", "ftp": "21", "ws": "80", "wss": "443"}
)

// Parse normalises one URL. A scheme-less "www." or "//" URL gets http.
// Defanged forms are refanged. Blanks around the URL and tabs or line
// breaks inside it are removed, as browsers do; nothing else is trimmed.
func Parse(raw string) (URL, error) {
	u := URL{Raw: clipRaw(raw)}
	s := stripBlanks(raw)
	if len(s) > maxURLLen {
		s = strings.ToValidUTF8(s[:maxURLLen], "")
	}
	s, u.Defanged = refang(s)

	scheme, rest, ok := splitScheme(s)
	if ok && strings.Contains(scheme, ".") && hasPrefixFold(s, "www.") {
		ok = false // "www.example.com:8080/": a host and port
	}
	switch {
	case ok:
	case strings.HasPrefix(s, "//"):
		scheme, rest = "http", s
	case hasPrefixFold(s, "www."):
		scheme, rest = "http", "//"+s
	default:
		return u, fmt.Errorf("urls: parse %q: %w", u.Raw, ErrNoScheme)
	}
	scheme = strings.ToLower(scheme)
	if s := unfangScheme(scheme); s != scheme {
		scheme, u.Defanged = s, true
	}
	u.Scheme = scheme
	special := specialSchemes[scheme]
	if special {
		rest = strings.ReplaceAll(rest, `\`, "/")
		rest = strings.TrimLeft(rest, "/")
	} else {
		var ok bool
		if rest, ok = strings.CutPrefix(rest, "//"); !ok {
			return u, fmt.Errorf("urls: parse %q: %w", u.Raw, ErrNoHost)
		}
	}

	// authority, then path, query and fragment.
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority, tail := rest[:end], rest[end:]
	if i := strings.IndexByte(tail, '#'); i >= 0 {
		u.Fragment = escape(tail[i+1:], false)
		tail = tail[:i]
	}
	if i := strings.IndexByte(tail, '?'); i >= 0 {
		u.Query = escape(tail[i+1:], false)
		tail = tail[:i]
	}
	u.Path = escape(tail, false)
	if u.Path == "" {
		u.Path = "/"
	}

	if i := strings.LastIndexByte(authority, '@'); i >= 0 {
		u.HasUserinfo = true
		u.Userinfo = escape(authority[:i], true)
		authority = authority[i+1:]
	}
	host, port, err := splitHostPort(authority)
	if err != nil {
		return u, fmt.Errorf("urls: parse %q: %w", u.Raw, err)
	}
	if port != "" && port != defaultPorts[scheme] {
		u.Port = port
	}
	if err := u.setHost(host); err != nil {
		return u, fmt.Errorf("urls: parse %q: %w", u.Raw, err)
	}
	u.URL = u.withoutFragment()
	return u, nil
}

// String returns the normalised URL, fragment included.
func (u URL) String() string {
	if u.Fragment == "" {
		return u.withoutFragment()
	}
	return u.withoutFragment() + "#" + u.Fragment
}

func (u URL) withoutFragment() string {
	var b strings.Builder
	b.Grow(len(u.Scheme) + len(u.HostASCII) + len(u.Path) + len(u.Query) + len(u.Userinfo) + 16)
	b.WriteString(u.Scheme)
	b.WriteString("://")
	if u.HasUserinfo {
		b.WriteString(u.Userinfo)
		b.WriteByte('@')
	}
	if strings.Contains(u.HostASCII, ":") {
		b.WriteByte('[')
		b.WriteString(u.HostASCII)
		b.WriteByte(']')
	} else {
		b.WriteString(u.HostASCII)
	}
	if u.Port != "" {
		b.WriteByte(':')
		b.WriteString(u.Port)
	}
	b.WriteString(u.Path)
	if u.Query != "" {
		b.WriteByte('?')
		b.WriteString(u.Query)
	}
	return b.String()
}

// splitScheme splits "scheme:rest". A scheme is a letter followed by
// letters, digits, '+', '-' or '.', at most 32 bytes.
func splitScheme(s string) (scheme, rest string, ok bool) {
	for i := 0; i < len(s) && i <= 32; i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		case i > 0 && c == ':':
			return s[:i], s[i+1:], true
		default:
			return "", s, false
		}
	}
	return "", s, false
}

// unfangScheme maps defanged schemes ("hxxp", "hXXps", "h**p", "fxp") to
// the real ones.
func unfangScheme(s string) string {
	switch s {
	case "hxxp", "hxtp", "htxp", "h**p", "h__p", "meow":
		return "http"
	case "hxxps", "hxtps", "htxps", "h**ps", "h__ps", "meows":
		return "https"
	case "fxp":
		return "ftp"
	}
	return s
}

// defangs are the bracketed forms used to write URLs that do not link.
var defangs = strings.NewReplacer(
	"[.]", ".", "(.)", ".", "{.}", ".", "[dot]", ".", "(dot)", ".", "[DOT]", ".", "(DOT)", ".",
	"[://]", "://", "[:]//", "://", "[:]", ":", "[/]", "/", "[@]", "@",
)

// refang undoes the bracketed defanging forms.
func refang(s string) (string, bool) {
	if !strings.ContainsAny(s, "[({") {
		return s, false
	}
	r := defangs.Replace(s)
	return r, r != s
}

// stripBlanks trims blanks and removes tabs and line breaks inside, as the
// URL parser of browsers does.
func stripBlanks(s string) string {
	s = strings.TrimFunc(s, func(r rune) bool { return r <= ' ' || r == '\u00a0' || r == '\u3000' })
	if strings.ContainsAny(s, "\t\r\n") {
		s = strings.Map(func(r rune) rune {
			if r == '\t' || r == '\r' || r == '\n' {
				return -1
			}
			return r
		}, s)
	}
	return s
}

func splitHostPort(a string) (host, port string, err error) {
	if strings.HasPrefix(a, "[") {
		i := strings.IndexByte(a, ']')
		if i < 0 {
			return "", "", ErrBadHost
		}
		host, a = a[:i+1], a[i+1:]
		if a == "" {
			return host, "", nil
		}
		if a[0] != ':' {
			return "", "", ErrBadHost
		}
		return host, a[1:], checkPort(a[1:])
	}
	i := strings.LastIndexByte(a, ':')
	if i < 0 {
		return a, "", nil
	}
	host, port = a[:i], a[i+1:]
	return host, strings.TrimLeft(port, "0") + zeroIfAllZero(port), checkPort(port)
}

func zeroIfAllZero(p string) string {
	if p != "" && strings.Trim(p, "0") == "" {
		return "0"
	}
	return ""
}

func checkPort(p string) error {
	if p == "" {
		return nil
	}
	n, err := strconv.ParseUint(p, 10, 32)
	if err != nil || n > 65535 {
		return ErrBadPort
	}
	return nil
}

// setHost normalises the host and fills the host facts.
func (u *URL) setHost(h string) error {
	if strings.HasPrefix(h, "[") {
		inner := strings.TrimSuffix(h[1:], "]")
		if i := strings.IndexByte(inner, '%'); i >= 0 {
			inner = inner[:i] // a zone means nothing outside the sender's host
		}
		a, err := netip.ParseAddr(inner)
		if err != nil || !a.Is6() {
			return ErrBadHost
		}
		u.Host, u.HostASCII, u.IsIP = a.String(), a.String(), true
		return nil
	}
	if strings.IndexByte(h, '%') >= 0 {
		h = unescapeHost(h)
	}
	for strings.HasSuffix(h, ".") || strings.HasSuffix(h, "。") {
		h = strings.TrimSuffix(strings.TrimSuffix(h, "."), "。")
	}
	if h == "" {
		return ErrNoHost
	}
	if a, obfuscated, isIP, err := parseIPv4(h); isIP {
		if err != nil {
			return err
		}
		u.Host, u.HostASCII, u.IsIP, u.ObfuscatedIP = a.String(), a.String(), true, obfuscated
		return nil
	}
	ascii, err := toASCII(h)
	if err != nil {
		return err
	}
	// The mapping can turn full-width digits into an IPv4 address.
	if a, obfuscated, isIP, err := parseIPv4(ascii); isIP {
		if err != nil {
			return err
		}
		u.Host, u.HostASCII, u.IsIP, u.ObfuscatedIP = a.String(), a.String(), true, obfuscated || ascii != h
		return nil
	}
	u.HostASCII = ascii
	u.Host = toUnicode(ascii)
	u.IsIDN = u.Host != ascii || strings.HasPrefix(ascii, "xn--") || strings.Contains(ascii, ".xn--")
	u.RegisteredDomain, u.ICANNDomain, u.TLD, u.PrivateSuffix = registered(ascii)
	return nil
}

// toASCII maps a host name to lower-case punycode. Names the IDNA mapping
// refuses are kept when they are plain ASCII host characters.
func toASCII(h string) (string, error) {
	a, err := lenient.ToASCII(h)
	if err != nil {
		a = strings.ToLower(h)
	}
	for i := 0; i < len(a); i++ {
		c := a[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_') {
			return "", ErrBadHost
		}
	}
	if a == "" || strings.HasPrefix(a, ".") || strings.HasSuffix(a, ".") || strings.Contains(a, "..") {
		return "", ErrBadHost
	}
	return a, nil
}

// toUnicode gives the display form of a punycode host, or the host itself
// when a label does not decode.
func toUnicode(ascii string) string {
	if !strings.Contains(ascii, "xn--") {
		return ascii
	}
	s, err := idna.Punycode.ToUnicode(ascii)
	if err != nil {
		return ascii
	}
	return s
}

// unescapeHost decodes percent escapes in a host name, as browsers do.
func unescapeHost(h string) string {
	var b strings.Builder
	for i := 0; i < len(h); i++ {
		if h[i] == '%' && i+2 < len(h) && isHex(h[i+1]) && isHex(h[i+2]) {
			b.WriteByte(unhex(h[i+1])<<4 | unhex(h[i+2]))
			i += 2
			continue
		}
		b.WriteByte(h[i])
	}
	return strings.ToValidUTF8(b.String(), "\uFFFD")
}

// parseIPv4 reads a host as an IPv4 address the way the WHATWG URL
// standard does: one to four parts in decimal, octal (leading 0) or hex
// (0x), the last part filling the remaining bytes. isIP reports that the
// host ends in a number and must be an address; err that it is not a valid
// one. obfuscated reports any form other than the dotted quad.
func parseIPv4(h string) (a netip.Addr, obfuscated, isIP bool, err error) {
	parts := strings.Split(h, ".")
	last := parts[len(parts)-1]
	if !isNumberPart(last) {
		return a, false, false, nil
	}
	if len(parts) > 4 {
		return a, false, true, ErrBadHost
	}
	var nums [4]uint64
	for i, p := range parts {
		n, ok := ipv4Number(p)
		if !ok {
			return a, false, true, ErrBadHost
		}
		nums[i] = n
	}
	n := len(parts)
	for i := 0; i < n-1; i++ {
		if nums[i] > 255 {
			return a, false, true, ErrBadHost
		}
	}
	if nums[n-1] >= 1<<(8*(5-n)) {
		return a, false, true, ErrBadHost
	}
	v := nums[n-1]
	for i := 0; i < n-1; i++ {
		v += nums[i] << (8 * (3 - i))
	}
	a = netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
	return a, a.String() != h, true, nil
}

func isNumberPart(p string) bool {
	if p == "" {
		return false
	}
	if len(p) > 2 && (p[:2] == "0x" || p[:2] == "0X") {
		for i := 2; i < len(p); i++ {
			if !isHex(p[i]) {
				return false
			}
		}
		return true
	}
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
	}
	return true
}

func ipv4Number(p string) (uint64, bool) {
	if p == "" || len(p) > 20 {
		return 0, false
	}
	base := 10
	switch {
	case len(p) >= 2 && (p[:2] == "0x" || p[:2] == "0X"):
		base, p = 16, p[2:]
		if p == "" {
			return 0, true
		}
	case len(p) > 1 && p[0] == '0':
		base, p = 8, p[1:]
	}
	n, err := strconv.ParseUint(p, base, 64)
	return n, err == nil
}

// registered returns the registered domains and the public suffix of an
// ASCII host name.
func registered(ascii string) (domain, icannDomain, suffix string, private bool) {
	ps, icann := publicsuffix.PublicSuffix(ascii)
	suffix = ps
	domain = plusOne(ascii, ps)
	if icann || !strings.Contains(ps, ".") {
		// A single unlisted label counts as a TLD of its own.
		return domain, domain, suffix, false
	}
	// A private rule applied: look for the ICANN suffix below it.
	d := ps
	for {
		i := strings.IndexByte(d, '.')
		if i < 0 {
			break
		}
		d = d[i+1:]
		if p, ic := publicsuffix.PublicSuffix(d); ic || !strings.Contains(p, ".") {
			d = p
			break
		}
	}
	return domain, plusOne(ascii, d), suffix, true
}

// plusOne returns the suffix of host made of suffix plus one more label,
// or "" when host is the suffix itself.
func plusOne(host, suffix string) string {
	if len(host) <= len(suffix) {
		return ""
	}
	rest := host[:len(host)-len(suffix)-1]
	if i := strings.LastIndexByte(rest, '.'); i >= 0 {
		rest = rest[i+1:]
	}
	if rest == "" {
		return ""
	}
	return rest + "." + suffix
}

// RegisteredDomain returns the registered domain (effective TLD plus one,
// private suffixes applied) of a host name in punycode form, or "" for IP
// addresses, public suffixes and names that are not host names.
func RegisteredDomain(host string) string {
	h := strings.TrimSuffix(strings.TrimSpace(host), ".")
	if strings.HasPrefix(h, "[") {
		return ""
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return ""
	}
	if _, _, isIP, _ := parseIPv4(h); isIP {
		return ""
	}
	a, err := toASCII(h)
	if err != nil {
		return ""
	}
	d, _, _, _ := registered(a)
	return d
}

// escape percent-encodes what may not appear in a URL component and
// repairs invalid escapes: a '%' not followed by two hex digits becomes
// "%25", existing escapes get upper-case hex digits. In userinfo, '@', '/',
// '?' and '#' are escaped too.
func escape(s string, userinfo bool) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if needsEscape(s[i], userinfo) || s[i] == '%' {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	const hexd = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b.WriteByte('%')
			b.WriteByte(upper(s[i+1]))
			b.WriteByte(upper(s[i+2]))
			i += 2
		case c == '%' || needsEscape(c, userinfo):
			b.WriteByte('%')
			b.WriteByte(hexd[c>>4])
			b.WriteByte(hexd[c&15])
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func needsEscape(c byte, userinfo bool) bool {
	if c <= ' ' || c >= 0x7f {
		return true
	}
	switch c {
	case '"', '<', '>', '\\', '^', '`', '{', '|', '}':
		return true
	case '@', '/', '?', '#':
		return userinfo
	}
	return false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

func upper(c byte) byte {
	if 'a' <= c && c <= 'f' {
		return c - 'a' + 'A'
	}
	return c
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func clipRaw(s string) string {
	if len(s) <= maxRaw {
		return s
	}
	s = s[:maxRaw]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
