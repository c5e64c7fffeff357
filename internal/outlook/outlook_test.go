package outlook

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"testing"
	"time"
)

// Helpers writing MAPI property streams.

func uni(id uint16, s string) *cfbEntry {
	return stream(fmt.Sprintf("__substg1.0_%04X001F", id), append(utf16le(s), 0, 0))
}

func str8(id uint16, b []byte) *cfbEntry {
	return stream(fmt.Sprintf("__substg1.0_%04X001E", id), append(b, 0))
}

func bin(id uint16, b []byte) *cfbEntry {
	return stream(fmt.Sprintf("__substg1.0_%04X0102", id), b)
}

type fixed struct {
	tag   uint32
	value uint64
}

func props(header int, fs ...fixed) *cfbEntry {
	b := make([]byte, header)
	for _, f := range fs {
		var e [16]byte
		binary.LittleEndian.PutUint32(e[0:], f.tag)
		binary.LittleEndian.PutUint32(e[4:], 6) // readable, writable
		binary.LittleEndian.PutUint64(e[8:], f.value)
		b = append(b, e[:]...)
	}
	return stream(propertiesStream, b)
}

func filetime(t time.Time) uint64 { return uint64(t.UnixNano()/100) + 116444736000000000 }

func method(m uint64) fixed { return fixed{uint32(pidAttachMethod)<<16 | typeInt32, m} }
func recipType(t uint64) fixed {
	return fixed{uint32(pidRecipientType)<<16 | typeInt32, t}
}

var (
	sampleDate = time.Date(2024, 3, 5, 14, 30, 0, 0, time.UTC)
	pdfData    = bytes.Repeat([]byte("%PDF-1.4 fake invoice data "), 200) // over the 4096-byte mini stream cutoff
	logoData   = []byte("\x89PNG\r\n\x1a\nfake image")
)

func innerMessage(children ...*cfbEntry) *cfbEntry {
	return storage(embeddedMessageStorage, append([]*cfbEntry{props(fixedHeaderEmbedded)}, children...)...)
}

func sampleMsg() []byte {
	inner := innerMessage(
		uni(pidTransportHeaders, "Received: from a.example by b.example;\r\n Mon, 4 Mar 2024 10:00:00 +0000\r\n"+
			"From: Inner Sender <inner@example.com>\r\nSubject: Inner subject\r\nMIME-Version: 1.0\r\n"+
			"Date: Mon, 4 Mar 2024 10:00:01 +0000\r\n"+
			"Content-Type: multipart/mixed;\r\n\tboundary=\"stale\"\r\nX-Custom: kept\r\n\r\n"),
		uni(pidSubject, "Inner subject (property)"),
		uni(pidBody, "Inner body"),
		storage("__attach_version1.0_#00000000", props(8, method(1)),
			uni(pidAttachLongFilename, "inner.txt"), bin(pidAttachData, []byte("inner attachment"))),
	)
	return buildCFB(
		props(fixedHeaderTopLevel,
			fixed{uint32(pidClientSubmitTime)<<16 | typeTime, filetime(sampleDate)},
			fixed{uint32(pidInternetCodepage)<<16 | typeInt32, 1252}),
		uni(pidMessageClass, "IPM.Note"),
		uni(pidSubject, "Réunion: invoice ✓"),
		uni(pidSentReprName, "Alice Example"),
		uni(pidSentReprSMTPAddress, "alice@example.com"),
		uni(pidSenderName, "Alice Example"),
		uni(pidSenderEmail, "/O=EXCHANGELABS/OU=EXCHANGE ADMINISTRATIVE GROUP/CN=RECIPIENTS/CN=ALICE"),
		uni(pidBody, "Hello Bob,\r\nplease see attached.\r\n"),
		bin(pidHTML, []byte(`<html><body><p>Hello <b>Bob</b> caf`+"\xe9"+`</p><img src="cid:logo@x"></body></html>`)),
		uni(pidInternetMessageID, "<abc@example.com>"),
		uni(pidDisplayTo, "Bob Builder"),
		storage("__recip_version1.0_#00000000", props(8, recipType(1)),
			uni(pidDisplayName, "Bob Builder"), uni(pidSMTPAddress, "bob@example.org")),
		storage("__recip_version1.0_#00000001", props(8, recipType(2)),
			uni(pidDisplayName, "Carol"), uni(pidEmailAddress, "carol@example.net")),
		storage("__attach_version1.0_#00000000", props(8, method(1)),
			uni(pidAttachLongFilename, "invoice.pdf"), uni(pidAttachMimeTag, "application/pdf"),
			bin(pidAttachData, pdfData)),
		storage("__attach_version1.0_#00000001", props(8, method(1)),
			uni(pidAttachLongFilename, "résumé.txt"), uni(pidAttachMimeTag, "text/plain"),
			bin(pidAttachData, []byte("curriculum vitae"))),
		storage("__attach_version1.0_#00000002", props(8, method(1)),
			uni(pidAttachLongFilename, "logo.png"), uni(pidAttachMimeTag, "image/png"),
			uni(pidAttachContentID, "logo@x"), bin(pidAttachData, logoData)),
		storage("__attach_version1.0_#00000003", props(8, method(5)),
			uni(pidDisplayName, "Forwarded message"), inner),
	)
}

// node of a parsed MIME tree, for comparing structure.
type mimeNode struct {
	contentType string
	params      map[string]string
	filename    string
	header      map[string][]string
	body        []byte
	children    []*mimeNode
}

func (n *mimeNode) shape() string {
	if len(n.children) == 0 {
		return n.contentType
	}
	var parts []string
	for _, c := range n.children {
		parts = append(parts, c.shape())
	}
	return n.contentType + "[" + strings.Join(parts, " ") + "]"
}

func parseMIME(t *testing.T, raw []byte) (*mail.Message, *mimeNode) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("ReadMessage: %v\n%s", err, raw)
	}
	root := parseEntity(t, msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"),
		"", msg.Header, msg.Body)
	return msg, root
}

func parseEntity(t *testing.T, ct, cte, filename string, h map[string][]string, body io.Reader) *mimeNode {
	t.Helper()
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		t.Fatalf("content type %q: %v", ct, err)
	}
	n := &mimeNode{contentType: mt, params: params, filename: filename, header: h}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("multipart %s: %v", mt, err)
			}
			var r io.Reader = p
			switch strings.ToLower(p.Header.Get("Content-Transfer-Encoding")) {
			case "base64":
				r = base64Reader(p)
			case "quoted-printable":
				r = qpReader(p)
			}
			n.children = append(n.children, parseEntity(t, p.Header.Get("Content-Type"),
				"", p.FileName(), p.Header, r))
		}
		return n
	}
	var r io.Reader = body
	switch strings.ToLower(cte) {
	case "base64":
		r = base64Reader(body)
	case "quoted-printable":
		r = qpReader(body)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("body of %s: %v", mt, err)
	}
	n.body = b
	return n
}

func TestToMIME(t *testing.T) {
	raw, defects, err := ToMIME(sampleMsg())
	if err != nil {
		t.Fatalf("ToMIME: %v", err)
	}
	if len(defects) != 0 {
		t.Errorf("defects: %q", defects)
	}
	if bytes.Contains(bytes.ReplaceAll(raw, []byte("\r\n"), nil), []byte("\n")) {
		t.Errorf("bare LF in output")
	}
	msg, root := parseMIME(t, raw)

	dec := new(mime.WordDecoder)
	subject, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil || subject != "Réunion: invoice ✓" {
		t.Errorf("subject %q, %v", subject, err)
	}
	from, err := mail.ParseAddress(msg.Header.Get("From"))
	if err != nil || from.Address != "alice@example.com" || from.Name != "Alice Example" {
		t.Errorf("from %v, %v", from, err)
	}
	to, err := msg.Header.AddressList("To")
	if err != nil || len(to) != 1 || to[0].Address != "bob@example.org" || to[0].Name != "Bob Builder" {
		t.Errorf("to %v, %v", to, err)
	}
	cc, err := msg.Header.AddressList("Cc")
	if err != nil || len(cc) != 1 || cc[0].Address != "carol@example.net" {
		t.Errorf("cc %v, %v", cc, err)
	}
	date, err := msg.Header.Date()
	if err != nil || !date.Equal(sampleDate) {
		t.Errorf("date %v, %v", date, err)
	}
	if got := msg.Header.Get("Message-Id"); got != "<abc@example.com>" {
		t.Errorf("message-id %q", got)
	}
	if got := msg.Header.Get("Mime-Version"); got != "1.0" {
		t.Errorf("mime-version %q", got)
	}

	want := "multipart/mixed[multipart/alternative[text/plain multipart/related[text/html image/png]] " +
		"application/pdf text/plain message/rfc822]"
	if got := root.shape(); got != want {
		t.Fatalf("structure\n got %s\nwant %s", got, want)
	}
	alt := root.children[0]
	if got := string(alt.children[0].body); got != "Hello Bob,\r\nplease see attached.\r\n" {
		t.Errorf("text body %q", got)
	}
	html := alt.children[1].children[0]
	if html.params["charset"] != "windows-1252" || !bytes.Contains(html.body, []byte("caf\xe9")) {
		t.Errorf("html charset %q body %q", html.params["charset"], html.body)
	}
	logo := alt.children[1].children[1]
	if !bytes.Equal(logo.body, logoData) || logo.header["Content-Id"][0] != "<logo@x>" {
		t.Errorf("logo %q %v", logo.body, logo.header)
	}
	pdf := root.children[1]
	if pdf.filename != "invoice.pdf" || !bytes.Equal(pdf.body, pdfData) {
		t.Errorf("pdf: name %q, %d bytes", pdf.filename, len(pdf.body))
	}
	cv := root.children[2]
	if cv.filename != "résumé.txt" || string(cv.body) != "curriculum vitae" {
		t.Errorf("cv: name %q body %q", cv.filename, cv.body)
	}
	if cd := cv.header["Content-Disposition"][0]; !strings.Contains(cd, "filename*=utf-8''r%C3%A9sum%C3%A9.txt") {
		t.Errorf("cv disposition %q is not RFC 2231", cd)
	}

	// The embedded message keeps its transport headers, minus the stale
	// MIME fields, and has its own structure.
	fwd := root.children[3]
	if fwd.filename != "Forwarded message.eml" {
		t.Errorf("embedded file name %q", fwd.filename)
	}
	inner, innerRoot := parseMIME(t, fwd.body)
	if got := inner.Header.Get("Subject"); got != "Inner subject" {
		t.Errorf("inner subject %q", got)
	}
	if got := inner.Header.Get("X-Custom"); got != "kept" {
		t.Errorf("inner x-custom %q", got)
	}
	if got := inner.Header["Received"]; len(got) != 1 || !strings.Contains(got[0], "Mon, 4 Mar 2024") {
		t.Errorf("inner received %q", got)
	}
	if strings.Contains(string(fwd.body), "stale") {
		t.Errorf("inner message keeps the stale content type")
	}
	if got := innerRoot.shape(); got != "multipart/mixed[text/plain application/octet-stream]" {
		t.Errorf("inner structure %s", got)
	}
	if got := string(innerRoot.children[1].body); got != "inner attachment" {
		t.Errorf("inner attachment %q", got)
	}
}

func TestToMIMEVariants(t *testing.T) {
	top := func(children ...*cfbEntry) []byte {
		return buildCFB(append([]*cfbEntry{props(fixedHeaderTopLevel,
			fixed{uint32(pidMessageCodepage)<<16 | typeInt32, 1251})}, children...)...)
	}
	deep := innerMessage(uni(pidSubject, "level 9"))
	for i := 8; i >= 1; i-- {
		deep = innerMessage(uni(pidSubject, fmt.Sprintf("level %d", i)),
			storage("__attach_version1.0_#00000000", props(8, method(5)), deep))
	}
	tests := []struct {
		name     string
		data     []byte
		shape    string
		headers  map[string]string // header name to expected value (decoded)
		body     string            // substring of the raw output
		defects  []string          // substrings
		noDefect bool
	}{
		{
			name:    "8-bit strings in the message code page",
			data:    top(str8(pidSubject, []byte("\xcf\xf0\xe8\xe2\xe5\xf2")), str8(pidBody, []byte("\xf2\xe5\xea\xf1\xf2")), uni(pidSenderSMTPAddress, "x@example.com")),
			shape:   "text/plain",
			headers: map[string]string{"Subject": "Привет", "From": "<x@example.com>"},
			body:    "=D1=82=D0=B5=D0=BA=D1=81=D1=82",
			defects: []string{"no date"},
		},
		{
			name: "transport headers win, missing fields are added",
			data: top(uni(pidTransportHeaders, "Return-Path: <bounce@example.com>\r\nFrom: Real <real@example.com>\r\n"+
				"Date: Tue, 5 Mar 2024 10:00:00 +0000\r\nContent-Transfer-Encoding: base64\r\nnot a header line\r\n"),
				uni(pidSubject, "From properties"), uni(pidSentReprSMTPAddress, "ignored@example.com"),
				uni(pidHTML, "<p>html only</p>")),
			shape:   "text/html",
			headers: map[string]string{"From": "Real <real@example.com>", "Subject": "From properties", "Return-Path": "<bounce@example.com>"},
			body:    "<p>html only</p>",
			defects: []string{"1 malformed transport header"},
		},
		{
			name:    "no body at all",
			data:    top(uni(pidSubject, "empty")),
			shape:   "text/plain",
			defects: []string{"no sender", "no date"},
		},
		{
			name: "rtf body only",
			data: top(uni(pidSenderSMTPAddress, "x@example.com"), bin(pidRTFCompressed, mustHex(
				"2d0000002b0000004c5a4675f1c5c7a703000a007263706731323542320af32068656c09002062770"+
					"5b06c647d0a800fa0"))),
			shape:   "text/rtf",
			body:    base64String(`{\rtf1\ansi\ansicpg1252\pard hello world}` + "\r\n"),
			defects: []string{"body only in rtf"},
		},
		{
			name: "attachments that cannot be converted",
			data: top(uni(pidBody, "b"),
				storage("__attach_version1.0_#00000000", props(8, method(2)),
					uni(pidAttachLongFilename, "remote.docx"), uni(pidAttachLongPathname, `\\server\share\remote.docx`)),
				storage("__attach_version1.0_#00000001", props(8, method(6)),
					uni(pidAttachFilename, "obj.bin"), storage("__substg1.0_3701000D", stream("CONTENTS", []byte("x")))),
				storage("__attach_version1.0_#00000002", props(8, method(1)), uni(pidAttachLongFilename, "nodata.bin")),
				storage("__attach_version1.0_#00000003", props(8, method(1)),
					uni(pidAttachMimeTag, "not a type"), uni(pidAttachExtension, ".exe"), bin(pidAttachData, []byte("MZ")))),
			shape: "multipart/mixed[text/plain application/octet-stream]",
			body:  `filename=attachment-4.exe`,
			defects: []string{`by reference to "\\\\server\\share\\remote.docx"`, "ole object attachment",
				`"nodata.bin" without data`, "bad mime tag"},
		},
		{
			name:    "embedded messages nested too deep",
			data:    top(uni(pidBody, "top"), storage("__attach_version1.0_#00000000", props(8, method(5)), deep)),
			shape:   "multipart/mixed[text/plain message/rfc822]",
			body:    "level 8",
			defects: []string{"deeper than 8"},
		},
		{
			name: "header injection through properties",
			data: top(uni(pidSubject, "hi\r\nBcc: victim@example.com"), uni(pidSentReprName, "Evil\r\nX: y"),
				uni(pidSentReprSMTPAddress, "evil@example.com"), uni(pidBody, "b")),
			shape:   "text/plain",
			headers: map[string]string{"Subject": "hi  Bcc: victim@example.com", "Bcc": "", "X": ""},
		},
		{
			name:    "non-note message class",
			data:    top(uni(pidMessageClass, "IPM.Appointment"), uni(pidBody, "meeting")),
			shape:   "text/plain",
			defects: []string{"message class IPM.Appointment"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, defects, err := ToMIME(tt.data)
			if err != nil {
				t.Fatalf("ToMIME: %v", err)
			}
			msg, root := parseMIME(t, raw)
			if got := root.shape(); got != tt.shape {
				t.Errorf("structure %s, want %s\n%s", got, tt.shape, raw)
			}
			dec := new(mime.WordDecoder)
			for k, want := range tt.headers {
				got, err := dec.DecodeHeader(msg.Header.Get(k))
				if err != nil || got != want {
					t.Errorf("%s: %q (%v), want %q", k, got, err, want)
				}
			}
			if !bytes.Contains(raw, []byte(tt.body)) {
				t.Errorf("output lacks %q:\n%s", tt.body, raw)
			}
			for _, d := range tt.defects {
				found := false
				for _, got := range defects {
					found = found || strings.Contains(got, d)
				}
				if !found {
					t.Errorf("defects %q lack %q", defects, d)
				}
			}
		})
	}
}

func TestNotMsg(t *testing.T) {
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"text", []byte("From: a@b\r\n\r\nhello")},
		{"ole magic only", oleMagic},
		{"truncated", sampleMsg()[:700]},
		{"compound file of another kind", buildCFB(stream("WordDocument", []byte("not a message")))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := ToMIME(tt.data); !errors.Is(err, ErrNotMsg) {
				t.Errorf("err = %v, want ErrNotMsg", err)
			}
		})
	}
}

func TestIsMsg(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want bool
	}{
		{"sample", sampleMsg(), true},
		{"other compound file", buildCFB(stream("WordDocument", []byte("x"))), false},
		{"text", []byte("hello"), false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		if got := IsMsg(tt.data); got != tt.want {
			t.Errorf("%s: IsMsg = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestDecompressRTF(t *testing.T) {
	// The compressed example of MS-OXRTFCP 4.1.
	got, err := decompressRTF(mustHex("2d0000002b0000004c5a4675f1c5c7a703000a007263706731323542320af32068656c09002062770"+
		"5b06c647d0a800fa0"), 1<<20)
	if err != nil || string(got) != `{\rtf1\ansi\ansicpg1252\pard hello world}`+"\r\n" {
		t.Errorf("example: %q, %v", got, err)
	}
	if len(lzfuDict) != 207 {
		t.Errorf("dictionary is %d bytes, want 207", len(lzfuDict))
	}
	raw := append([]byte{20, 0, 0, 0, 4, 0, 0, 0}, []byte("MELA\x00\x00\x00\x00abcdefgh")...)
	if got, err := decompressRTF(raw, 100); err != nil || string(got) != "abcd" {
		t.Errorf("uncompressed: %q, %v", got, err)
	}
	if _, err := decompressRTF([]byte("short"), 100); err == nil {
		t.Errorf("short: no error")
	}
	if _, err := decompressRTF(append([]byte{0, 0, 0, 0, 0, 0, 0, 0}, []byte("XXXX\x00\x00\x00\x00")...), 100); err == nil {
		t.Errorf("unknown magic: no error")
	}
}

func TestFormatAddress(t *testing.T) {
	tests := []struct{ name, addr, want string }{
		{"Bob", "bob@example.org", `"Bob" <bob@example.org>`},
		{"", "bob@example.org", "<bob@example.org>"},
		{"bob@example.org", "bob@example.org", "<bob@example.org>"},
		{"Zoë", "z@example.org", "=?utf-8?q?Zo=C3=AB?= <z@example.org>"},
		{"Only Name", "", `"Only Name"`},
		{`Quote "me"`, "", `"Quote \"me\""`},
		{"Odd", "not an address", `"Odd not an address"`},
		{"Line\r\nBreak", "<lb@example.org>", `"Line  Break" <lb@example.org>`},
	}
	for _, tt := range tests {
		if got := formatAddress(tt.name, tt.addr); got != tt.want {
			t.Errorf("formatAddress(%q, %q) = %q, want %q", tt.name, tt.addr, got, tt.want)
		}
	}
}

func TestWriteHeaderFolds(t *testing.T) {
	var b bytes.Buffer
	writeHeader(&b, header{name: "Subject", value: strings.Repeat("word ", 40)})
	for _, line := range strings.Split(strings.TrimSuffix(b.String(), "\r\n"), "\r\n") {
		if len(line) > 78 {
			t.Errorf("line of %d bytes: %q", len(line), line)
		}
	}
	msg, err := mail.ReadMessage(strings.NewReader(b.String() + "\r\n"))
	if err != nil || msg.Header.Get("Subject") != strings.TrimSpace(strings.Repeat("word ", 40)) {
		t.Errorf("unfolded %q, %v", msg.Header.Get("Subject"), err)
	}
}
