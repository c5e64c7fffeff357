package analyze

import (
	"errors"
	"net/netip"
	"slices"
	"time"

	"github.com/mailsift/mailsift/internal/attach"
	"github.com/mailsift/mailsift/internal/dedup"
	"github.com/mailsift/mailsift/internal/enrich"
	"github.com/mailsift/mailsift/internal/filter"
	"github.com/mailsift/mailsift/internal/phish"
	"github.com/mailsift/mailsift/internal/urls"
	"github.com/mailsift/mailsift/report"
)

// collectURLs merges the URLs of the bodies and of the attachments into the
// report, each with every place it was found, and into the two lists the
// phishing stage reads.
func (r *run) collectURLs() {
	now := r.rep.AnalysedAt
	bodyIdx, attIdx := map[string]int{}, map[string]int{}
	truncated := false
	for _, us := range r.urlSets {
		truncated = truncated || us.set.Truncated()
		list := us.set.URLs()
		for i := range list {
			u := &list[i]
			where := "attachment-" + string(u.Source)
			if us.inBody {
				where = "body-" + string(u.Source)
			}
			r.addURL(u, where, now)
			if us.inBody {
				r.bodyURLs = mergeURL(r.bodyURLs, bodyIdx, u)
			} else {
				r.attURLs = mergeURL(r.attURLs, attIdx, u)
			}
		}
	}
	if truncated || r.urlsDropped {
		r.defect("too-many-urls", "", "URL extraction stopped at a limit")
	}
}

// addURL records u, found at where, in the report.
func (r *run) addURL(u *urls.URL, where string, now time.Time) {
	if i, ok := r.urlIndex[u.URL]; ok {
		ru := &r.rep.URLs[i]
		if !slices.Contains(ru.Found, where) {
			ru.Found = append(ru.Found, where)
		}
		ru.Count += u.Count
		ru.LinkText = addTexts(ru.LinkText, u.Texts)
		return
	}
	if len(r.rep.URLs) >= r.s.cfg.URLs.MaxURLs {
		r.urlsDropped = true
		return
	}
	ru := report.URL{
		URL: u.URL, Found: []string{where}, Scheme: u.Scheme, Host: u.Host, Port: u.Port,
		RegisteredDomain: u.RegisteredDomain, TLD: u.TLD, Path: u.Path, Query: u.Query,
		IsIP: u.IsIP, ObfuscatedIP: u.ObfuscatedIP, IsIDN: u.IsIDN, HasUserinfo: u.HasUserinfo,
		Defanged: u.Defanged, Count: u.Count, LinkText: slices.Clone(u.Texts),
	}
	if u.HostASCII != u.Host {
		ru.HostASCII = u.HostASCII
	}
	ru.Whitelisted = r.whitelisted(u, now)
	r.urlIndex[u.URL] = len(r.rep.URLs)
	r.rep.URLs = append(r.rep.URLs, ru)
}

// whitelisted reports whether u's host is in a whitelist.
func (r *run) whitelisted(u *urls.URL, now time.Time) bool {
	for _, w := range r.s.white {
		if w.Match(u.HostASCII, now) {
			return true
		}
	}
	return false
}

// maxLinkTexts bounds the anchor texts kept per URL, as urls.Set does for
// one document.
const maxLinkTexts = 4

// addTexts adds the texts not yet in list, up to maxLinkTexts.
func addTexts(list, texts []string) []string {
	for _, t := range texts {
		if len(list) >= maxLinkTexts {
			break
		}
		if !slices.Contains(list, t) {
			list = append(list, t)
		}
	}
	return list
}

// mergeURL adds u to list unless it is there, merging its link texts.
func mergeURL(list []urls.URL, index map[string]int, u *urls.URL) []urls.URL {
	if i, ok := index[u.URL]; ok {
		list[i].Texts = addTexts(list[i].Texts, u.Texts)
		return list
	}
	index[u.URL] = len(list)
	return append(list, *u)
}

// notWhitelisted returns the URLs of list whose host is not whitelisted.
func (r *run) notWhitelisted(list []urls.URL) []urls.URL {
	var out []urls.URL
	for i := range list {
		if !r.whitelisted(&list[i], r.rep.AnalysedAt) {
			out = append(out, list[i])
		}
	}
	return out
}

// phishing runs the keyword bitmap and the heuristics.
func (r *run) phishing(bodyText string) {
	m := &r.rep.Mail
	in := phish.Input{
		Subject:        m.Subject,
		From:           phishAddresses(m.From),
		ReplyTo:        phishAddresses(m.ReplyTo),
		ReturnPath:     m.ReturnPath,
		To:             phishAddresses(append(slices.Clone(m.To), m.Cc...)),
		BodyText:       bodyText,
		HTML:           r.html,
		BodyURLs:       r.notWhitelisted(r.bodyURLs),
		AttachmentURLs: r.notWhitelisted(r.attURLs),
	}
	h := r.msg.Header()
	if s := r.addresses(h, "Sender"); len(s) > 0 {
		in.Sender = s[0].Address
	}
	in.ListID = h.Text("List-Id")
	for i, v := range h.Values("Authentication-Results") {
		if i > 0 {
			in.Authentication += "\n"
		}
		in.Authentication += v
	}
	var flatten func(a *report.Attachment)
	flatten = func(a *report.Attachment) {
		in.Attachments = append(in.Attachments, phish.Attachment{
			Filename: a.Filename, Path: a.Path, SniffedType: a.SniffedType, DeclaredType: a.DeclaredType,
			Executable: a.Executable, DoubleExtension: a.DoubleExtension, TypeMismatch: a.TypeMismatch,
			Encrypted: a.Encrypted, Text: a.Text, HTML: r.htmlAtt[a.Hashes.SHA256],
		})
		for i := range a.Members {
			flatten(&a.Members[i])
		}
	}
	for i := range r.rep.Attachments {
		flatten(&r.rep.Attachments[i])
	}
	p := phish.Check(&in, r.s.keywords.Current(), &r.s.phish)
	r.rep.Phishing = &p
}

func phishAddresses(list []report.Address) []phish.Address {
	out := make([]phish.Address, len(list))
	for i, a := range list {
		out[i] = phish.Address{Name: a.Name, Address: a.Address}
	}
	return out
}

// spam adds the token database's verdict.
func (r *run) spam() {
	f := r.e.opt.Spam
	if f == nil || !r.s.cfg.Spam {
		return
	}
	v, err := f.ClassifyMessage(r.msg)
	if errors.Is(err, filter.ErrNoDatabase) {
		return
	}
	if err != nil {
		r.defect("spam-error", "", err.Error())
		return
	}
	s := &report.Spam{Classifier: f.Name(), Score: v.Score, Verdict: string(v.Verdict), Words: []report.Word{}}
	for _, w := range v.Words {
		s.Words = append(s.Words, report.Word{Word: w.Text, P: w.P})
	}
	r.rep.Spam = s
}

// enrichFile runs the file enrichers on one file not seen before.
func (r *run) enrichFile(a *report.Attachment, f *attach.Facts, data []byte) {
	if len(r.e.files) == 0 {
		return
	}
	ef := enrich.File{Name: f.Filename, SHA256: f.SHA256, SHA1: f.SHA1, MD5: f.MD5, Size: f.Size, Data: data}
	for _, s := range r.e.files {
		if a.Enrichment == nil {
			a.Enrichment = map[string]report.Enriched{}
		}
		a.Enrichment[s.Name()] = s.File(r.ctx, ef)
	}
}

// enrichIP runs the IP enrichers on the sender IP, unless it was seen
// before.
func (r *run) enrichIP() {
	if r.rep.SenderIP == "" {
		return
	}
	if r.rep.SenderIPFiltered = r.seen(dedup.IP, r.rep.SenderIP); r.rep.SenderIPFiltered || len(r.e.ips) == 0 {
		return
	}
	ip, err := netip.ParseAddr(r.rep.SenderIP)
	if err != nil {
		return
	}
	r.rep.Enrichment = map[string]report.Enriched{}
	for _, s := range r.e.ips {
		r.rep.Enrichment[s.Name()] = s.IP(r.ctx, ip)
	}
}
