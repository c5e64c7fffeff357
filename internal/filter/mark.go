package filter

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/mailsift/mailsift/internal/bayes"
	"github.com/mailsift/mailsift/internal/mail"
)

// maxLine is RFC 5322's limit on a line, without its CRLF.
const maxLine = 998

// SpamHeader formats the value of mark's verdict header as SpamOracle does:
// "yes; 0.98; click:99 free:99 ". A non-nil err makes the verdict unknown
// and takes the place of the words, so that a rule can see it.
func SpamHeader(r bayes.Result, err error) string {
	if err != nil {
		return fmt.Sprintf("%s; %.2f; error: %s", bayes.Unknown, 0.5, err)
	}
	return fmt.Sprintf("%s; %.2f; %s", r.Verdict, r.Score, bayes.Explain(r.Words))
}

// Field is a header field for Mark to add.
type Field struct{ Name, Value string }

// Mark returns raw with the fields added as the last lines of its header
// block. Every other byte stays as it was: the fields go in just before the
// blank line that ends the header (or, in a message without one, after the
// last header-shaped line), with the line ending the message uses. Values
// are made safe for a header: control characters become spaces, and a line
// longer than RFC 5322 allows is cut.
func Mark(raw []byte, fields []Field) []byte {
	at := mail.HeaderEnd(raw)
	if at > 0 && raw[at-1] != '\n' {
		// The header runs to the end without a line break: put the new
		// fields before its last line rather than glue them onto it.
		at = bytes.LastIndexByte(raw[:at], '\n') + 1
	}
	eol := "\n"
	if lineEndsCRLF(raw, at) {
		eol = "\r\n"
	}
	var add strings.Builder
	for _, f := range fields {
		line := f.Name + ": " + headerSafe(f.Value)
		if len(line) > maxLine {
			line = strings.ToValidUTF8(line[:maxLine], "")
		}
		add.WriteString(line)
		add.WriteString(eol)
	}
	out := make([]byte, 0, len(raw)+add.Len())
	out = append(out, raw[:at]...)
	out = append(out, add.String()...)
	return append(out, raw[at:]...)
}

// lineEndsCRLF tells whether the message writes CRLF: the line before at,
// or else the first line.
func lineEndsCRLF(raw []byte, at int) bool {
	if at >= 2 && raw[at-1] == '\n' {
		return raw[at-2] == '\r'
	}
	if i := bytes.IndexByte(raw, '\n'); i > 0 {
		return raw[i-1] == '\r'
	}
	return false
}

func headerSafe(v string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, v)
}

// AttachmentSummary describes the parts below the top level as SpamOracle's
// X-Attachments header does: for each part, depth first,
// type="..." unless it is plain text, HTML, a vCard, a multipart or an
// embedded message; cset="..." unless the charset is US-ASCII or Latin-1;
// and name="..." for its file name. Every item is followed by a space.
// (SpamOracle lists a name given both in Content-Type and
// Content-Disposition twice; it is listed once here.)
func AttachmentSummary(m *mail.Message) string {
	var sb strings.Builder
	m.Root.Walk(func(p *mail.Part) bool {
		if p == m.Root {
			return true
		}
		if ct := leadingType(p.Header.Get("Content-Type")); ct != "" && !plainType(ct) {
			item(&sb, "type", ct)
		}
		if cs := strings.Trim(p.Params["charset"], `"' `); cs != "" && !latinCharset(cs) {
			item(&sb, "cset", cs)
		}
		if name := p.Params["name"]; name != "" {
			item(&sb, "name", name)
		}
		if fn := dispositionFilename(p); fn != "" && fn != p.Params["name"] {
			item(&sb, "name", fn)
		}
		return true
	})
	return sb.String()
}

func item(sb *strings.Builder, key, val string) {
	sb.WriteString(key)
	sb.WriteByte('=')
	sb.WriteString(strconv.Quote(escapeQuotes.Replace(headerSafe(val))))
	sb.WriteByte(' ')
}

// escapeQuotes escapes the backslashes and double quotes of a value
// before item quotes it.
var escapeQuotes = strings.NewReplacer(`\`, `\\`, `"`, `\"`)

func dispositionFilename(p *mail.Part) string {
	v := p.Header.Get("Content-Disposition")
	if v == "" {
		return ""
	}
	_, params, _ := mail.ParseMediaType(v)
	return params["filename"]
}

// leadingType is the leading run of [/a-zA-Z0-9-] of a Content-Type value.
func leadingType(v string) string {
	v = strings.TrimSpace(v)
	end := 0
	for end < len(v) {
		c := v[end]
		if c == '/' || c == '-' || ('a' <= c|0x20 && c|0x20 <= 'z') || ('0' <= c && c <= '9') {
			end++
			continue
		}
		break
	}
	return v[:end]
}

func plainType(ct string) bool {
	ct = strings.ToLower(ct)
	for _, p := range []string{"text/plain", "text/html", "text/x-vcard", "multipart/", "message/rfc822", "message/delivery-status"} {
		if strings.HasPrefix(ct, p) {
			return true
		}
	}
	return false
}

func latinCharset(cs string) bool {
	cs = strings.ToLower(strings.ReplaceAll(cs, "_", "-"))
	return strings.HasPrefix(cs, "us-ascii") || strings.HasPrefix(cs, "iso-8859-15") ||
		strings.HasPrefix(cs, "windows-1252") || cs == "iso-8859-1"
}
