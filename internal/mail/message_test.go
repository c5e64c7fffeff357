package mail

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

func defectNames(m *Message) []string {
	var names []string
	for _, d := range m.Defects {
		names = append(names, d.Name)
	}
	return names
}

func TestParseStructure(t *testing.T) {
	raw := "From: a@example.org\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\nContent-Type: multipart/mixed;\r\n boundary=\"b1\"\r\n\r\n" +
		"preamble\r\n--b1\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\ncaf=E9 soft=\r\nbreak\r\n" +
		"--b1\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\nContent-Type: multipart/alternative; boundary=b2\r\n\r\n--b2\r\n\r\nplain\r\n--b2\r\nContent-Type: text/html\r\n\r\n<b>html</b>\r\n--b2--\r\n" +
		"--b1\r\nContent-Type: application/pdf; name=\"=?utf-8?b?0YTQsNC50LsucGRm?=\"\r\nContent-Disposition: attachment; filename*=utf-8''%E2%82%AC.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0x\r\n--b1--\r\nepilogue\r\n"
	m := Parse([]byte(raw))
	if got := m.Header().Text("Subject"); got != "café" {
		t.Errorf("subject %q", got)
	}
	root := m.Root
	if root.MediaType != "multipart/mixed" || len(root.Parts) != 3 {
		t.Fatalf("root %s with %d parts", root.MediaType, len(root.Parts))
	}
	if string(root.Preamble) != "preamble" || string(root.Epilogue) != "epilogue\r\n" {
		t.Errorf("preamble %q epilogue %q", root.Preamble, root.Epilogue)
	}
	if txt, ds := root.Parts[0].Text(); txt != "café soft=break" && txt != "café softbreak" || len(ds) != 0 {
		t.Errorf("qp text %q %v", txt, ds)
	}
	inner := root.Parts[1].Embedded
	if inner == nil || inner.Header.Get("Subject") != "inner" || len(inner.Parts) != 2 {
		t.Fatalf("embedded message not parsed: %+v", inner)
	}
	if inner.Parts[0].MediaType != "text/plain" || inner.Parts[0].HasHeader {
		t.Errorf("headerless part: %s %v", inner.Parts[0].MediaType, inner.Parts[0].HasHeader)
	}
	if inner.Parts[1].Path != "2.1.2" {
		t.Errorf("path %q", inner.Parts[1].Path)
	}
	att := root.Parts[2]
	if att.Params["name"] != "файл.pdf" || att.Filename != "€.pdf" || att.Disposition != "attachment" {
		t.Errorf("attachment name %q filename %q disposition %q", att.Params["name"], att.Filename, att.Disposition)
	}
	if b, _ := att.Decoded(); string(b) != "%PDF-1" {
		t.Errorf("decoded %q", b)
	}
	want := []string{DefectPreambleText, DefectEpilogueText}
	if got := defectNames(m); !slices.Equal(got, want) {
		t.Errorf("defects %v, want %v", got, want)
	}
}

func TestParseDefects(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want []string
	}{
		{"clean", "Subject: x\n\nbody\n", nil},
		{"header line without colon", "Subject: x\nthis is junk\nFrom: a\n\nbody\n", []string{DefectMalformedHeader}},
		{"no separator", "Subject: x\nbody text here\n", []string{DefectMissingSeparator}},
		{"missing end boundary", "Content-Type: multipart/mixed; boundary=z\n\n--z\n\nA\n--z\n\nB\n", []string{DefectMissingEndBoundary}},
		{"no boundary parameter", "Content-Type: multipart/mixed\n\nbody\n", []string{DefectMissingBoundary}},
		{"boundary never used", "Content-Type: multipart/mixed; boundary=q\n\nbody\n", []string{DefectNoParts}},
		{"bad content type", "Content-Type: text/plain; charset\n\nx\n", []string{DefectBadContentType}},
		{"header injection", "Subject: a\rBcc: victim@example.org\n\nx\n", []string{DefectHeaderInjection}},
		{"empty embedded message", "Content-Type: message/rfc822\n\n", []string{DefectEmbeddedNoHeader}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := defectNames(Parse([]byte(tt.raw)))
			if !slices.Equal(got, tt.want) {
				t.Errorf("defects %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMissingEndBoundaryKeepsParts(t *testing.T) {
	m := Parse([]byte("Content-Type: multipart/mixed; boundary=z\n\n--z\n\nA\n--z\n\nB\n"))
	if len(m.Root.Parts) != 2 || string(m.Root.Parts[1].Body) != "B\n" {
		t.Fatalf("parts %d, last %q", len(m.Root.Parts), m.Root.Parts[len(m.Root.Parts)-1].Body)
	}
}

func TestDeepNesting(t *testing.T) {
	var sb strings.Builder
	for i := range MaxDepth + 5 {
		sb.WriteString("Content-Type: multipart/mixed; boundary=b" + string(rune('a'+i%26)) + "x" + strings.Repeat("y", i) + "\n\n--b" + string(rune('a'+i%26)) + "x" + strings.Repeat("y", i) + "\n")
	}
	m := Parse([]byte(sb.String()))
	if !slices.Contains(defectNames(m), DefectTooDeep) {
		t.Errorf("no too-deep defect: %v", defectNames(m))
	}
}

func TestDecodeLenient(t *testing.T) {
	tests := []struct {
		name, enc, body, want string
		bad                   bool
	}{
		{"base64 clean", "base64", "aGVs\nbG8=\n", "hello", false},
		{"base64 garbage skipped", "base64", "aGV!s@bG8=", "hello", true},
		{"base64 no padding", "base64", "aGVsbG8", "hello", false},
		{"base64 two streams", "base64", "aGk=aGk=", "hihi", true},
		{"qp soft break and bad escape", "quoted-printable", "a=3Db=\nc =ZZ d=\r\n", "a=bc =ZZ d", true},
		{"qp lower-case hex", "quoted-printable", "=e9", "\xe9", false},
		{"unknown encoding kept", "x-uuencode", "begin 644", "begin 644", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Part{Encoding: tt.enc, Body: []byte(tt.body)}
			got, ds := p.Decoded()
			if string(got) != tt.want || (len(ds) > 0) != tt.bad {
				t.Errorf("got %q defects %v; want %q bad=%v", got, ds, tt.want, tt.bad)
			}
		})
	}
}

func TestCharsets(t *testing.T) {
	tests := []struct {
		charset, body, want string
		defect              string
	}{
		{"iso-8859-1", "caf\xe9", "café", ""},
		{"windows-1251", "\xcf\xf0\xe8\xe2\xe5\xf2", "Привет", ""},
		{"", "caf\xe9", "café", ""},
		{"utf-8", "caf\xc3\xa9", "café", ""},
		{"x-no-such-charset", "caf\xe9", "café", DefectUnknownCharset},
		{"utf-8", "caf\xe9", "café", DefectBadCharset},
	}
	for _, tt := range tests {
		p := &Part{Params: map[string]string{"charset": tt.charset}, Body: []byte(tt.body)}
		got, ds := p.Text()
		var name string
		if len(ds) > 0 {
			name = ds[0].Name
		}
		if got != tt.want || name != tt.defect {
			t.Errorf("%s: got %q %v, want %q %s", tt.charset, got, ds, tt.want, tt.defect)
		}
	}
}

func TestHeaderEnd(t *testing.T) {
	tests := []struct{ raw, before string }{
		{"A: 1\nB: 2\n\nbody", "A: 1\nB: 2\n"},
		{"A: 1\r\n\r\nbody", "A: 1\r\n"},
		{"\nbody", ""},
		{"From x@y Mon Jan  1 00:00:00 2024\nA: 1\n\nb", "From x@y Mon Jan  1 00:00:00 2024\nA: 1\n"},
		{"A: 1\nnot a header\n", "A: 1\n"},
		{"garbage without structure", ""},
		{"A: 1\nB: 2\n", "A: 1\nB: 2\n"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := HeaderEnd([]byte(tt.raw)); tt.raw[:got] != tt.before {
			t.Errorf("HeaderEnd(%q) = %d (%q), want %q", tt.raw, got, tt.raw[:got], tt.before)
		}
	}
}

func TestDecodeWords(t *testing.T) {
	tests := map[string]string{
		"=?iso-8859-1?Q?Cheap_pills_=E0_vendre?= - free": "Cheap pills à vendre - free",
		"=?koi8-r?B?8NLJ18XU?=":                          "Привет",
		"=?x-unknown?Q?abc?=":                            "=?x-unknown?Q?abc?=",
		"plain \xe9t\xe9":                                "plain été",
		"=?utf-8?B?!!!?=":                                "=?utf-8?B?!!!?=",
	}
	for in, want := range tests {
		if got := DecodeWords(in); got != want {
			t.Errorf("DecodeWords(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzParse: any input parses without panic, every part's body lies inside
// the message, and decoding any part gives valid UTF-8 text.
func FuzzParse(f *testing.F) {
	f.Add([]byte("Subject: x\n\nbody\n"))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=z\n\n--z\nContent-Type: message/rfc822\n\nA: b\n\n--z--\n"))
	f.Add([]byte("Content-Type: multipart/alternative; boundary=\"a\"\r\n\r\npre\r\n--a\r\nContent-Transfer-Encoding: base64\r\n\r\n!!==\r\n--a--"))
	f.Add([]byte("\n\n\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m := Parse(raw)
		m.Root.Walk(func(p *Part) bool {
			if len(p.Body) > 0 && !bytes.Contains(raw, p.Body) {
				t.Fatalf("part %s body is not a slice of the input", p.Path)
			}
			s, _ := p.Text()
			if !strings.HasPrefix(p.MediaType, "multipart/") && !isValidUTF8(s) {
				t.Fatalf("part %s text is not UTF-8", p.Path)
			}
			return true
		})
		_ = HeaderEnd(raw)
	})
}

func isValidUTF8(s string) bool { return strings.ToValidUTF8(s, "") == s }

func TestUnfold(t *testing.T) {
	tests := map[string]string{
		"Subject: a\n  b\n\tc \n\nx":        "a b c",
		"Subject:   spaced  \r\n\r\nx":      "spaced",
		"Subject: a\r\n \r\n b\r\n\r\nx":    "a b",
		"Subject:\n next line\n\nx":         "next line",
		"Subject: a\nnot a field\nX: y\n\n": "a not a field",
	}
	for raw, want := range tests {
		if got := Parse([]byte(raw)).Header().Get("Subject"); got != want {
			t.Errorf("%q: Subject %q, want %q", raw, got, want)
		}
	}
}

// decodeLatin gives what the charset's decoder gives, for every byte, for
// ASCII alone, and for ASCII runs between 8-bit bytes.
func TestDecodeLatin(t *testing.T) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	texts := []string{string(all), "", "plain ASCII only", "caf\xe9 cr\xe8me", "\xa4\xa4 runs \xbd and \xff", "end\x80"}
	for label, cm := range latinCharsets {
		for _, text := range texts {
			want, err := cm.NewDecoder().String(text)
			if err != nil {
				t.Fatal(err)
			}
			if got := decodeLatin(cm, text); got != want {
				t.Errorf("%s: %q gives %q, want %q", label, text, got, want)
			}
		}
	}
}
