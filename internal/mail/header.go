package mail

import (
	"bytes"
	"io"
	"mime"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
	"golang.org/x/text/encoding/charmap"
)

// Field is one header field as it stands in the message: the name as
// written, and the value with folding undone (CRLF/LF plus the following
// white space become one space) and surrounding blanks trimmed. The value is
// still RFC 2047 encoded; use Header.Text or DecodeWords to decode it.
type Field struct {
	Name  string
	Value string
}

// Header is a block of header fields in their original order.
type Header []Field

// Get returns the value of the first field with the given name (compared
// case-insensitively), or "".
func (h Header) Get(name string) string {
	for _, f := range h {
		if strings.EqualFold(f.Name, name) {
			return f.Value
		}
	}
	return ""
}

// Has reports whether a field with the given name is present.
func (h Header) Has(name string) bool {
	for _, f := range h {
		if strings.EqualFold(f.Name, name) {
			return true
		}
	}
	return false
}

// Values returns the values of every field with the given name, in order.
func (h Header) Values(name string) []string {
	var vs []string
	for _, f := range h {
		if strings.EqualFold(f.Name, name) {
			vs = append(vs, f.Value)
		}
	}
	return vs
}

// Text returns the first value of the named field with RFC 2047 words
// decoded to UTF-8.
func (h Header) Text(name string) string { return DecodeWords(h.Get(name)) }

var wordDecoder = mime.WordDecoder{CharsetReader: charset.Reader}

// DecodeWords decodes the RFC 2047 encoded words in a header value and
// returns valid UTF-8. Words in an unknown charset, and malformed words, are
// kept as written. Raw 8-bit bytes outside encoded words (common in spam) are
// read as UTF-8 when they are valid UTF-8 and as Windows-1252 otherwise.
func DecodeWords(v string) string {
	if strings.Contains(v, "=?") {
		if d, err := wordDecoder.DecodeHeader(v); err == nil {
			v = d
		}
	}
	return toUTF8(v)
}

// toUTF8 makes s valid UTF-8, reading invalid input as Windows-1252 (a
// superset of the printable ISO-8859-1 that unlabelled 8-bit mail uses).
func toUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return decodeLatin(charmap.Windows1252, s)
}

// parseHeader reads the header block at the start of b. It returns the
// fields, the offset where the body starts (after the blank line), whether a
// blank line separating header and body was found, and defects.
//
// A line that is neither a field nor a continuation is a defect. Before the
// blank line it is kept as a continuation of the previous field (or dropped
// when there is none); without any blank line in the message the first such
// line ends the header block, as the most likely reading of a message whose
// separator was lost.
func parseHeader(b []byte, part string) (Header, int, bool, []Defect) {
	var (
		spanBuf [64]fieldSpan
		spans   = spanBuf[:0]
		defects []Defect
		pos     int
	)
	sepAt := blankLine(b)
	limit := len(b)
	if sepAt >= 0 {
		limit = sepAt
	}
	// An mbox envelope line ("From sender date") is not a header field.
	if bytes.HasPrefix(b, []byte("From ")) {
		pos = lineEnd(b, 0)
	}
	for pos < limit {
		end := lineEnd(b, pos)
		if end > limit {
			end = limit
		}
		line := trimEOL(b[pos:end])
		switch {
		case len(line) > 0 && (line[0] == ' ' || line[0] == '\t'):
			if len(spans) == 0 {
				defects = append(defects, Defect{Name: DefectMalformedHeader, Part: part, Detail: "continuation line before the first field"})
			} else {
				spans[len(spans)-1].valEnd = end
			}
		default:
			nameEnd, valueAt, ok := splitField(line)
			if ok {
				spans = append(spans, fieldSpan{pos, pos + nameEnd, pos + valueAt, end})
				break
			}
			if sepAt < 0 {
				// No separator anywhere: the body starts here.
				defects = append(defects, Defect{Name: DefectMissingSeparator, Part: part})
				return newHeader(b, spans), pos, false, defects
			}
			defects = append(defects, Defect{Name: DefectMalformedHeader, Part: part, Detail: clip(string(line), 80)})
			if len(spans) > 0 {
				spans[len(spans)-1].valEnd = end
			}
		}
		pos = end
	}
	if sepAt < 0 {
		return newHeader(b, spans), len(b), false, defects
	}
	return newHeader(b, spans), lineEnd(b, sepAt), true, defects
}

// fieldSpan locates a field in a header block: its name is
// b[start:nameEnd] and its value, folded lines included, b[valStart:valEnd].
type fieldSpan struct {
	start, nameEnd, valStart, valEnd int
}

// newHeader makes the fields at spans in b. Names and one-line values are
// substrings of a single copy of the header block.
func newHeader(b []byte, spans []fieldSpan) Header {
	if len(spans) == 0 {
		return nil
	}
	first := spans[0].start
	block := string(b[first:spans[len(spans)-1].valEnd])
	h := make(Header, len(spans))
	for i, sp := range spans {
		v := b[sp.valStart:sp.valEnd]
		var value string
		if nl := bytes.IndexByte(v, '\n'); nl < 0 || nl == len(v)-1 {
			value = block[sp.valStart-first : sp.valEnd-first]
			value = strings.TrimSuffix(strings.TrimSuffix(value, "\n"), "\r")
			value = strings.Trim(value, " \t")
		} else {
			value = unfold(v)
		}
		h[i] = Field{Name: block[sp.start-first : sp.nameEnd-first], Value: value}
	}
	return h
}

// unfold joins the lines of a folded field value: each line break with the
// blanks around it becomes one space, and the value is trimmed.
func unfold(v []byte) string {
	if bytes.IndexByte(v, '\n') < 0 {
		return string(bytes.Trim(trimEOL(v), " \t"))
	}
	var out strings.Builder
	out.Grow(len(v))
	for len(v) > 0 {
		line := v
		if i := bytes.IndexByte(v, '\n'); i >= 0 {
			line = v[:i+1]
		}
		v = v[len(line):]
		line = bytes.Trim(trimEOL(line), " \t")
		if len(line) == 0 {
			continue
		}
		if out.Len() > 0 {
			out.WriteByte(' ')
		}
		out.Write(line)
	}
	return out.String()
}

// blankLine returns the offset of the first empty line (LF or CRLF) in b, or
// -1. An empty first line counts: such a message has no header.
func blankLine(b []byte) int {
	if len(b) > 0 && (b[0] == '\n' || (b[0] == '\r' && len(b) > 1 && b[1] == '\n')) {
		return 0
	}
	for i := 0; ; {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return -1
		}
		i += j + 1
		if i >= len(b) {
			return -1
		}
		if b[i] == '\n' || (b[i] == '\r' && i+1 < len(b) && b[i+1] == '\n') {
			return i
		}
	}
}

// lineEnd returns the offset just past the line that starts at pos.
func lineEnd(b []byte, pos int) int {
	if i := bytes.IndexByte(b[pos:], '\n'); i >= 0 {
		return pos + i + 1
	}
	return len(b)
}

func trimEOL(line []byte) []byte {
	line = bytes.TrimSuffix(line, []byte("\n"))
	return bytes.TrimSuffix(line, []byte("\r"))
}

// splitField splits "Name: value" and returns the end of the name and the
// offset of the value in line. The name is printable ASCII without colon or
// blanks; a blank between name and colon ("Subject : x") is tolerated, as
// mail readers do.
func splitField(line []byte) (nameEnd, valueAt int, ok bool) {
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 {
		return 0, 0, false
	}
	name := bytes.TrimRight(line[:colon], " \t")
	if len(name) == 0 {
		return 0, 0, false
	}
	for _, c := range name {
		if c <= ' ' || c >= 0x7f {
			return 0, 0, false
		}
	}
	return len(name), colon + 1, true
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "..."
}

// readAllString reads r to the end; used with charset decoders over
// in-memory data, where an error can only come from the decoder.
func readAllString(r io.Reader) (string, error) {
	var sb strings.Builder
	_, err := io.Copy(&sb, r)
	return sb.String(), err
}

// HeaderEnd returns the offset in raw where new header fields can be
// inserted: the start of the blank line that ends the header block, or,
// when there is none, the start of the first line that is not
// header-shaped, or len(raw). An mbox "From " envelope line stays before it.
func HeaderEnd(raw []byte) int {
	_, bodyAt, sep, _ := parseHeader(raw, "")
	if sep {
		return blankLine(raw)
	}
	return bodyAt
}
