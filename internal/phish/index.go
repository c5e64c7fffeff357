package phish

import (
	"hash/maphash"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"unicode"
	"unicode/utf8"

	"github.com/mailsift/mailsift/internal/urls"
	"golang.org/x/net/publicsuffix"
)

// brandIndex is Config.Brands prepared for the checks: who owns which
// domain, the skeletons of the brand domains for the look-alike test, the
// brand labels looked for inside host names, and the brand names looked
// for in display names.
type brandIndex struct {
	owner      map[string]string // configured domain (punycode) -> brand
	labelOwner map[string]string // label of a configured registered domain -> brand
	domains    []brandDomain
	parts      map[string]brandPart // skeleton of a brand label -> brand
	subs       []brandPart          // distinctive labels found inside other labels
	names      []brandName
}

type brandDomain struct {
	brand, domain string
	sk, label     string
	labelSk       string
	labelLen      int // runes of labelSk
	skLen         int // runes of sk
}

type brandPart struct {
	brand, domain string
	sk            string
	generic       bool // a common word: counts only beside a service word
}

type brandName struct {
	brand     string
	sk        string
	ambiguous bool // a common word or name: counts only beside a service word
}

// genericLabels are brand labels that are also common words or host
// names ("office.example.edu", "apple.slashdot.org", "live.example.com").
var genericLabels = set(
	"www", "mail", "email", "tax", "service", "services", "gov", "live", "office",
	"outlook", "apple", "chase", "visa", "meta", "zoom", "booking", "ledger", "stripe",
	"discord", "telegram", "norton", "ing", "correos", "poste", "priceless", "audible",
	"acrobat", "messenger", "bing", "azure", "windows", "ups", "att", "target", "gen",
	"xbox", "skype", "intuit", "costco", "walmart", "roblox", "steam", "mac", "me",
)

// ambiguousNames are brand names that are also words or first names.
var ambiguousNames = set(
	"apple", "chase", "visa", "meta", "steam", "zoom", "ledger", "stripe", "discord",
	"telegram", "norton", "outlook", "ing", "correos", "citi", "ups", "intuit", "live",
	"office", "target", "twitter", "trust wallet", "booking.com", "poste italiane",
)

// serviceWords make a generic brand word a claim to be the brand:
// "Apple Support", "chase-secure", "outlook-verify".
var serviceWords = set(
	"support", "secure", "security", "login", "signin", "logon", "verify", "verification",
	"account", "accounts", "id", "help", "helpdesk", "billing", "service", "services",
	"update", "online", "auth", "wallet", "pay", "payment", "payments", "card", "cards",
	"bank", "banking", "alert", "alerts", "team", "notification", "notifications", "notice",
	"customer", "care", "admin", "administrator", "noreply", "reply", "mail", "mailbox",
	"center", "centre", "desk", "inc", "official", "member", "members", "protect",
	"protection", "recovery", "unlock", "access", "portal", "app", "cloud", "store",
	"delivery", "tracking", "express", "refund", "365", "message", "messages", "document",
	"documents", "docs", "share", "file", "files", "storage", "drive", "icloud", "pass",
	"password", "confirm", "validation", "validate", "web", "webmail", "mobile",
)

// serviceSkeletons are the service words as urls.Skeleton writes them,
// for comparison with skeletons of names and host labels.
var serviceSkeletons = func() map[string]bool {
	m := make(map[string]bool, len(serviceWords))
	for w := range serviceWords {
		m[urls.Skeleton(w)] = true
	}
	return m
}()

func set(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

var (
	hashSeed  = maphash.MakeSeed()
	lastIndex atomic.Pointer[cachedIndex]
)

type cachedIndex struct {
	fp uint64
	ix *brandIndex
}

// indexFor returns the index of brands, reusing the last one built when
// the brands are the same.
func indexFor(brands map[string][]string) *brandIndex {
	fp := fingerprint(brands)
	if c := lastIndex.Load(); c != nil && c.fp == fp {
		return c.ix
	}
	ix := buildIndex(brands)
	lastIndex.Store(&cachedIndex{fp: fp, ix: ix})
	return ix
}

// fingerprint hashes the brand map independently of its order.
func fingerprint(brands map[string][]string) uint64 {
	var h maphash.Hash
	h.SetSeed(hashSeed)
	var sum, xor, n uint64
	for name, domains := range brands {
		h.Reset()
		h.WriteString(name)
		v := h.Sum64()
		sum += v
		xor ^= v
		for i, d := range domains {
			h.Reset()
			h.WriteString(name)
			h.WriteByte(0)
			h.WriteString(d)
			h.WriteByte(0)
			h.WriteString(strconv.Itoa(i))
			v := h.Sum64()
			sum += v * 0x9e3779b97f4a7c15
			xor ^= v
			n++
		}
		n++
	}
	return sum ^ xor<<1 ^ n<<56
}

func buildIndex(brands map[string][]string) *brandIndex {
	ix := &brandIndex{
		owner:      make(map[string]string),
		labelOwner: make(map[string]string),
		parts:      make(map[string]brandPart),
	}
	names := make([]string, 0, len(brands))
	for n := range brands {
		names = append(names, n)
	}
	sort.Strings(names)
	subSeen := make(map[string]bool)
	for _, name := range names {
		if sk := nameSkeleton(name); sk != "" {
			amb := ambiguousNames[strings.ToLower(name)]
			ix.names = append(ix.names, brandName{brand: name, sk: sk, ambiguous: amb})
			if joined := strings.ReplaceAll(sk, " ", ""); joined != sk {
				// "Office365", "BankofAmerica"
				ix.names = append(ix.names, brandName{brand: name, sk: joined, ambiguous: amb})
			}
		}
		for _, d := range brands[name] {
			h, ok := hostFacts(d)
			if !ok || h.rd == "" {
				continue
			}
			if _, ok := ix.owner[h.ascii]; !ok {
				ix.owner[h.ascii] = name
			}
			if !h.private {
				if _, ok := ix.labelOwner[h.label]; !ok {
					ix.labelOwner[h.label] = name
				}
			}
			bd := brandDomain{
				brand: name, domain: h.ascii, sk: urls.Skeleton(h.rd),
				label: h.label, labelSk: urls.Skeleton(h.label),
			}
			bd.labelLen = utf8.RuneCountInString(bd.labelSk)
			bd.skLen = utf8.RuneCountInString(bd.sk)
			ix.domains = append(ix.domains, bd)
			if bd.labelLen < 3 || h.rd != h.ascii {
				continue
			}
			if !related(bd.labelSk, name) {
				continue // "blogger" is Google's, but names something else
			}
			// Short labels ("citi", "dhl") are parts of other names too.
			p := brandPart{brand: name, domain: h.ascii, sk: bd.labelSk, generic: genericLabels[h.label] || bd.labelLen < 5}
			if _, ok := ix.parts[p.sk]; !ok {
				ix.parts[p.sk] = p
			}
			if !p.generic && bd.labelLen >= 6 && !strings.Contains(p.sk, "-") && !subSeen[p.sk] {
				subSeen[p.sk] = true
				ix.subs = append(ix.subs, p)
			}
		}
	}
	return ix
}

// related reports whether a domain label spells the brand name, or the
// name spells the label ("paypal", "googlemail", "citibank" for Citi).
func related(labelSk, brand string) bool {
	keep := func(r rune) rune {
		if r == '-' || r == ' ' || r == '.' || r == '&' || r == '\'' {
			return -1
		}
		return r
	}
	l := strings.Map(keep, labelSk)
	b := strings.Map(keep, nameSkeleton(brand))
	return len(l) >= 3 && (strings.Contains(l, b) || strings.Contains(b, l))
}

// host is what the checks need to know about a host name.
type host struct {
	ascii   string // punycode, lower case
	unicode string
	rd      string // registered domain, private suffixes applied
	icann   string // registered domain under the ICANN section
	label   string // the label of rd left of its public suffix
	private bool   // rd is below a private suffix (user.github.io)
	idn     bool
	ip      bool
}

// hostFacts reads a host name (Unicode or punycode).
func hostFacts(name string) (host, bool) {
	name = strings.TrimSuffix(strings.TrimSpace(name), ".")
	if name == "" || strings.ContainsAny(name, "/@ ") {
		return host{}, false
	}
	u, err := urls.Parse("http://" + name + "/")
	if err != nil {
		return host{}, false
	}
	return hostOf(&u), true
}

func hostOf(u *urls.URL) host {
	h := host{
		ascii: u.HostASCII, unicode: u.Host, rd: u.RegisteredDomain, icann: u.ICANNDomain,
		private: u.PrivateSuffix, idn: u.IsIDN, ip: u.IsIP,
	}
	if h.rd != "" {
		if suffix, _ := publicsuffix.PublicSuffix(h.rd); len(suffix) < len(h.rd) {
			h.label = strings.TrimSuffix(h.rd, "."+suffix)
		}
	}
	return h
}

// ownerOf returns the brand that owns h: a configured domain is h or a
// parent of it within its registered domain, or h's registered domain has
// a brand's label under another public suffix ("amazon.de").
func (ix *brandIndex) ownerOf(h host) string {
	if h.ip || h.rd == "" {
		return ""
	}
	for s := h.ascii; len(s) >= len(h.rd); {
		if b, ok := ix.owner[s]; ok {
			return b
		}
		i := strings.IndexByte(s, '.')
		if i < 0 {
			break
		}
		s = s[i+1:]
	}
	if !h.private {
		if b, ok := ix.labelOwner[h.label]; ok {
			return b
		}
	}
	return ""
}

// lookAlike returns the brand domain h imitates (urls.LookAlike), after a
// cheap filter on skeletons.
func (ix *brandIndex) lookAlike(h host) (brandDomain, bool) {
	if h.ip || h.rd == "" || h.label == "" {
		return brandDomain{}, false
	}
	sk := urls.Skeleton(h.rd)
	labelSk := urls.Skeleton(h.label)
	n := utf8.RuneCountInString(sk)
	for _, t := range ix.domains {
		if t.labelLen < 3 {
			continue // "x.com", "t.co": too many innocent neighbours
		}
		cand := sk == t.sk || labelSk == t.labelSk && h.label != t.label
		if !cand && t.labelLen >= 6 && n-t.skLen <= 1 && t.skLen-n <= 1 && !genericLabels[t.label] {
			cand = urls.OneEdit(sk, t.sk)
		}
		if !cand {
			continue
		}
		if _, ok := urls.LookAlike(h.ascii, []string{t.domain}); ok {
			return t, true
		}
	}
	return brandDomain{}, false
}

// inHost looks for a brand in the labels of h that its owner chose:
// below the registered domain, or below a private suffix
// ("paypal.com.evil.example", "netflix-billing.pages.dev"), and in the
// registered label itself ("paypal-secure.example"). sub reports the
// first case.
func (ix *brandIndex) inHost(h host) (p brandPart, sub, ok bool) {
	if h.ip || h.rd == "" {
		return p, false, false
	}
	base := h.rd
	if h.private && h.icann != "" {
		base = h.icann
	}
	if len(h.ascii) > len(base) {
		region := strings.TrimSuffix(h.ascii, "."+base)
		if p, ok := ix.inLabels(region, true); ok {
			return p, true, true
		}
	}
	if !h.private && h.label != "" {
		if p, ok := ix.inLabels(h.label, false); ok {
			return p, false, true
		}
	}
	return p, false, false
}

// inLabels looks for brand labels in the dot- and hyphen-separated parts
// of s. In a subdomain a full brand domain counts too
// ("paypal.com.evil.example"), and a distinctive brand label counts alone;
// in a registered label only beside other parts ("paypal-secure").
func (ix *brandIndex) inLabels(s string, subdomain bool) (brandPart, bool) {
	sk := urls.Skeleton(s)
	if subdomain {
		for _, t := range ix.domains {
			if t.labelLen >= 3 && containsBounded(sk, t.sk) {
				return brandPart{brand: t.brand, domain: t.domain, sk: t.sk}, true
			}
		}
	}
	parts := strings.FieldsFunc(sk, func(r rune) bool { return r == '.' || r == '-' || r == '_' })
	service := false
	for _, p := range parts {
		if serviceSkeletons[p] || serviceSkeletons[strings.TrimRight(p, "0123456789lo")] {
			service = true
		}
	}
	for _, p := range parts {
		bp, ok := ix.parts[p]
		if !ok {
			continue
		}
		if !subdomain && len(parts) < 2 {
			continue
		}
		if bp.generic && !service {
			continue
		}
		return bp, true
	}
	for _, p := range parts {
		for _, bp := range ix.subs {
			if len(p) > len(bp.sk) && (strings.HasPrefix(p, bp.sk) || strings.HasSuffix(p, bp.sk)) {
				return bp, true
			}
		}
	}
	return brandPart{}, false
}

// containsBounded reports whether sub occurs in s between label or part
// boundaries.
func containsBounded(s, sub string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], sub)
		if j < 0 {
			return false
		}
		j += i
		end := j + len(sub)
		if (j == 0 || s[j-1] == '.' || s[j-1] == '-') && (end == len(s) || s[end] == '.' || s[end] == '-') {
			return true
		}
		i = j + 1
	}
}

// nameSkeleton is the skeleton of a brand or display name for comparison.
func nameSkeleton(s string) string {
	return strings.TrimSpace(urls.Skeleton(s))
}

// claimedBrand returns the brand a display name claims to be.
func (ix *brandIndex) claimedBrand(name string) (string, bool) {
	if strings.TrimSpace(name) == "" {
		return "", false
	}
	sk := nameSkeleton(name)
	words := strings.FieldsFunc(sk, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	service := false
	for _, w := range words {
		if serviceSkeletons[w] {
			service = true
			break
		}
	}
	trimmed := strings.TrimFunc(sk, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	for _, b := range ix.names {
		if !wordIn(sk, b.sk) {
			continue
		}
		if b.ambiguous && !service && trimmed != b.sk {
			continue
		}
		return b.brand, true
	}
	return "", false
}

// wordIn reports whether w occurs in s with no letter or digit right
// before or after it.
func wordIn(s, w string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], w)
		if j < 0 {
			return false
		}
		j += i
		end := j + len(w)
		before, _ := utf8.DecodeLastRuneInString(s[:j])
		after, _ := utf8.DecodeRuneInString(s[end:])
		if (j == 0 || !isAlnum(before)) && (end == len(s) || !isAlnum(after)) {
			return true
		}
		i = j + 1
	}
}

func isAlnum(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }
