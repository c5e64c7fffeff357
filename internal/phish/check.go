package phish

import (
	"encoding/base64"
	"math"
	"math/bits"
	"net/netip"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"unicode"

	"github.com/mailsift/mailsift/internal/mail"
	"github.com/mailsift/mailsift/internal/urls"
	"github.com/mailsift/mailsift/report"
)

// Address is one mailbox of an address header.
type Address struct {
	Name    string // display name, decoded
	Address string // local@domain
}

// Attachment is one attachment or archive member, as the attachment stage
// saw it.
type Attachment struct {
	Filename     string // base name
	Path         string // path of an archive member below its attachment, "" for the attachment
	SniffedType  string
	DeclaredType string

	Executable, DoubleExtension, TypeMismatch, Encrypted bool

	Text string // extracted text (capped) or ""
	HTML string // the source when the file is HTML or SVG, "" otherwise
}

// Input is what Check reads of one message.
type Input struct {
	Subject    string
	From       []Address
	ReplyTo    []Address
	ReturnPath string // bare address
	Sender     string // Sender header address, may be ""
	// ListID is the List-Id header, may be "": a reply address or bounce
	// address in the list's domain is then not a mismatch.
	ListID string
	// To are the recipients, may be empty: a From domain imitating a
	// recipient's domain is a look-alike as well.
	To []Address
	// BodyText is the text bodies and the visible text of the HTML
	// bodies, joined.
	BodyText string
	HTML     []string // raw HTML bodies
	// BodyURLs are the URLs of the bodies, with Texts and Source set.
	BodyURLs []urls.URL
	// Attachments are the attachments and archive members, flattened.
	Attachments    []Attachment
	AttachmentURLs []urls.URL
	// Authentication is the value of the Authentication-Results headers,
	// joined with "\n".
	Authentication string
}

// Limits of the text read by the language checks.
const (
	maxLureText   = 64 << 10
	maxLureAttach = 16 << 10
	maxDetail     = 120
	maxRecipients = 20 // recipients compared with the From domain
	// urgencyMany multiplies the weight of urgency-language when two or
	// more distinct lure phrases occur.
	urgencyMany = 1.6
	// qrMaxWords is the most words a body may have to count as the short
	// text around a QR code.
	qrMaxWords = 250
)

var defaultCfg = sync.OnceValue(func() *Config {
	c := DefaultConfig()
	return &c
})

// Check computes the SpamScope bitmap and mailsift's weighted findings of
// one message. lists may be nil (no keyword bits) and cfg nil (the
// default configuration). It is a pure function and safe for concurrent
// use.
func Check(in *Input, lists *Lists, cfg *Config) report.Phishing {
	if in == nil {
		in = &Input{}
	}
	if cfg == nil {
		cfg = defaultCfg()
	}
	c := &checker{in: in, cfg: cfg, ix: indexFor(cfg.Brands), found: make(map[string]*report.Finding)}
	if len(in.From) > 0 {
		c.from, c.fromOK = hostFacts(domainOf(in.From[0].Address))
	}
	c.bodyHTML()
	score, targets := bitmap(in, lists, c.bodyForms > 0)

	c.sender()
	c.links()
	c.attachments()
	c.lureLanguage()
	c.authentication()

	p := report.Phishing{
		Score:         score,
		ScoreExpanded: Expand(score),
		Targets:       targets,
		WithPhishing:  score != 0 && len(in.BodyURLs)+len(in.AttachmentURLs) > 0,
		Findings:      c.findings(),
	}
	total := 0.0
	for _, f := range p.Findings {
		total += f.Weight
	}
	if p.WithPhishing {
		// The keyword bits only: forms have findings of their own.
		total += cfg.BitmapWeight * float64(bits.OnesCount(uint(score&^(1<<BitMailForm))))
	}
	p.Weight = math.Round(total*1000) / 1000
	p.Verdict = p.Weight >= cfg.threshold()
	return p
}

// checker is the state of one Check call.
type checker struct {
	in     *Input
	cfg    *Config
	ix     *brandIndex
	from   host
	fromOK bool
	found  map[string]*report.Finding

	bodyForms    int
	inlineImages int
	action       bool // a link, form or reply address to act on
	htmlAttach   bool
}

// add records a finding; the first detail of a name is kept.
func (c *checker) add(name, detail string) {
	if _, ok := c.found[name]; ok {
		return
	}
	w := c.cfg.weight(name)
	if w == 0 {
		return
	}
	c.found[name] = &report.Finding{Name: name, Weight: w, Detail: clip(detail, maxDetail)}
}

// findings returns the findings, heaviest first.
func (c *checker) findings() []report.Finding {
	out := make([]report.Finding, 0, len(c.found))
	for _, f := range c.found {
		out = append(out, *f)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Weight != out[j].Weight {
			return out[i].Weight > out[j].Weight
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// HTML bodies.

func (c *checker) bodyHTML() {
	for _, doc := range c.in.HTML {
		f := scanHTML(doc)
		c.bodyForms += len(f.forms)
		c.inlineImages += f.inline
		if f.passwords() > 0 {
			c.add(FindCredentialForm, "password field in the body")
		}
		for _, fm := range f.forms {
			if fm.inputs == 0 {
				continue
			}
			c.action = true
			if fm.inputs < 2 {
				continue // a search or subscription box
			}
			if d, ok := c.foreignAction(fm.action); ok {
				c.add(FindExternalForm, d)
			}
		}
		if len(f.dataURIs) > 0 {
			c.action = true
			c.add(FindDataURI, f.dataURIs[0])
		}
		if f.scriptLinks > 0 {
			c.action = true
			c.add(FindScriptLink, "javascript: link")
		}
	}
}

// foreignAction reports a form action that sends what is typed to a
// host that is neither the sender's domain nor a brand's.
func (c *checker) foreignAction(action string) (string, bool) {
	if !strings.Contains(action, "//") {
		return "", false
	}
	u, err := urls.Parse(action)
	if err != nil {
		return "", false
	}
	h := hostOf(&u)
	if h.ip {
		return h.ascii, true
	}
	if h.rd == "" || c.fromOK && sameOrg(h, c.from) || c.ix.ownerOf(h) != "" || isESP(h) {
		return "", false
	}
	return h.unicode, true
}

// Sender.

func (c *checker) sender() {
	fh := c.from
	if c.fromOK && !fh.ip && fh.rd != "" {
		if c.ix.ownerOf(fh) == "" {
			if t, ok := c.ix.lookAlike(fh); ok {
				c.add(FindLookAlike, "from "+fh.unicode+" imitates "+t.domain)
			}
			if p, sub, ok := c.ix.inHost(fh); ok {
				c.add(brandFinding(sub), "from "+fh.unicode+" carries "+p.brand)
			}
			c.idn(fh, "from ")
		}
		for i, to := range c.in.To {
			if i == maxRecipients {
				break
			}
			th, ok := hostFacts(domainOf(to.Address))
			if !ok || th.rd == "" || th.rd == fh.rd || isFreemail(th) {
				continue
			}
			if _, ok := urls.LookAlike(fh.ascii, []string{th.rd}); ok {
				c.add(FindLookAlike, "from "+fh.unicode+" imitates recipient "+th.rd)
				break
			}
		}
	}
	for _, a := range c.in.From {
		c.displayName(a)
	}

	list := listDomain(c.in.ListID)
	senderRD := ""
	if sh, ok := hostFacts(domainOf(c.in.Sender)); ok {
		senderRD = sh.rd
	}
	if !c.fromOK || fh.rd == "" {
		return
	}
	for _, r := range c.in.ReplyTo {
		rh, ok := hostFacts(domainOf(r.Address))
		if !ok || rh.rd == "" || sameOrg(rh, fh) {
			continue
		}
		if rh.rd == list || rh.rd == senderRD {
			continue
		}
		c.action = true
		c.add(FindReplyTo, fh.rd+" -> "+rh.rd)
		if isFreemail(rh) && !isFreemail(fh) {
			c.add(FindReplyToFreemail, rh.rd)
		}
	}
	if rh, ok := hostFacts(domainOf(c.in.ReturnPath)); ok && rh.rd != "" && !sameOrg(rh, fh) {
		if rh.rd != list && rh.rd != senderRD && !isESP(rh) {
			c.add(FindReturnPath, fh.rd+" -> "+rh.rd)
		}
	}
}

// emailRe finds addresses in display names; compiled on first use.
var emailRe = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`[A-Za-z0-9._%+\-]+@([A-Za-z0-9\-]+\.)+[A-Za-z]{2,}`)
})

// displayName looks for a brand or an address in a From display name
// that the From address does not back.
func (c *checker) displayName(a Address) {
	name := strings.TrimSpace(a.Name)
	if name == "" {
		return
	}
	fh, _ := hostFacts(domainOf(a.Address))
	if b, ok := c.ix.claimedBrand(name); ok {
		if fh.rd == "" || c.ix.ownerOf(fh) == "" || isFreemail(fh) {
			c.add(FindDisplayNameSpoof, b+" from "+orUnknown(fh.rd))
			return
		}
	}
	if strings.Contains(strings.ToLower(name), " via ") {
		return // mailing lists rewriting From: "'Ann' via Group"
	}
	for _, m := range emailRe().FindAllString(name, 3) {
		nh, ok := hostFacts(domainOf(m))
		if !ok || nh.rd == "" || sameOrg(nh, fh) {
			continue
		}
		if c.ix.ownerOf(nh) == "" && !isFreemail(fh) {
			continue // forwarding services and private addresses
		}
		c.add(FindDisplayNameSpoof, "name shows "+nh.rd+", from "+orUnknown(fh.rd))
		return
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown domain"
	}
	return s
}

// Links.

// clickable reports URLs a reader can follow: not images or scripts of
// an HTML body.
func clickable(u *urls.URL, att bool) bool {
	switch u.Source {
	case urls.SourceSrc:
		return false
	case urls.SourceScript:
		return att
	}
	return true
}

func (c *checker) links() {
	seen := make(map[string]bool)
	for i := range c.in.BodyURLs {
		c.link(&c.in.BodyURLs[i], false, seen, 0)
	}
	for i := range c.in.AttachmentURLs {
		c.link(&c.in.AttachmentURLs[i], true, seen, 0)
	}
}

func (c *checker) link(u *urls.URL, att bool, seen map[string]bool, depth int) {
	if !clickable(u, att) {
		return
	}
	if u.Scheme == "http" || u.Scheme == "https" || u.Scheme == "ftp" {
		c.action = true
	}
	h := hostOf(u)
	if u.IsIP {
		if u.ObfuscatedIP {
			c.add(FindObfuscatedIP, u.Host)
		} else if a, err := netip.ParseAddr(u.Host); err == nil && publicIP(a) {
			c.add(FindIPURL, u.Host)
		}
	}
	if u.HasUserinfo && (u.Scheme == "http" || u.Scheme == "https") {
		ui, err := url.PathUnescape(u.Userinfo)
		if err != nil {
			ui = u.Userinfo
		}
		if i := strings.IndexByte(ui, ':'); i >= 0 {
			ui = ui[:i]
		}
		if strings.Contains(ui, ".") || c.ix.namesBrand(ui) {
			c.add(FindUserinfo, ui+"@"+u.Host)
		}
	}
	owner := c.ix.ownerOf(h)
	if !seen[h.ascii] {
		seen[h.ascii] = true
		if owner == "" && !h.ip && h.rd != "" {
			if t, ok := c.ix.lookAlike(h); ok {
				c.add(FindLookAlike, h.unicode+" imitates "+t.domain)
			}
			if p, sub, ok := c.ix.inHost(h); ok {
				c.add(brandFinding(sub), h.unicode+" carries "+p.brand)
			}
			c.idn(h, "")
		}
		if _, ok := hostIn(h.ascii, shorteners); ok {
			c.add(FindShortener, h.unicode)
		}
	}
	if name, detail := hosting(u); name != "" {
		c.add(name, detail)
	}
	if r := c.recipientIn(u.Fragment); r != "" {
		c.add(FindRecipientInURL, r+" in "+h.unicode)
	}

	nested, ok := redirectTarget(u)
	if ok && nested.RegisteredDomain != u.RegisteredDomain {
		if !c.ownRedirect(h, owner) {
			c.add(FindOpenRedirect, h.unicode+" -> "+nested.Host)
		}
		if depth < 2 {
			nested.Source = u.Source
			c.link(&nested, att, seen, depth+1)
		}
	}
	c.linkText(u, h, owner, nested, ok)
}

// recipientIn returns the recipient address found in a URL fragment,
// plain or base64-encoded: phishing kits read it there to fill in the
// victim's login name, where no web server logs it.
func (c *checker) recipientIn(fragment string) string {
	if len(fragment) < 6 {
		return ""
	}
	frag, err := url.PathUnescape(fragment)
	if err != nil {
		frag = fragment
	}
	low := strings.ToLower(frag)
	for _, to := range c.in.To {
		a := strings.ToLower(strings.TrimSpace(to.Address))
		if !strings.Contains(a, "@") {
			continue
		}
		if strings.Contains(low, a) {
			return a
		}
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
			e := strings.TrimRight(enc.EncodeToString([]byte(a)), "=")
			if strings.Contains(frag, e) {
				return a
			}
		}
	}
	return ""
}

// ownRedirect reports a redirect the sender runs or that serves it: on
// the sender's own domain or brand, or at an e-mail service provider.
func (c *checker) ownRedirect(h host, owner string) bool {
	if isESP(h) {
		return true
	}
	if !c.fromOK {
		return false
	}
	return sameOrg(h, c.from) || owner != "" && c.ix.ownerOf(c.from) == owner
}

// linkText compares the domain an anchor shows with the one it leads to.
func (c *checker) linkText(u *urls.URL, h host, owner string, nested urls.URL, redirect bool) {
	if owner != "" {
		return // the link leads to a brand's own domain
	}
	for _, text := range u.Texts {
		tu, ok := urls.TextURL(text)
		if !ok {
			continue
		}
		th := hostOf(&tu)
		if th.ip && th.ascii == h.ascii || !th.ip && (th.rd == "" || sameOrg(th, h)) {
			continue
		}
		if redirect && (nested.RegisteredDomain == th.rd || nested.HostASCII == th.ascii) {
			continue // a tracking redirect to the domain shown
		}
		detail := th.unicode + " -> " + h.unicode
		esp := isESP(h)
		brand := c.ix.ownerOf(th) != ""
		switch {
		case brand && !esp && looksLikeURL(text):
			c.add(FindLinkTextBrand, detail)
			return
		case brand || !esp:
			c.add(FindLinkText, detail)
		}
	}
}

// looksLikeURL reports a link text written as a URL ("https://paypal.com",
// "www.paypal.com") rather than a bare name ("Walmart.com"), which pages
// about a brand use for links of their own.
func looksLikeURL(text string) bool {
	t := strings.ToLower(strings.TrimSpace(text))
	return strings.Contains(t, "://") || strings.HasPrefix(t, "www.")
}

// sameOrg reports hosts of one organisation: the same registered domain,
// or the same name under another public suffix ("example.com" and
// "example.net").
func sameOrg(a, b host) bool {
	if a.rd == b.rd {
		return true
	}
	return !a.private && !b.private && a.label != "" && a.label == b.label
}

// namesBrand reports whether s contains the label of a brand domain
// ("paypal.com", "apple").
func (ix *brandIndex) namesBrand(s string) bool {
	sk := urls.Skeleton(s)
	for _, p := range ix.parts {
		if !p.generic && strings.Contains(sk, p.sk) {
			return true
		}
	}
	return false
}

func brandFinding(sub bool) string {
	if sub {
		return FindBrandInSubdomain
	}
	return FindBrandInDomain
}

// idn reports internationalised host names, and more strongly those that
// mix Latin letters with Cyrillic, Greek or Armenian ones in one label.
func (c *checker) idn(h host, prefix string) {
	if !h.idn {
		return
	}
	if mixedScript(h.unicode) {
		c.add(FindMixedScript, prefix+h.unicode+" ("+h.ascii+")")
		return
	}
	c.add(FindIDN, prefix+h.unicode+" ("+h.ascii+")")
}

func mixedScript(host string) bool {
	for _, label := range strings.Split(host, ".") {
		latin, other := false, false
		for _, r := range label {
			switch {
			case r < 0x80 && unicode.IsLetter(r), unicode.Is(unicode.Latin, r):
				latin = true
			case unicode.In(r, unicode.Cyrillic, unicode.Greek, unicode.Armenian):
				other = true
			}
		}
		if latin && other {
			return true
		}
	}
	return false
}

// redirectKeys are query parameters that carry the target of a redirect.
var redirectKeys = set(
	"url", "u", "q", "redirect", "redirect_uri", "redirect_url", "redirecturl", "redir",
	"next", "dest", "destination", "goto", "go", "r", "target", "to", "link", "out",
	"continue", "return", "returnurl", "return_url", "rurl", "forward", "ref", "jump",
	"site", "page", "uri", "data", "l", "lnk", "href",
)

// redirectTarget returns the URL a link hands on to: the value of a
// redirect parameter ("google.com/url?q=...", "?redirect=..."), or a URL
// embedded in the path ("rd.example.com/...*http://target/").
func redirectTarget(u *urls.URL) (urls.URL, bool) {
	if u.Query != "" {
		vals, err := url.ParseQuery(u.Query)
		if err == nil {
			keys := make([]string, 0, len(vals))
			for k := range vals {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if !redirectKeys[strings.ToLower(k)] {
					continue
				}
				for _, v := range vals[k] {
					if t, ok := nestedURL(v); ok {
						return t, true
					}
				}
			}
		}
	}
	p := u.Path
	if i := strings.Index(p, "http"); i > 0 {
		if un, err := url.PathUnescape(p[i:]); err == nil {
			p = un
		} else {
			p = p[i:]
		}
		if t, ok := nestedURL(p); ok {
			return t, true
		}
	}
	return urls.URL{}, false
}

func nestedURL(v string) (urls.URL, bool) {
	v = strings.TrimSpace(v)
	low := strings.ToLower(v)
	if !strings.HasPrefix(low, "http://") && !strings.HasPrefix(low, "https://") && !strings.HasPrefix(low, "//") {
		return urls.URL{}, false
	}
	t, err := urls.Parse(v)
	if err != nil || t.HostASCII == "" || !t.IsIP && t.RegisteredDomain == "" {
		return urls.URL{}, false
	}
	return t, true
}

// publicIP reports addresses reachable on the Internet.
func publicIP(a netip.Addr) bool {
	return a.IsValid() && !a.IsPrivate() && !a.IsLoopback() && !a.IsLinkLocalUnicast() &&
		!a.IsUnspecified() && !a.IsMulticast()
}

// Attachments.

var htmlExt = set("htm", "html", "shtml", "xhtml", "shtm", "svg", "mht", "mhtml", "xht", "hta")

func (c *checker) attachments() {
	for _, a := range c.in.Attachments {
		name := a.Filename
		if a.Path != "" {
			name = a.Path
		}
		if a.Executable && !shortcutExt[extension(a.Filename)] {
			c.add(FindExecutable, name)
		}
		if a.DoubleExtension {
			c.add(FindDoubleExtension, name)
		}
		if a.TypeMismatch {
			d := name
			if a.SniffedType != "" {
				d += " is " + a.SniffedType
			}
			c.add(FindTypeMismatch, d)
		}
		if a.Encrypted {
			c.add(FindEncryptedArchive, name)
		}
		if !isHTMLAttachment(a) {
			continue
		}
		c.htmlAttach = true
		c.action = true
		c.add(FindHTMLAttachment, name)
		if a.HTML == "" {
			continue
		}
		f := scanHTML(a.HTML)
		if len(f.forms) > 0 {
			c.add(FindHTMLAttachmentForm, name)
		}
		if f.passwords() > 0 {
			c.add(FindCredentialForm, "password field in "+name)
		}
		if len(f.code) > 0 || f.refresh != "" {
			signs := f.code
			if f.refresh != "" {
				signs = append([]string{"meta refresh"}, signs...)
			}
			c.add(FindHTMLAttachmentCode, name+": "+strings.Join(signs, ", "))
		}
		if len(f.dataURIs) > 0 {
			c.add(FindDataURI, f.dataURIs[0]+" in "+name)
		}
	}
}

func isHTMLAttachment(a Attachment) bool {
	if a.HTML != "" {
		return true
	}
	switch strings.ToLower(a.SniffedType) {
	case "text/html", "image/svg+xml", "application/xhtml+xml":
		return true
	}
	return htmlExt[extension(a.Filename)]
}

func extension(name string) string {
	name = strings.TrimRight(name, ". ")
	i := strings.LastIndexByte(name, '.')
	if i < 0 {
		return ""
	}
	return strings.ToLower(name[i+1:])
}

// shortcutExt are Internet shortcuts: they only hold a link, which the
// link checks do not see, and mail clients of the 2000s attached them to
// shared links.
var shortcutExt = set("url", "website", "webloc")

var imageExt = set("png", "jpg", "jpeg", "gif", "bmp", "webp", "tif", "tiff", "heic")
var documentExt = set("pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "odt", "rtf")

// Language.

func (c *checker) lureLanguage() {
	var b strings.Builder
	b.WriteString(c.in.Subject)
	b.WriteByte('\n')
	b.WriteString(clip(c.in.BodyText, maxLureText))
	attText := 0
	qrDoc := false
	image := c.inlineImages > 0
	for _, a := range c.in.Attachments {
		t := clip(a.Text, maxLureAttach)
		if attText+len(t) <= maxLureText && t != "" {
			b.WriteByte('\n')
			b.WriteString(t)
			attText += len(t)
		}
		ext := extension(a.Filename)
		typ := strings.ToLower(a.SniffedType)
		if strings.HasPrefix(typ, "image/") && typ != "image/svg+xml" || imageExt[ext] {
			image = true
		}
		if (documentExt[ext] || typ == "application/pdf") && mentionsQR(a.Text) {
			qrDoc = true
		}
	}
	text := b.String()

	qr := false
	if (image || qrDoc) && len(strings.Fields(clip(c.in.BodyText, 16<<10))) <= qrMaxWords &&
		(mentionsQR(c.in.Subject) || mentionsQR(c.in.BodyText) || qrDoc) {
		qr = true
		c.add(FindQRCode, "image and QR wording, little text")
	}
	if !(c.action || qr) {
		return
	}
	if phrases := lureIn(text, 3); len(phrases) > 0 {
		c.add(FindUrgency, strings.Join(phrases, "; "))
		if f := c.found[FindUrgency]; f != nil && len(phrases) > 1 {
			f.Weight = math.Round(f.Weight*urgencyMany*1000) / 1000
		}
	}
}

// Authentication.

// authentication reads Authentication-Results for a DMARC failure, or an
// SPF failure without a DKIM pass, of the From domain.
func (c *checker) authentication() {
	if c.in.Authentication == "" || !c.fromOK || c.from.rd == "" {
		return
	}
	fromRD := c.from.rd
	aligned := func(v string) bool {
		if v == "" {
			return true
		}
		if i := strings.LastIndexByte(v, '@'); i >= 0 {
			v = v[i+1:]
		}
		h, ok := hostFacts(v)
		return ok && h.rd == fromRD
	}
	var dmarc, spf string
	dkimPass := false
	for _, r := range authResults(c.in.Authentication) {
		switch r.method {
		case "dmarc":
			if r.result == "fail" && aligned(r.props["header.from"]) {
				dmarc = "dmarc=fail"
			}
		case "compauth":
			if r.result == "fail" && dmarc == "" {
				dmarc = "compauth=fail"
			}
		case "spf":
			if (r.result == "fail" || r.result == "softfail") && aligned(r.props["smtp.mailfrom"]) {
				spf = "spf=" + r.result
			}
		case "dkim":
			d := r.props["header.d"]
			if d == "" {
				d = r.props["header.i"]
			}
			if r.result == "pass" && d != "" && aligned(d) {
				dkimPass = true
			}
		}
	}
	switch {
	case dmarc != "":
		c.add(FindAuthFail, dmarc+" for "+fromRD)
	case spf != "" && !dkimPass:
		c.add(FindAuthFail, spf+" without dkim=pass for "+fromRD)
	}
}

type authResult struct {
	method, result string
	props          map[string]string
}

// authResults splits Authentication-Results values (RFC 8601) into
// method results; comments are dropped, the authserv-id is skipped.
func authResults(v string) []authResult {
	var out []authResult
	for _, line := range strings.Split(mail.StripComments(v), "\n") {
		for _, seg := range strings.Split(line, ";") {
			f := strings.Fields(seg)
			if len(f) == 0 {
				continue
			}
			method, result, ok := strings.Cut(f[0], "=")
			if !ok {
				continue
			}
			r := authResult{method: strings.ToLower(method), result: strings.ToLower(result), props: map[string]string{}}
			for _, p := range f[1:] {
				if k, v, ok := strings.Cut(p, "="); ok {
					k = strings.ToLower(k)
					if _, dup := r.props[k]; !dup {
						r.props[k] = strings.ToLower(strings.Trim(v, `"<>`))
					}
				}
			}
			out = append(out, r)
		}
	}
	return out
}

// Helpers.

// domainOf returns the domain of an address ("Name <a@b.example>" too),
// without the brackets of a domain literal.
func domainOf(addr string) string { return strings.Trim(mail.Domain(addr), "[]") }

// listDomain returns the registered domain of a List-Id value
// ("Users <users.lists.example.org>").
func listDomain(v string) string {
	v = strings.TrimSpace(v)
	if i := strings.LastIndexByte(v, '<'); i >= 0 {
		v = v[i+1:]
		if j := strings.IndexByte(v, '>'); j >= 0 {
			v = v[:j]
		}
	}
	if v == "" {
		return ""
	}
	h, ok := hostFacts(v)
	if !ok {
		return ""
	}
	return h.rd
}

// clip shortens s to at most n bytes without splitting a UTF-8 sequence.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
