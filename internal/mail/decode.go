package mail

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
	"golang.org/x/text/encoding/charmap"
)

// Decoded returns the part's body with the transfer encoding undone.
// Decoding is lenient: base64 skips characters outside its alphabet and
// decodes what follows a padding character; quoted-printable keeps an '='
// that starts no valid escape. Each irregularity is returned as a defect. An
// unknown encoding returns the body unchanged with a defect.
func (p *Part) Decoded() ([]byte, []Defect) {
	switch p.Encoding {
	case "", "7bit", "8bit", "binary":
		return p.Body, nil
	case "base64":
		out, bad := decodeBase64(p.Body)
		if bad {
			return out, []Defect{{Name: DefectBadBase64, Part: p.Path}}
		}
		return out, nil
	case "quoted-printable":
		out, bad := decodeQP(p.Body)
		if bad {
			return out, []Defect{{Name: DefectBadQuotedPrintable, Part: p.Path}}
		}
		return out, nil
	default:
		return p.Body, []Defect{{Name: DefectUnknownEncoding, Part: p.Path, Detail: clip(p.Encoding, 40)}}
	}
}

// Text returns the decoded body converted to UTF-8 from the part's charset.
// Without a charset, or with an unknown one, valid UTF-8 is taken as it is
// and anything else is read as Windows-1252. The result is always valid
// UTF-8.
func (p *Part) Text() (string, []Defect) {
	b, defects := p.Decoded()
	return decodeCharset(b, p.Charset(), p.Path, defects)
}

// TextLimit is like Text but reads at most n bytes of the decoded body.
func (p *Part) TextLimit(n int) (string, []Defect) {
	b, defects := p.Decoded()
	if n > 0 && len(b) > n {
		b = b[:n]
	}
	return decodeCharset(b, p.Charset(), p.Path, defects)
}

// DecodedPreamble returns a multipart's preamble as UTF-8 text (preambles
// carry no encoding of their own).
func (p *Part) DecodedPreamble() string { return toUTF8(string(p.Preamble)) }

// DecodedEpilogue returns a multipart's epilogue as UTF-8 text.
func (p *Part) DecodedEpilogue() string { return toUTF8(string(p.Epilogue)) }

func decodeCharset(b []byte, cs, path string, defects []Defect) (string, []Defect) {
	switch cs {
	case "", "us-ascii", "ascii", "utf-8", "utf8":
		if utf8.Valid(b) {
			return string(b), defects
		}
		if cs == "utf-8" || cs == "utf8" {
			defects = append(defects, Defect{Name: DefectBadCharset, Part: path, Detail: cs})
		}
		return toUTF8(string(b)), defects
	}
	if cm := latinCharsets[cs]; cm != nil {
		// The common single-byte case, without a streaming reader. Every
		// byte is a character: the decoding cannot fail.
		return decodeLatin(cm, string(b)), defects
	}
	r, err := charset.Reader(cs, bytes.NewReader(b))
	if err != nil {
		defects = append(defects, Defect{Name: DefectUnknownCharset, Part: path, Detail: clip(cs, 40)})
		return toUTF8(string(b)), defects
	}
	s, err := readAllString(r)
	if err != nil {
		defects = append(defects, Defect{Name: DefectBadCharset, Part: path, Detail: clip(cs, 40)})
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return s, defects
}

// latinCharsets are the labels most 8-bit mail carries. Windows-1252 is
// what mail readers use for ISO-8859-1, of which it is a printable superset.
var latinCharsets = map[string]*charmap.Charmap{
	"iso-8859-1":   charmap.Windows1252,
	"iso8859-1":    charmap.Windows1252,
	"latin1":       charmap.Windows1252,
	"windows-1252": charmap.Windows1252,
	"cp1252":       charmap.Windows1252,
	"iso-8859-15":  charmap.ISO8859_15,
	"iso-8859-2":   charmap.ISO8859_2,
}

// decodeLatin converts text in cm, one of the single-byte charsets that
// are supersets of ASCII, to UTF-8. Runs of ASCII, most of such text, are
// copied whole, and text that is all ASCII is returned as it is.
func decodeLatin(cm *charmap.Charmap, text string) string {
	i := asciiPrefix(text)
	if i == len(text) {
		return text
	}
	var sb strings.Builder
	sb.Grow(len(text) + len(text)/4)
	for {
		sb.WriteString(text[:i])
		text = text[i:]
		if text == "" {
			return sb.String()
		}
		sb.WriteRune(cm.DecodeByte(text[0]))
		text = text[1:]
		i = asciiPrefix(text)
	}
}

// asciiPrefix returns the length of the run of ASCII bytes text starts with.
func asciiPrefix(text string) int {
	for i := 0; i < len(text); i++ {
		if text[i] >= utf8.RuneSelf {
			return i
		}
	}
	return len(text)
}

var b64 = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = byte(i)
	}
	return t
}()

// decodeBase64 decodes leniently. bad reports bytes that are neither in the
// alphabet nor white space, a padding character followed by more data, or a
// final group of a single symbol.
func decodeBase64(in []byte) (out []byte, bad bool) {
	out = make([]byte, 0, len(in)*3/4)
	var (
		acc  uint32
		n    int
		pads bool
	)
	for _, c := range in {
		v := b64[c]
		if v == 0xff {
			switch c {
			case ' ', '\t', '\r', '\n':
			case '=':
				pads = true
			default:
				bad = true
			}
			continue
		}
		if pads {
			// Data after padding: a second encoded stream glued on.
			bad = true
			out = flushB64(out, acc, n)
			acc, n, pads = 0, 0, false
		}
		acc = acc<<6 | uint32(v)
		n++
		if n == 4 {
			out = append(out, byte(acc>>16), byte(acc>>8), byte(acc))
			acc, n = 0, 0
		}
	}
	if n == 1 {
		bad = true
	}
	return flushB64(out, acc, n), bad
}

func flushB64(out []byte, acc uint32, n int) []byte {
	switch n {
	case 2:
		out = append(out, byte(acc>>4))
	case 3:
		out = append(out, byte(acc>>10), byte(acc>>2))
	}
	return out
}

// decodeQP decodes quoted-printable leniently: "=XY" with hex digits in
// either case is a byte, "=" at the end of a line is a soft break (trailing
// blanks before the break allowed), and any other "=" is kept.
func decodeQP(in []byte) (out []byte, bad bool) {
	out = make([]byte, 0, len(in))
	for i := 0; i < len(in); i++ {
		c := in[i]
		if c != '=' {
			out = append(out, c)
			continue
		}
		if i+2 < len(in) {
			if h, ok := unhex(in[i+1]); ok {
				if l, ok := unhex(in[i+2]); ok {
					out = append(out, h<<4|l)
					i += 2
					continue
				}
			}
		}
		// Soft line break: '=', optional blanks, then CRLF, LF or the end.
		j := i + 1
		for j < len(in) && (in[j] == ' ' || in[j] == '\t') {
			j++
		}
		switch {
		case j == len(in):
			i = j
			continue
		case in[j] == '\n':
			i = j
			continue
		case in[j] == '\r' && j+1 < len(in) && in[j+1] == '\n':
			i = j + 1
			continue
		}
		bad = true
		out = append(out, '=')
	}
	return out, bad
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
