package outlook

import (
	"bytes"
	"encoding/base64"
	"mime"
	"mime/quotedprintable"
	"strings"
)

// header is one header field. Raw values come folded already (saved
// transport headers); the others are folded when written.
type header struct {
	name, value string
	raw         bool
}

// part is a MIME entity under construction.
type part struct {
	msgHeaders  []header // message fields, written before the MIME ones
	headers     []header // Content-Disposition, Content-ID
	contentType string   // ignored when multipart is set
	params      map[string]string
	multipart   string // subtype of a multipart entity
	boundary    string
	children    []*part
	encoding    string // base64, quoted-printable, or "" for none
	body        []byte
}

func textPart(contentType, charset string, body []byte) *part {
	p := &part{contentType: contentType, encoding: "quoted-printable", body: body}
	if charset != "" {
		p.params = map[string]string{"charset": charset}
	}
	return p
}

func (c *converter) multipart(subtype string, children []*part) *part {
	return &part{multipart: subtype, boundary: c.boundary(), children: children}
}

// setDisposition sets Content-Disposition; a non-ASCII file name is written
// with RFC 2231 parameters.
func (p *part) setDisposition(kind, filename string) {
	kept := p.headers[:0]
	for _, h := range p.headers {
		if h.name != "Content-Disposition" {
			kept = append(kept, h)
		}
	}
	p.headers = kept
	params := map[string]string{}
	if filename != "" {
		params["filename"] = filename
	}
	v := mime.FormatMediaType(kind, params)
	if v == "" {
		v = kind
	}
	p.headers = append(p.headers, header{name: "Content-Disposition", value: v})
}

func (p *part) write(w *bytes.Buffer) {
	ct := p.contentType
	params := p.params
	if p.multipart != "" {
		ct = "multipart/" + p.multipart
		params = map[string]string{"boundary": p.boundary}
		for k, v := range p.params {
			params[k] = v
		}
	}
	ctv := mime.FormatMediaType(ct, params)
	if ctv == "" {
		ctv = mime.FormatMediaType(ct, nil)
	}
	if ctv == "" {
		ctv = "application/octet-stream"
	}

	for _, h := range p.msgHeaders {
		writeHeader(w, h)
	}
	writeHeader(w, header{name: "Content-Type", value: ctv})
	if p.encoding != "" {
		writeHeader(w, header{name: "Content-Transfer-Encoding", value: p.encoding})
	}
	for _, h := range p.headers {
		writeHeader(w, h)
	}
	w.WriteString("\r\n")

	if p.multipart != "" {
		for _, child := range p.children {
			w.WriteString("--" + p.boundary + "\r\n")
			child.write(w)
			w.WriteString("\r\n")
		}
		w.WriteString("--" + p.boundary + "--\r\n")
		return
	}
	switch p.encoding {
	case "base64":
		writeBase64(w, p.body)
	case "quoted-printable":
		qp := quotedprintable.NewWriter(w)
		_, _ = qp.Write(p.body) // writes to a bytes.Buffer do not fail
		_ = qp.Close()
	default:
		w.Write(p.body)
	}
}

func writeBase64(w *bytes.Buffer, data []byte) {
	enc := base64.StdEncoding.EncodeToString(data)
	for len(enc) > 76 {
		w.WriteString(enc[:76])
		w.WriteString("\r\n")
		enc = enc[76:]
	}
	w.WriteString(enc)
}

// writeHeader writes a field, folding long values at spaces.
func writeHeader(w *bytes.Buffer, h header) {
	w.WriteString(h.name)
	w.WriteString(": ")
	if h.raw || strings.Contains(h.value, "\r\n") {
		w.WriteString(h.value)
		w.WriteString("\r\n")
		return
	}
	line := len(h.name) + 2
	words := strings.Split(h.value, " ")
	for i, word := range words {
		if i > 0 {
			if line+1+len(word) > 76 && line > 1 {
				w.WriteString("\r\n ")
				line = 1
			} else {
				w.WriteByte(' ')
				line++
			}
		}
		w.WriteString(word)
		line += len(word)
	}
	w.WriteString("\r\n")
}
