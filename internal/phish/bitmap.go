package phish

import (
	"slices"
	"strings"

	"github.com/mailsift/mailsift/internal/urls"
)

// Bits of the SpamScope phishing bitmap (reference section 2.2).
const (
	BitMailBody            = 0 // a target rule matches the body text
	BitURLsBody            = 1 // a target rule matches a URL of the body
	BitTextAttachments     = 2 // a target rule matches the text of the attachments
	BitURLsAttachments     = 3 // a target rule matches a URL of the attachments
	BitFilenameAttachments = 4 // a target rule matches the attachment file names
	BitMailFrom            = 5 // a target rule matches the From names and addresses
	BitMailSubject         = 6 // a subject rule matches the Subject
	BitMailForm            = 7 // an HTML body holds a <form>
)

// properties names the bits, least significant first.
var properties = [8]string{
	"mail_body", "urls_body", "text_attachments", "urls_attachments",
	"filename_attachments", "mail_from", "mail_subject", "mail_form",
}

// Property returns SpamScope's name of a bit ("mail_body" for 0), or ""
// outside 0..7.
func Property(bit int) string {
	if bit < 0 || bit >= len(properties) {
		return ""
	}
	return properties[bit]
}

// Expand returns the names of the bits set in score, most significant
// first.
func Expand(score int) []string {
	out := []string{}
	for bit := len(properties) - 1; bit >= 0; bit-- {
		if score&(1<<bit) != 0 {
			out = append(out, properties[bit])
		}
	}
	return out
}

// bitmap computes the score and the targets. form reports a <form> in an
// HTML body.
func bitmap(in *Input, lists *Lists, form bool) (score int, targets []string) {
	targets = []string{}
	if form || textHasForm(in.BodyText) {
		score |= 1 << BitMailForm
	}
	if lists == nil {
		return score, targets
	}
	m := lists.compiled()
	if len(m.words) == 0 {
		return score, targets
	}
	hits := m.newHits()
	text := func(bit int, s string, addTargets bool) {
		if s == "" {
			return
		}
		clear(hits)
		m.scan(s, hits)
		var names *[]string
		if addTargets {
			names = &targets
		}
		if m.matchTargets(hits, names) {
			score |= 1 << bit
		}
	}
	anyURL := func(bit int, list []urls.URL) {
		for _, u := range list {
			clear(hits)
			m.scan(u.URL, hits)
			if m.matchTargets(hits, nil) {
				score |= 1 << bit
				return
			}
		}
	}

	text(BitMailBody, in.BodyText, true)
	anyURL(BitURLsBody, in.BodyURLs)
	text(BitTextAttachments, attachmentText(in.Attachments), true)
	anyURL(BitURLsAttachments, in.AttachmentURLs)
	var names []string
	for _, a := range in.Attachments {
		if a.Filename != "" {
			names = append(names, a.Filename)
		}
	}
	text(BitFilenameAttachments, strings.Join(names, "\n"), true)
	var from []string
	for _, a := range in.From {
		from = append(from, a.Name+" "+a.Address)
	}
	text(BitMailFrom, strings.Join(from, "\n"), true)
	if in.Subject != "" && len(m.subjects) > 0 {
		clear(hits)
		m.scan(in.Subject, hits)
		if anyRule(m.subjects, hits) {
			score |= 1 << BitMailSubject
		}
	}
	slices.Sort(targets)
	return score, slices.Compact(targets)
}

// attachmentText joins the texts of the attachments; for an HTML file
// without extracted text, its source stands in, as SpamScope searches the
// decoded payload.
func attachmentText(atts []Attachment) string {
	var b strings.Builder
	for _, a := range atts {
		t := a.Text
		if t == "" {
			t = a.HTML
		}
		if t == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(t)
	}
	return b.String()
}

// textHasForm reports a <form tag in a text body, which SpamScope's HTML
// parser would find there too.
func textHasForm(s string) bool {
	for i := 0; ; {
		j := strings.IndexByte(s[i:], '<')
		if j < 0 {
			return false
		}
		i += j + 1
		if len(s)-i >= 5 && strings.EqualFold(s[i:i+4], "form") {
			switch s[i+4] {
			case ' ', '>', '\t', '\n', '\r', '/':
				return true
			}
		}
	}
}
