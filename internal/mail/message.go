package mail

import (
	"bytes"
	"mime"
	"strconv"
	"strings"
)

// Defect names. They are stable identifiers: reports and filters key on them.
const (
	DefectMalformedHeader    = "malformed-header"       // a header line that is neither a field nor a continuation
	DefectMissingSeparator   = "missing-separator"      // no blank line between header and body
	DefectBadContentType     = "bad-content-type"       // Content-Type or Content-Disposition that does not parse
	DefectMissingBoundary    = "missing-boundary"       // multipart without a boundary parameter
	DefectNoParts            = "no-parts"               // multipart whose boundary never occurs
	DefectMissingEndBoundary = "missing-end-boundary"   // multipart without its closing delimiter
	DefectPreambleText       = "text-in-preamble"       // non-blank text before the first delimiter
	DefectEpilogueText       = "text-in-epilogue"       // non-blank content after the closing delimiter
	DefectBadBase64          = "bad-base64"             // characters outside the base64 alphabet, or a truncated group
	DefectBadQuotedPrintable = "bad-quoted-printable"   // '=' not followed by two hex digits or a line break
	DefectUnknownEncoding    = "unknown-encoding"       // a Content-Transfer-Encoding we cannot undo
	DefectUnknownCharset     = "unknown-charset"        // a charset label no decoder knows
	DefectBadCharset         = "bad-charset"            // bytes invalid in the declared charset
	DefectTooDeep            = "too-deep"               // nesting beyond MaxDepth; deeper parts are not split
	DefectTooManyParts       = "too-many-parts"         // more parts than MaxParts; the rest are not split
	DefectHeaderInjection    = "header-injection"       // a header value holding a raw line break
	DefectEmbeddedNoHeader   = "embedded-message-empty" // message/rfc822 part without a header
)

// Defect is one thing found wrong in a message. Part is the part's path
// ("" for the top level, "1.2" for the second child of the first child).
type Defect struct {
	Name   string `json:"name"`
	Part   string `json:"part,omitempty"`
	Detail string `json:"detail,omitempty"`
}

func (d Defect) String() string {
	s := d.Name
	if d.Part != "" {
		s += " (part " + d.Part + ")"
	}
	if d.Detail != "" {
		s += ": " + d.Detail
	}
	return s
}

// Limits that keep hostile structure from costing too much.
const (
	MaxDepth = 32   // nested multiparts and embedded messages
	MaxParts = 1000 // parts in one message
)

// Message is a parsed message: its top-level part and every defect found
// while splitting it. Defects found later while decoding a part are returned
// by the decoding methods.
type Message struct {
	Raw     []byte
	Root    *Part
	Defects []Defect
}

// Header is the top-level header.
func (m *Message) Header() Header { return m.Root.Header }

// Part is one node of the MIME tree. Body is a slice of the original
// message: still transfer-encoded, and for a multipart the whole multipart
// body.
type Part struct {
	Path   string
	Header Header
	// HasHeader is false when the part has no header field at all.
	HasHeader bool

	MediaType   string            // lower-case type/subtype; text/plain when absent
	Params      map[string]string // Content-Type parameters, keys lower-case, values decoded
	Disposition string            // lower-case, "" when absent
	Filename    string            // from Content-Disposition filename, else Content-Type name
	Encoding    string            // lower-case Content-Transfer-Encoding, "" when absent

	Body     []byte
	Preamble []byte  // multipart: before the first delimiter
	Epilogue []byte  // multipart: after the closing delimiter
	Parts    []*Part // multipart children
	Embedded *Part   // message/rfc822: the root of the embedded message
}

// Charset is the lower-case charset parameter, or "".
func (p *Part) Charset() string {
	cs := strings.Trim(p.Params["charset"], `"' `)
	for _, c := range commonCharsets {
		if len(cs) == len(c) && strings.EqualFold(cs, c) {
			return c
		}
	}
	return strings.ToLower(cs)
}

// commonCharsets are the charset labels most mail carries, in lower case.
var commonCharsets = [...]string{"us-ascii", "utf-8", "iso-8859-1", "windows-1252", "iso-8859-15"}

// Walk calls fn for p and every part below it, depth first, children and
// embedded messages included. Returning false from fn skips the part's
// descendants.
func (p *Part) Walk(fn func(*Part) bool) {
	if !fn(p) {
		return
	}
	for _, c := range p.Parts {
		c.Walk(fn)
	}
	if p.Embedded != nil {
		p.Embedded.Walk(fn)
	}
}

// Parse splits raw into a Message. It never fails; see the package comment.
func Parse(raw []byte) *Message {
	m := &Message{Raw: raw}
	p := &parser{msg: m}
	m.Root = p.part(raw, "", 0, "text/plain")
	return m
}

type parser struct {
	msg   *Message
	parts int
}

func (p *parser) defect(name, part, detail string) {
	p.msg.Defects = append(p.msg.Defects, Defect{Name: name, Part: part, Detail: detail})
}

// part parses b (header block plus body) as the part at path. defType is the
// media type implied by the context: text/plain, or message/rfc822 inside a
// multipart/digest.
func (p *parser) part(b []byte, path string, depth int, defType string) *Part {
	p.parts++
	h, bodyAt, _, defects := parseHeader(b, path)
	p.msg.Defects = append(p.msg.Defects, defects...)
	pt := &Part{Path: path, Header: h, HasHeader: len(h) > 0, Body: b[bodyAt:]}
	pt.MediaType, pt.Params = p.contentType(h, path, defType)
	pt.Encoding = strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding")))
	pt.Disposition, pt.Filename = p.disposition(h, path)
	if pt.Filename == "" {
		pt.Filename = pt.Params["name"]
	}
	for _, f := range h {
		if strings.IndexByte(f.Value, '\r') >= 0 || strings.IndexByte(f.Value, '\n') >= 0 {
			p.defect(DefectHeaderInjection, path, f.Name)
		}
	}

	switch {
	case strings.HasPrefix(pt.MediaType, "multipart/"):
		if depth >= MaxDepth {
			p.defect(DefectTooDeep, path, "")
			return pt
		}
		p.multipart(pt, depth)
	case pt.MediaType == "message/rfc822" || pt.MediaType == "message/global":
		if depth >= MaxDepth {
			p.defect(DefectTooDeep, path, "")
			return pt
		}
		inner := pt.Body
		if pt.Encoding == "base64" || pt.Encoding == "quoted-printable" {
			var ds []Defect
			inner, ds = pt.Decoded()
			p.msg.Defects = append(p.msg.Defects, ds...)
		}
		sub := path + ".1"
		if path == "" {
			sub = "1"
		}
		pt.Embedded = p.part(inner, sub, depth+1, "text/plain")
		if !pt.Embedded.HasHeader {
			p.defect(DefectEmbeddedNoHeader, path, "")
		}
	}
	return pt
}

func (p *parser) contentType(h Header, path, defType string) (string, map[string]string) {
	v := h.Get("Content-Type")
	if strings.TrimSpace(v) == "" {
		return defType, map[string]string{}
	}
	mt, params, err := ParseMediaType(v)
	if err != nil {
		p.defect(DefectBadContentType, path, clip(v, 80))
	}
	if mt == "" || !strings.Contains(mt, "/") {
		// "text" alone, or garbage: mail readers fall back to plain text.
		mt = defType
	}
	return mt, params
}

func (p *parser) disposition(h Header, path string) (string, string) {
	v := h.Get("Content-Disposition")
	if strings.TrimSpace(v) == "" {
		return "", ""
	}
	d, params, err := ParseMediaType(v)
	if err != nil {
		p.defect(DefectBadContentType, path, clip(v, 80))
	}
	return d, params["filename"]
}

// ParseMediaType parses a Content-Type or Content-Disposition value with
// the standard library (which handles RFC 2231 continuations and charsets)
// and decodes RFC 2047 words in parameter values, which many mailers write
// although the RFC forbids it. When the strict parse fails, parameters are
// recovered one by one from the ";"-separated list and an error is returned
// with the best reading.
func ParseMediaType(v string) (string, map[string]string, error) {
	mt, params, err := mime.ParseMediaType(v)
	if err != nil {
		mt, params = looseMediaType(v)
	}
	for k, pv := range params {
		params[k] = DecodeWords(pv)
	}
	return strings.ToLower(mt), params, err
}

func looseMediaType(v string) (string, map[string]string) {
	params := map[string]string{}
	fields := strings.Split(v, ";")
	mt := strings.ToLower(strings.TrimSpace(fields[0]))
	if i := strings.IndexAny(mt, " \t,"); i >= 0 {
		mt = mt[:i]
	}
	for _, f := range fields[1:] {
		k, val, ok := strings.Cut(f, "=")
		if !ok {
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		k = strings.TrimSuffix(k, "*")
		val = strings.TrimSpace(val)
		if uq, err := strconv.Unquote(val); err == nil && strings.HasPrefix(val, `"`) {
			val = uq
		} else {
			val = strings.Trim(val, `"`)
		}
		if k != "" {
			if _, dup := params[k]; !dup {
				params[k] = val
			}
		}
	}
	return mt, params
}

// multipart splits pt.Body at its boundary into children.
func (p *parser) multipart(pt *Part, depth int) {
	boundary := pt.Params["boundary"]
	if boundary == "" {
		p.defect(DefectMissingBoundary, pt.Path, "")
		pt.Preamble = pt.Body
		return
	}
	delim := []byte("--" + boundary)
	body := pt.Body
	childType := "text/plain"
	if pt.MediaType == "multipart/digest" {
		childType = "message/rfc822"
	}

	var (
		starts  []int // offset where each part's content starts
		ends    []int // offset where each part's content ends
		closed  bool
		epiAt   = -1
		first   = -1
		pos     = 0
		lastEnd = 0
	)
	for pos <= len(body) {
		at := findDelimiter(body, delim, pos)
		if at < 0 {
			break
		}
		after := at + len(delim)
		isClose := bytes.HasPrefix(body[after:], []byte("--"))
		le := lineEnd(body, at)
		if first < 0 {
			first = at
		} else {
			ends = append(ends, trimDelimiterEOL(body, lastEnd, at))
		}
		if isClose {
			closed = true
			epiAt = le
			break
		}
		starts = append(starts, le)
		lastEnd = le
		pos = le
	}
	if first < 0 {
		p.defect(DefectNoParts, pt.Path, "")
		pt.Preamble = body
		return
	}
	pt.Preamble = body[:trimDelimiterEOL(body, 0, first)]
	if len(bytes.TrimSpace(pt.Preamble)) > 0 {
		p.defect(DefectPreambleText, pt.Path, "")
	}
	if !closed {
		p.defect(DefectMissingEndBoundary, pt.Path, "")
		if len(starts) > len(ends) {
			ends = append(ends, len(body))
		}
	} else {
		pt.Epilogue = body[epiAt:]
		if len(bytes.TrimSpace(pt.Epilogue)) > 0 {
			p.defect(DefectEpilogueText, pt.Path, "")
		}
	}
	for i := range starts {
		if p.parts >= MaxParts {
			p.defect(DefectTooManyParts, pt.Path, "")
			return
		}
		path := strconv.Itoa(i + 1)
		if pt.Path != "" {
			path = pt.Path + "." + path
		}
		pt.Parts = append(pt.Parts, p.part(body[starts[i]:ends[i]], path, depth+1, childType))
	}
}

// findDelimiter returns the offset of the next line, at or after pos, that
// starts with delim followed by "--", blanks or the end of the line.
func findDelimiter(b, delim []byte, pos int) int {
	for pos < len(b) {
		i := bytes.Index(b[pos:], delim)
		if i < 0 {
			return -1
		}
		at := pos + i
		if at == 0 || b[at-1] == '\n' {
			rest := b[at+len(delim):]
			if len(rest) == 0 || rest[0] == '\r' || rest[0] == '\n' || rest[0] == ' ' || rest[0] == '\t' || bytes.HasPrefix(rest, []byte("--")) {
				return at
			}
		}
		pos = at + 1
	}
	return -1
}

// trimDelimiterEOL returns the end of the content that precedes a delimiter
// line at `at`: the line break before a delimiter belongs to the delimiter.
func trimDelimiterEOL(b []byte, start, at int) int {
	end := at
	if end > start && b[end-1] == '\n' {
		end--
		if end > start && b[end-1] == '\r' {
			end--
		}
	}
	return end
}
