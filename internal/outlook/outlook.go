// Package outlook turns an Outlook .msg file into an RFC 5322 message, so
// that the rest of the pipeline analyses it like any other mail.
//
// Data flows in one pass: the OLE compound file is opened with mscfb, its
// storages are arranged as a tree, and the MAPI properties of MS-OXMSG are
// read from it (strings as UTF-16LE or 8-bit streams, binaries as streams,
// fixed-size values from the __properties_version1.0 stream). The message
// is then written as MIME:
//
//   - headers: the transport headers saved by Outlook when there are any
//     (minus their stale MIME-Version, Content-Type and
//     Content-Transfer-Encoding), completed with From, To, Cc, Bcc, Subject,
//     Date, Message-ID, In-Reply-To and References synthesised from the
//     properties where missing;
//   - body: the plain text and the HTML bodies as multipart/alternative (the
//     HTML with the inline images it refers to as multipart/related), or the
//     decompressed RTF body when it is the only one;
//   - attachments: base64 parts named with RFC 2231 parameters, and embedded
//     messages converted recursively as message/rfc822 parts.
//
// What the file itself tells about its structure goes into the defects
// returned beside the message, not into invented headers.
//
// Left out: named properties, OLE object attachments (attach method 6),
// attachments by reference (their paths are reported as defects), calendar
// and contact semantics, signed or encrypted content (it passes through as
// attachments), and PST/OST files.
package outlook

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"net/mail"
	"path"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/richardlehane/mscfb"
)

// ErrNotMsg is returned by ToMIME for data that is not an Outlook message.
var ErrNotMsg = errors.New("outlook: not an outlook message")

const (
	maxDepth       = 8   // embedded messages within messages
	maxAttachments = 500 // attachments per message
	maxRecipients  = 1000
)

var (
	oleMagic = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}
	// Directory entry names are UTF-16LE; a message has both of these.
	messageNames = [][]byte{utf16le(substgPrefix), utf16le(propertiesStream)}
)

func utf16le(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return b
}

// IsMsg reports whether data looks like an Outlook message: an OLE compound
// file whose directory names MAPI property streams.
func IsMsg(data []byte) bool {
	if !bytes.HasPrefix(data, oleMagic) {
		return false
	}
	for _, name := range messageNames {
		if !bytes.Contains(data, name) {
			return false
		}
	}
	return true
}

// ToMIME converts an Outlook .msg file to an RFC 5322 message with CRLF line
// ends. The defects describe what was missing, malformed or left out; the
// error is ErrNotMsg (wrapped) when data is not a compound file holding a
// message.
func ToMIME(data []byte) (msg []byte, defects []string, err error) {
	defer func() {
		if r := recover(); r != nil {
			msg, err = nil, fmt.Errorf("outlook: panic: %v", r)
		}
	}()
	if !bytes.HasPrefix(data, oleMagic) {
		return nil, nil, fmt.Errorf("%w: no compound file signature", ErrNotMsg)
	}
	r, err := mscfb.New(bytes.NewReader(data))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrNotMsg, err)
	}
	root := buildTree(r)
	if root.streams[propertiesStream] == nil && !hasSubstg(root) {
		return nil, nil, fmt.Errorf("%w: no message properties", ErrNotMsg)
	}
	sum := sha256.Sum256(data)
	c := &converter{
		rd:   &reader{budget: int64(len(data)) + 1<<20, cache: make(map[*mscfb.File][]byte)},
		seed: hex.EncodeToString(sum[:6]),
	}
	p := c.message(root, 0)
	var buf bytes.Buffer
	p.write(&buf)
	return buf.Bytes(), c.defects, nil
}

func hasSubstg(n *node) bool {
	for name := range n.streams {
		if strings.HasPrefix(name, substgPrefix) {
			return true
		}
	}
	return false
}

// converter holds the state of one conversion.
type converter struct {
	rd         *reader
	defects    []string
	seed       string // makes boundaries unique to the input
	boundaries int
}

func (c *converter) defect(format string, args ...any) {
	if len(c.defects) < 100 {
		c.defects = append(c.defects, fmt.Sprintf(format, args...))
	}
}

func (c *converter) boundary() string {
	c.boundaries++
	// "=_" cannot occur in base64 or quoted-printable text.
	return fmt.Sprintf("=_mailsift_%s_%d", c.seed, c.boundaries)
}

// message converts the message stored in n (the root or an embedded
// message storage) to a MIME entity with its headers.
func (c *converter) message(n *node, depth int) *part {
	propsHeader := fixedHeaderTopLevel
	if depth > 0 {
		propsHeader = fixedHeaderEmbedded
	}
	o := loadObject(n, c.rd, propsHeader, &c.defects, 0)

	if class := o.str(pidMessageClass); class != "" && !strings.HasPrefix(strings.ToUpper(class), "IPM.NOTE") {
		c.defect("outlook: message class %s", sanitize(class))
	}

	body := c.body(o)
	atts := c.attachments(o, n, depth)

	// Inline images referenced from the HTML go with it in a related part.
	var related, mixed []*part
	html := ""
	if body.html != nil {
		html = strings.ToLower(string(body.html.body))
	}
	for _, a := range atts {
		if a.cid != "" && html != "" && strings.Contains(html, "cid:"+strings.ToLower(a.cid)) {
			a.p.setDisposition("inline", a.filename)
			related = append(related, a.p)
		} else {
			mixed = append(mixed, a.p)
		}
	}

	var content *part
	htmlPart := body.html
	if htmlPart != nil && len(related) > 0 {
		htmlPart = c.multipart("related", append([]*part{htmlPart}, related...))
		htmlPart.params = map[string]string{"type": "text/html"}
	}
	switch {
	case body.text != nil && htmlPart != nil:
		content = c.multipart("alternative", []*part{body.text, htmlPart})
	case htmlPart != nil:
		content = htmlPart
	case body.text != nil:
		content = body.text
	default:
		content = textPart("text/plain", "utf-8", nil)
	}
	if body.rtf != nil {
		content = body.rtf
	}
	if len(mixed) > 0 {
		content = c.multipart("mixed", append([]*part{content}, mixed...))
	}

	content.msgHeaders = append(c.headers(o, n), header{name: "MIME-Version", value: "1.0"})
	return content
}

// body collects the text, HTML and RTF bodies of a message.
type bodies struct{ text, html, rtf *part }

func (c *converter) body(o *object) bodies {
	var b bodies
	if s := o.str(pidBody); s != "" {
		b.text = textPart("text/plain", "utf-8", []byte(s))
	}
	if h := o.bin(pidHTML); len(h) > 0 {
		cs := ""
		if cp, ok := o.int32(pidInternetCodepage); ok {
			cs = codepageNames[int(cp)]
		}
		if cs == "" && utf8.Valid(h) {
			cs = "utf-8"
		}
		b.html = textPart("text/html", cs, bytes.TrimRight(h, "\x00"))
	} else if s := o.str(pidHTML); s != "" {
		b.html = textPart("text/html", "utf-8", []byte(s))
	}
	if b.text == nil && b.html == nil {
		if z := o.bin(pidRTFCompressed); len(z) > 0 {
			rtf, err := decompressRTF(z, 64<<20)
			if err != nil {
				c.defect("%v", err)
			}
			if len(rtf) > 0 {
				b.rtf = &part{contentType: "text/rtf", encoding: "base64", body: rtf}
				c.defect("outlook: body only in rtf")
			}
		}
	}
	return b
}

// attachment is a converted attachment and what is needed to place it.
type attachment struct {
	p        *part
	cid      string
	filename string
}

func (c *converter) attachments(msg *object, n *node, depth int) []attachment {
	var out []attachment
	storages := n.childrenWithPrefix(attachPrefix)
	if len(storages) > maxAttachments {
		c.defect("outlook: %d attachments, kept %d", len(storages), maxAttachments)
		storages = storages[:maxAttachments]
	}
	for i, s := range storages {
		a := loadObject(s, c.rd, fixedHeaderAttachOrRecip, &c.defects, msg.codepage)
		method, _ := a.int32(pidAttachMethod)
		name := firstNonEmpty(a.str(pidAttachLongFilename), a.str(pidAttachFilename), a.str(pidDisplayName))
		name = sanitize(path.Base(strings.ReplaceAll(name, `\`, "/")))
		if name == "." || name == "/" {
			name = ""
		}
		embedded := s.children[embeddedMessageStorage]
		switch {
		case embedded != nil && method != 6:
			if depth+1 > maxDepth {
				c.defect("outlook: embedded message deeper than %d dropped", maxDepth)
				continue
			}
			inner := c.message(embedded, depth+1)
			var buf bytes.Buffer
			inner.write(&buf)
			lower := strings.ToLower(name)
			if name == "" {
				name = fmt.Sprintf("message-%d.eml", i+1)
			} else if !strings.HasSuffix(lower, ".eml") && !strings.HasSuffix(lower, ".msg") {
				name += ".eml"
			}
			p := &part{contentType: "message/rfc822", encoding: "", body: buf.Bytes()}
			p.setDisposition("attachment", name)
			out = append(out, attachment{p: p, filename: name})
		case method == 6 || embedded != nil:
			c.defect("outlook: ole object attachment %q not converted", name)
		case method == 2 || method == 3 || method == 4:
			c.defect("outlook: attachment %q by reference to %q", name,
				sanitize(firstNonEmpty(a.str(pidAttachLongPathname), a.str(pidAttachPathname))))
		default:
			data, ok := a.stream(pidAttachData, typeBinary)
			if !ok {
				c.defect("outlook: attachment %q without data", name)
				continue
			}
			if name == "" {
				name = fmt.Sprintf("attachment-%d%s", i+1, sanitize(a.str(pidAttachExtension)))
			}
			ct := "application/octet-stream"
			if tag := strings.TrimSpace(a.str(pidAttachMimeTag)); tag != "" {
				if mt, _, err := mime.ParseMediaType(tag); err == nil && strings.Contains(mt, "/") {
					ct = mt
				} else {
					c.defect("outlook: attachment %q has a bad mime tag %q", name, sanitize(tag))
				}
			}
			p := &part{contentType: ct, params: map[string]string{"name": name}, encoding: "base64", body: data}
			if ct == "message/rfc822" {
				p.encoding = ""
			}
			p.setDisposition("attachment", name)
			cid := strings.Trim(sanitize(a.str(pidAttachContentID)), "<> ")
			if cid != "" {
				p.headers = append(p.headers, header{name: "Content-ID", value: "<" + cid + ">"})
			}
			out = append(out, attachment{p: p, cid: cid, filename: name})
		}
	}
	return out
}

// staleFields are transport header fields describing the original MIME
// structure, which the conversion replaces.
var staleFields = map[string]bool{
	"mime-version": true, "content-type": true, "content-transfer-encoding": true,
	"content-disposition": true, "content-id": true, "content-description": true,
}

// headers returns the message headers: the transport headers when present,
// then whatever is missing from them synthesised from the properties.
func (c *converter) headers(o *object, n *node) []header {
	var hs []header
	have := make(map[string]bool)
	if th := o.str(pidTransportHeaders); strings.TrimSpace(th) != "" {
		for _, f := range parseHeaderBlock(th, c) {
			key := strings.ToLower(f.name)
			if staleFields[key] {
				continue
			}
			have[key] = true
			hs = append(hs, header{name: f.name, value: f.value, raw: true})
		}
	}
	add := func(name, value string) {
		if value == "" || have[strings.ToLower(name)] {
			return
		}
		hs = append(hs, header{name: name, value: value})
	}

	if !have["from"] {
		add("From", c.from(o))
	}
	to, cc, bcc := c.recipients(o, n)
	add("To", to)
	add("Cc", cc)
	add("Bcc", bcc)
	if s := o.str(pidSubject); s != "" {
		add("Subject", encodeText(sanitize(s)))
	}
	if !have["date"] {
		t, ok := o.time(pidClientSubmitTime)
		if !ok {
			t, ok = o.time(pidDeliveryTime)
		}
		if !ok {
			t, ok = o.time(pidCreationTime)
		}
		if ok {
			add("Date", t.Format(time.RFC1123Z))
		} else {
			c.defect("outlook: no date")
		}
	}
	add("Message-ID", msgID(o.str(pidInternetMessageID)))
	add("In-Reply-To", msgID(o.str(pidInReplyTo)))
	add("References", sanitize(o.str(pidReferences)))
	return hs
}

func msgID(s string) string {
	s = strings.TrimSpace(sanitize(s))
	if s == "" || strings.HasPrefix(s, "<") {
		return s
	}
	return "<" + s + ">"
}

// from builds the From field from the sent-representing properties (whom
// the mail is from), falling back to the sender properties.
func (c *converter) from(o *object) string {
	name := firstNonEmpty(o.str(pidSentReprName), o.str(pidSenderName))
	addr := firstNonEmpty(
		o.str(pidSentReprSMTPAddress), smtpOnly(o.str(pidSentReprEmail)),
		o.str(pidSenderSMTPAddress), smtpOnly(o.str(pidSenderEmail)))
	if name == "" && addr == "" {
		c.defect("outlook: no sender")
		return ""
	}
	if addr == "" {
		c.defect("outlook: sender %q has no smtp address", sanitize(name))
	}
	return formatAddress(name, addr)
}

// recipients builds To, Cc and Bcc from the recipient objects, falling back
// to the display properties (names only) when there are none.
func (c *converter) recipients(o *object, n *node) (to, cc, bcc string) {
	var lists [4][]string
	storages := n.childrenWithPrefix(recipPrefix)
	if len(storages) > maxRecipients {
		c.defect("outlook: %d recipients, kept %d", len(storages), maxRecipients)
		storages = storages[:maxRecipients]
	}
	for _, s := range storages {
		r := loadObject(s, c.rd, fixedHeaderAttachOrRecip, &c.defects, o.codepage)
		typ, _ := r.int32(pidRecipientType)
		typ &= 0x0F // the high bits carry flags
		if typ < 1 || typ > 3 {
			typ = 1
		}
		name := r.str(pidDisplayName)
		addr := firstNonEmpty(r.str(pidSMTPAddress), smtpOnly(r.str(pidEmailAddress)))
		if name == "" && addr == "" {
			continue
		}
		lists[typ] = append(lists[typ], formatAddress(name, addr))
	}
	join := func(l []string, display uint16) string {
		if len(l) > 0 {
			return strings.Join(l, ",\r\n ")
		}
		if d := sanitize(o.str(display)); d != "" {
			var names []string
			for _, v := range strings.Split(d, ";") {
				if v = strings.TrimSpace(v); v != "" {
					names = append(names, formatAddress(v, ""))
				}
			}
			return strings.Join(names, ",\r\n ")
		}
		return ""
	}
	return join(lists[1], pidDisplayTo), join(lists[2], pidDisplayCc), join(lists[3], pidDisplayBcc)
}

// smtpOnly drops Exchange (X.500) addresses, which mail cannot carry.
func smtpOnly(s string) string {
	if strings.Contains(s, "@") && !strings.HasPrefix(s, "/") {
		return s
	}
	return ""
}

// bareAddr matches a lone address without a display name or brackets.
var bareAddr = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[^\s<>()\[\]\\,;:"@]+@[^\s<>()\[\]\\,;:"@]+$`)
})

// formatAddress writes one mailbox. Without a usable address the display
// name is written alone, quoted or encoded.
func formatAddress(name, addr string) string {
	name = strings.TrimSpace(sanitize(name))
	addr = strings.Trim(strings.TrimSpace(sanitize(addr)), "<>")
	if name == addr {
		name = ""
	}
	if addr != "" && bareAddr().MatchString(addr) {
		return (&mail.Address{Name: name, Address: addr}).String()
	}
	if addr != "" {
		name = strings.TrimSpace(name + " " + addr)
	}
	return encodePhrase(name)
}

// encodePhrase quotes or encodes a display name standing alone.
func encodePhrase(s string) string {
	for _, r := range s {
		if r >= utf8.RuneSelf {
			return mime.QEncoding.Encode("utf-8", s)
		}
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// encodeText encodes an unstructured header value when it is not ASCII.
func encodeText(s string) string {
	for _, r := range s {
		if r >= utf8.RuneSelf {
			return mime.QEncoding.Encode("utf-8", s)
		}
	}
	return s
}

// sanitize keeps a property value on one header line: control characters,
// CR and LF included, become spaces.
func sanitize(s string) string {
	if !strings.ContainsFunc(s, isControl) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if isControl(r) {
			return ' '
		}
		return r
	}, s)
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7F }

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return ""
}

// field is one header field of the transport headers.
type field struct{ name, value string }

// parseHeaderBlock splits saved transport headers into fields, keeping the
// folding of their values. It stops at the first empty line; lines that are
// neither fields nor continuations are dropped with a defect.
func parseHeaderBlock(s string, c *converter) []field {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	var fields []field
	bad := 0
	for _, line := range strings.Split(s, "\n") {
		if strings.TrimSpace(line) == "" {
			if len(fields) > 0 {
				break
			}
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if len(fields) > 0 {
				fields[len(fields)-1].value += "\r\n" + line
			}
			continue
		}
		i := strings.IndexByte(line, ':')
		if i <= 0 || strings.ContainsAny(line[:i], " \t") {
			bad++
			continue
		}
		fields = append(fields, field{line[:i], strings.TrimLeft(line[i+1:], " \t")})
	}
	if bad > 0 {
		c.defect("outlook: %d malformed transport header lines dropped", bad)
	}
	return fields
}
