package analyze

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mailsift/mailsift/internal/attach"
	"github.com/mailsift/mailsift/internal/dedup"
	"github.com/mailsift/mailsift/internal/doctext"
	"github.com/mailsift/mailsift/internal/mail"
	"github.com/mailsift/mailsift/internal/outlook"
	"github.com/mailsift/mailsift/internal/urls"
	"github.com/mailsift/mailsift/report"
)

// maxHTMLKept bounds the HTML of one HTML attachment kept for the
// phishing stage's form checks.
const maxHTMLKept = 1 << 20

// maxMessages bounds the messages parsed anew inside one mail: MIME parts
// hidden in preambles and epilogues, and Outlook messages in attachments.
// Each is a fresh parse, so this also bounds how deep they nest.
const maxMessages = 16

// walk visits p and everything below it. prefix is the path of the
// attachment p was found in ("" for the mail itself).
func (r *run) walk(p *mail.Part, prefix string) {
	if r.ctx.Err() != nil {
		return
	}
	path := joinPath(prefix, p.Path)
	if r.parts++; r.parts > mail.MaxParts {
		if r.parts == mail.MaxParts+1 {
			r.defect(mail.DefectTooManyParts, path, "the rest of the mail is not analysed")
		}
		return
	}
	switch {
	case strings.HasPrefix(p.MediaType, "multipart/"):
		r.hidden(p.Preamble, path, "preamble")
		for _, c := range p.Parts {
			r.walk(c, prefix)
		}
		r.hidden(p.Epilogue, path, "epilogue")
	case p.Embedded != nil:
		data, defects := p.Decoded()
		r.mailDefects(defects, prefix)
		r.attachment(p, path, data, false)
		r.walk(p.Embedded, prefix)
	case isBody(p):
		r.body(p, path)
	default:
		data, defects := p.Decoded()
		r.mailDefects(defects, prefix)
		r.attachment(p, path, data, true)
	}
}

// walkMessage parses raw, a message found inside an attachment at path,
// and walks it.
func (r *run) walkMessage(raw []byte, path string) {
	if r.messages++; r.messages > maxMessages {
		r.defect(mail.DefectTooDeep, path, "too many messages inside attachments and hidden parts")
		return
	}
	m := mail.Parse(raw)
	r.mailDefects(m.Defects, path)
	r.walk(m.Root, path)
}

// isBody tells the text the mail shows from files attached to it.
func isBody(p *mail.Part) bool {
	if p.Disposition == "attachment" || p.Filename != "" {
		return false
	}
	return p.MediaType == "text/plain" || p.MediaType == "text/html" || p.MediaType == "text/enriched" ||
		p.MediaType == "text/rfc822-headers" || !p.HasHeader
}

func (r *run) body(p *mail.Part, path string) {
	text, defects := p.Text()
	for _, d := range defects {
		d.Part = path
		r.rep.Defects = append(r.rep.Defects, report.Defect(d))
	}
	r.addBody(text, p.MediaType, p.Charset(), path)
}

func (r *run) addBody(text, mediaType, charset, path string) {
	if strings.TrimSpace(text) == "" {
		return
	}
	b := report.Body{Part: path, ContentType: mediaType, Charset: charset, Text: text}
	if len(text) > r.s.cfg.BodyBytes {
		b.Text, b.Truncated = clip(text, r.s.cfg.BodyBytes), true
	}
	r.rep.Bodies = append(r.rep.Bodies, b)
	if r.bodyText.Len() > 0 {
		r.bodyText.WriteByte('\n')
	}
	if mediaType == "text/html" {
		r.html = append(r.html, text)
		r.bodyText.WriteString(r.newURLSet(true).AddHTMLText(text))
		return
	}
	r.bodyText.WriteString(text)
	r.newURLSet(true).AddText(text, urls.SourceText)
}

// hidden looks at the text of a multipart's preamble or epilogue, where
// mail readers show nothing: a MIME part or a base64 file hidden there is
// recovered as an attachment, other text as a body.
func (r *run) hidden(b []byte, path, where string) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return
	}
	path = joinPath(path, where)
	if looksLikePart(b) {
		r.walkMessage(b, path)
		return
	}
	if data, ok := base64Blob(b); ok {
		r.attachment(nil, path, data, true)
		return
	}
	if !utf8.Valid(b) || bytes.IndexByte(b, 0) >= 0 {
		r.attachment(nil, path, b, true)
		return
	}
	r.addBody(string(b), "text/plain", "", path)
}

// looksLikePart reports whether b starts with a MIME header block.
func looksLikePart(b []byte) bool {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	name, _, ok := bytes.Cut(line, []byte(":"))
	if !ok {
		return false
	}
	switch strings.ToLower(string(bytes.TrimSpace(name))) {
	case "content-type", "content-disposition", "content-transfer-encoding", "mime-version":
		return true
	}
	return false
}

// base64Blob decodes b when it is nothing but base64 lines of some length.
func base64Blob(b []byte) ([]byte, bool) {
	if len(b) < 64 {
		return nil, false
	}
	clean := make([]byte, 0, len(b))
	for _, c := range b {
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '+', c == '/', c == '=':
			clean = append(clean, c)
		case c == '\r', c == '\n', c == ' ', c == '\t':
		default:
			return nil, false
		}
	}
	clean = bytes.TrimRight(clean, "=")
	if len(clean)%4 == 1 {
		clean = clean[:len(clean)-1] // a lone trailing character carries no whole byte
	}
	data, err := base64.RawStdEncoding.DecodeString(string(clean))
	if err != nil || len(data) == 0 {
		return nil, false
	}
	return data, true
}

// attachment analyses one file of the mail: p is its part (nil for content
// recovered from a preamble or epilogue), data its decoded bytes. full is
// false for an embedded message, which its own walk covers: it gets only
// its hashes.
func (r *run) attachment(p *mail.Part, path string, data []byte, full bool) {
	var name, declared string
	if p != nil {
		name, declared = p.Filename, p.MediaType
		if !p.HasHeader {
			declared = ""
		}
	}
	var f attach.Facts
	if full {
		r.attPath = path
		f = attach.Analyze(r.ctx, name, declared, data, r.attachOptions())
	} else {
		f = attach.Sum(data, r.s.cfg.FuzzyHashes, r.s.cfg.FuzzyHashes)
		f.Filename, f.DeclaredType, f.SniffedType = name, declared, "message/rfc822"
		f.Extension, f.DoubleExtension, f.Executable = attach.RiskyName(name)
	}
	a := r.convert(&f, path, data)
	if full && r.s.cfg.Attachments.IncludePayload && !a.Filtered && len(data) <= r.s.cfg.Attachments.PayloadMaxBytes &&
		!r.s.cfg.Attachments.blacklisted(f.SniffedType) {
		a.Payload = base64.StdEncoding.EncodeToString(data)
	}
	r.rep.Attachments = append(r.rep.Attachments, a)
}

// attachOptions are the attachment options of this run: the configured
// limits, the text extractor, and the hooks that stop at the hashes for
// files seen before or blacklisted.
func (r *run) attachOptions() attach.Options {
	c := r.s.cfg.Attachments
	o := attach.Options{
		Limits:    c.limits(),
		Fuzzy:     r.s.cfg.FuzzyHashes,
		Passwords: c.Passwords,
		TextBytes: c.TextBytes,
		Stop:      r.stop,
	}
	if c.ExtractText {
		o.Text = r.text
	}
	return o
}

func (r *run) stop(f *attach.Facts, _ int) bool {
	if r.s.cfg.Attachments.blacklisted(f.SniffedType) {
		r.stopped[f.SHA256] = true
		return true
	}
	if r.known(dedup.Attachment, f.SHA256) {
		r.stopped[f.SHA256], r.filtered[f.SHA256] = true, true
		return true
	}
	r.newFiles = append(r.newFiles, f.SHA256)
	return false
}

// text extracts the text of a document inside an attachment. Outlook
// messages are queued to be walked as mails; HTML is kept for the form
// checks; plain text is taken as it is.
func (r *run) text(ctx context.Context, mime string, data []byte) (string, error) {
	switch {
	case outlook.IsMsg(data):
		conv, defects, err := outlook.ToMIME(data)
		if err != nil {
			return "", err
		}
		for _, d := range defects {
			r.defect("outlook-defect", r.attPath, d)
		}
		r.msgFiles++
		name := "msg"
		if r.msgFiles > 1 {
			name += strconv.Itoa(r.msgFiles)
		}
		r.pending = append(r.pending, embedded{path: joinPath(r.attPath, name), raw: conv})
		return "", nil
	case doctext.Supported(mime):
		doc, err := r.e.docs.Extract(ctx, mime, data)
		if mime == "text/html" && len(data) <= maxHTMLKept {
			sum := sha256.Sum256(data)
			r.htmlAtt[hex.EncodeToString(sum[:])] = string(data)
		}
		if len(doc.Links) > 0 {
			set := r.newURLSet(false)
			for _, l := range doc.Links {
				set.AddText(l, "link")
			}
		}
		return doc.Text, err
	case strings.HasPrefix(mime, "text/"):
		if !utf8.Valid(data) {
			return strings.ToValidUTF8(string(data), "\uFFFD"), nil
		}
		return string(data), nil
	}
	return "", nil
}

// convert turns the facts of a file and its members into the report's
// form, and gathers their text for the URL and phishing stages.
// data is the file's content when it is at hand (the attachment itself,
// not its members), for the enrichers that scan content.
func (r *run) convert(f *attach.Facts, part string, data []byte) report.Attachment {
	a := report.Attachment{
		Part: part, Path: f.Path, Filename: f.Filename, Extension: f.Extension, DeclaredType: f.DeclaredType,
		SniffedType: f.SniffedType, TypeMismatch: f.TypeMismatch, Executable: f.Executable,
		DoubleExtension: f.DoubleExtension, Size: f.Size,
		Hashes:    report.Hashes{MD5: f.MD5, SHA1: f.SHA1, SHA256: f.SHA256, SHA512: f.SHA512, SSDeep: f.SSDeep, TLSH: f.TLSH},
		IsArchive: f.IsArchive, Encrypted: f.Encrypted, Text: f.Text, Truncated: f.TextTruncated,
		Filtered: r.filtered[f.SHA256],
	}
	for _, d := range f.Defects {
		a.Defects = append(a.Defects, d.String())
	}
	if f.Text != "" {
		r.newURLSet(false).AddText(f.Text, urls.SourceText)
	}
	if !a.Filtered && !r.stopped[f.SHA256] && f.SHA256 != "" {
		r.enrichFile(&a, f, data)
	}
	for i := range f.Members {
		a.Members = append(a.Members, r.convert(&f.Members[i], part, nil))
	}
	return a
}
