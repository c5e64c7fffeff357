package analyze

import (
	"slices"
	"strings"

	"github.com/mailsift/mailsift/internal/mail"
	"github.com/mailsift/mailsift/report"
)

// maxHeaderValue bounds one decoded header value in the report.
const maxHeaderValue = 16 << 10

// singleFields may occur at most once in a message (RFC 5322, 3.6); a
// repeat is a way to show a reader one value and a filter another.
var singleFields = []string{"date", "from", "sender", "reply-to", "to", "cc", "bcc", "message-id", "in-reply-to", "references", "subject"}

// envelope fills in the header fields, addresses, subject, date and custom
// headers of the top-level message.
func (r *run) envelope(h mail.Header) {
	m := &r.rep.Mail
	count := map[string]int{}
	for _, f := range h {
		v := mail.DecodeWords(f.Value)
		if strings.ContainsAny(v, "\r\n") && !strings.ContainsAny(f.Value, "\r\n") {
			r.defect(mail.DefectHeaderInjection, "", f.Name+": a line break in an encoded word")
		}
		m.Headers = append(m.Headers, report.Header{Name: f.Name, Value: clip(v, maxHeaderValue)})
		count[strings.ToLower(f.Name)]++
	}
	for _, name := range singleFields {
		if count[name] > 1 {
			r.defect("duplicate-header", "", name)
		}
	}
	m.From = r.addresses(h, "From")
	m.To = r.addresses(h, "To")
	m.Cc = r.addresses(h, "Cc")
	m.Bcc = r.addresses(h, "Bcc")
	m.ReplyTo = r.addresses(h, "Reply-To")
	m.DeliveredTo = r.addresses(h, "Delivered-To")
	if rp := r.addresses(h, "Return-Path"); len(rp) > 0 {
		m.ReturnPath = rp[0].Address
	}
	m.Subject = strings.Join(decodedValues(h, "Subject"), " ")
	m.MessageID = strings.Trim(strings.TrimSpace(h.Get("Message-ID")), "<>")
	if v := h.Get("Date"); v != "" {
		if t, off, ok := mail.ParseDate(v); ok {
			m.Date, m.TZOffset = &t, off
		} else {
			r.defect("bad-date", "", v)
		}
	}
	seen := map[string]bool{}
	for _, list := range [][]report.Address{m.To, m.Cc, m.Bcc} {
		for _, a := range list {
			if d := mail.Domain(a.Address); d != "" && !seen[d] {
				seen[d] = true
				m.ToDomains = append(m.ToDomains, d)
			}
		}
	}
	slices.Sort(m.ToDomains)
	for _, name := range r.s.cfg.CustomHeaders {
		if vs := decodedValues(h, name); len(vs) > 0 {
			if m.Custom == nil {
				m.Custom = map[string][]string{}
			}
			m.Custom[strings.ToLower(name)] = vs
		}
	}
}

// addresses reads every field called name as an address list.
func (r *run) addresses(h mail.Header, name string) []report.Address {
	var out []report.Address
	for _, v := range h.Values(name) {
		list, defects := mail.ParseAddressList(v)
		for _, d := range defects {
			r.defect(d.Name, "", name+": "+d.Detail)
		}
		for _, a := range list {
			out = append(out, report.Address{Name: a.Name, Address: a.Address})
		}
	}
	return out
}

func decodedValues(h mail.Header, name string) []string {
	vs := h.Values(name)
	for i, v := range vs {
		vs[i] = clip(mail.DecodeWords(v), maxHeaderValue)
	}
	return vs
}

// received parses the Received chain and finds the sender IP.
func (r *run) received(h mail.Header) {
	hops := mail.ReceivedChain(h)
	for _, hop := range hops {
		rh := report.Hop{Number: hop.Number, From: hop.From, By: hop.By, With: hop.With, ID: hop.ID, For: hop.For}
		if hop.FromIP.IsValid() {
			rh.FromIP = hop.FromIP.String()
		}
		if !hop.Date.IsZero() {
			d := hop.Date
			rh.Date = &d
		}
		if hop.HasDelay {
			s := hop.Delay.Seconds()
			rh.DelaySeconds = &s
		}
		r.rep.Received = append(r.rep.Received, rh)
	}
	if ip, ok := mail.SenderIP(hops, r.s.cfg.Trust); ok {
		r.rep.SenderIP = ip.String()
	}
}
