package doctext

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
)

// member is one zip entry of a test package.
type member struct{ name, body string }

func makeZip(t testing.TB, members ...member) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, m := range members {
		w, err := zw.Create(m.name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(m.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

const (
	mimeDOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
	mimeXLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	mimePPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
	mimeODT  = "application/vnd.oasis.opendocument.text"
)

const wordNS = `xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" ` +
	`xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"`

func docxFixture(t testing.TB) []byte {
	return makeZip(t,
		member{"[Content_Types].xml", `<?xml version="1.0"?><Types/>`},
		member{"word/document.xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document ` + wordNS + `><w:body>
<w:p><w:pPr><w:tabs><w:tab w:val="left" w:pos="720"/></w:tabs></w:pPr>
  <w:r><w:t>Dear customer,</w:t></w:r></w:p>
<w:p><w:r><w:t xml:space="preserve">Your account </w:t></w:r><w:r><w:t>is locked.</w:t></w:r></w:p>
<w:p><w:hyperlink r:id="rId5"><w:r><w:t>Unlock now</w:t></w:r></w:hyperlink></w:p>
<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r>
  <w:r><w:instrText xml:space="preserve"> HYPERLINK "https://field.example/</w:instrText></w:r>
  <w:r><w:instrText>pay" \o "tip"</w:instrText></w:r>
  <w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>Pay</w:t></w:r>
  <w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>
<w:p><w:r><w:instrText>HYPERLINK \l "_Toc1"</w:instrText></w:r></w:p>
<w:tbl><w:tr><w:tc><w:p><w:r><w:t>Cell A</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>Cell B</w:t></w:r></w:p></w:tc></w:tr></w:tbl>
<w:p><w:r><w:t>Name:</w:t><w:tab/><w:t>Bob</w:t></w:r><w:r><w:delText>removed</w:delText></w:r></w:p>
<w:p><w:r><mc:AlternateContent xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006">
  <mc:Choice Requires="wps"><w:drawing><w:txbxContent><w:p><w:r><w:t>Boxed</w:t></w:r></w:p></w:txbxContent></w:drawing></mc:Choice>
  <mc:Fallback><w:pict><w:txbxContent><w:p><w:r><w:t>Boxed</w:t></w:r></w:p></w:txbxContent></w:pict></mc:Fallback>
</mc:AlternateContent></w:r></w:p>
</w:body></w:document>`},
		member{"word/_rels/document.xml.rels", `<?xml version="1.0"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>
<Relationship Id="rId5" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink" Target="https://phish.example/unlock?id=1&amp;x=2" TargetMode="External"/>
</Relationships>`},
		member{"word/_rels/settings.xml.rels", `<?xml version="1.0"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/attachedTemplate" Target="http://evil.example/t.dotm" TargetMode="External"/>
</Relationships>`},
		member{"word/footer1.xml", `<w:ftr ` + wordNS + `><w:p><w:r><w:t>Footer text</w:t></w:r></w:p></w:ftr>`},
		member{"word/styles.xml", `<w:styles ` + wordNS + `><w:style><w:name w:val="not text"/></w:style></w:styles>`},
	)
}

func xlsxFixture(t testing.TB) []byte {
	return makeZip(t,
		member{"xl/workbook.xml", `<workbook/>`},
		member{"xl/sharedStrings.xml", `<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
<si><t>Invoice</t></si><si><r><t>Total </t></r><r><t>due</t></r></si>
<si><t>漢字</t><rPh sb="0" eb="2"><t>カンジ</t></rPh></si></sst>`},
		member{"xl/worksheets/sheet2.xml", `<worksheet><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>Second sheet</t></is></c></row></sheetData></worksheet>`},
		member{"xl/worksheets/sheet1.xml", `<worksheet><sheetData>
<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1"><v>42</v></c></row>
<row r="2"><c r="A2" t="str"><f>HYPERLINK("https://sheet.example/pay","click")</f><v>click</v></c></row>
</sheetData></worksheet>`},
		member{"xl/worksheets/_rels/sheet1.xml.rels", `<Relationships><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink" Target="http://cell.example/" TargetMode="External"/></Relationships>`},
	)
}

func pptxFixture(t testing.TB) []byte {
	const a = `xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"`
	slide := func(title, body string) string {
		return `<p:sld ` + a + `><p:cSld><p:spTree><p:sp><p:txBody>` +
			`<a:p><a:r><a:t>` + title + `</a:t></a:r></a:p>` +
			`<a:p><a:r><a:t>` + body + `</a:t></a:r><a:br/><a:r><a:t>next line</a:t></a:r></a:p>` +
			`</p:txBody></p:sp></p:spTree></p:cSld></p:sld>`
	}
	return makeZip(t,
		member{"ppt/presentation.xml", `<p:presentation/>`},
		member{"ppt/slides/slide10.xml", slide("Ten", "last")},
		member{"ppt/slides/slide2.xml", slide("Two", "middle")},
		member{"ppt/slides/slide1.xml", slide("One", "first")},
		member{"ppt/slides/_rels/slide1.xml.rels", `<Relationships><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink" Target="https://slide.example/" TargetMode="External"/></Relationships>`},
		member{"ppt/notesSlides/notesSlide1.xml", `<p:notes ` + a + `><a:p><a:r><a:t>Speaker note</a:t></a:r></a:p></p:notes>`},
	)
}

func odtFixture(t testing.TB) []byte {
	return makeZip(t,
		member{"mimetype", mimeODT},
		member{"content.xml", `<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:xlink="http://www.w3.org/1999/xlink">
<office:automatic-styles><style:style xmlns:style="s">not text</style:style></office:automatic-styles>
<office:body><office:text>
  <text:h>Heading</text:h>
  <text:p>Hello<text:s text:c="3"/>world
     across lines<text:tab/>tabbed</text:p>
  <text:p>Visit <text:a xlink:href="https://odt.example/x">the site</text:a><text:line-break/>again</text:p>
  <draw:frame xmlns:draw="d"><draw:image xlink:href="Pictures/1.png"/></draw:frame>
</office:text></office:body></office:document-content>`},
	)
}

func TestOffice(t *testing.T) {
	ext := New(Config{})
	defer ext.Close()
	tests := []struct {
		name      string
		mime      string
		data      []byte
		want      string // exact text
		links     []string
		defects   []string // substrings of expected defects
		noLinksOf []string
	}{
		{
			name: "docx", mime: mimeDOCX, data: docxFixture(t),
			want: "Dear customer,\nYour account is locked.\nUnlock now\nPay\n\nCell A\tCell B\nName:\tBob\nBoxed\n\nFooter text",
			links: []string{
				"https://field.example/pay",
				"https://phish.example/unlock?id=1&x=2",
				"http://evil.example/t.dotm",
			},
			defects:   []string{"external template"},
			noLinksOf: []string{"_Toc1", "styles.xml"},
		},
		{
			name: "xlsx", mime: mimeXLSX, data: xlsxFixture(t),
			want:  "Invoice\nTotal due\n漢字\n\nA\nclick?",
			links: []string{"https://sheet.example/pay", "http://cell.example/"},
		},
		{
			name: "pptx", mime: mimePPTX, data: pptxFixture(t),
			want:  "One\nfirst\nnext line\n\nTwo\nmiddle\nnext line\n\nTen\nlast\nnext line\n\nSpeaker note",
			links: []string{"https://slide.example/"},
		},
		{
			name: "odt", mime: mimeODT, data: odtFixture(t),
			want:      "Heading\nHello world across lines\ttabbed\nVisit the site\nagain",
			links:     []string{"https://odt.example/x"},
			noLinksOf: []string{"Pictures/1.png"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := ext.Extract(context.Background(), tt.mime, tt.data)
			if err != nil {
				t.Fatalf("Extract: %v", err)
			}
			if tt.name == "xlsx" {
				// Cells without text leave only separators; compare words.
				for _, w := range []string{"Invoice", "Total due", "漢字", "Second sheet"} {
					if !strings.Contains(doc.Text, w) {
						t.Errorf("text %q lacks %q", doc.Text, w)
					}
				}
				if strings.Contains(doc.Text, "カンジ") {
					t.Errorf("text %q has the phonetic reading", doc.Text)
				}
				if strings.Index(doc.Text, "Second sheet") < strings.Index(doc.Text, "Invoice") {
					t.Errorf("sheets out of order: %q", doc.Text)
				}
			} else if doc.Text != tt.want {
				t.Errorf("text\n got %q\nwant %q", doc.Text, tt.want)
			}
			for _, l := range tt.links {
				if !contains(doc.Links, l) {
					t.Errorf("links %q lack %q", doc.Links, l)
				}
			}
			for _, l := range doc.Links {
				for _, bad := range tt.noLinksOf {
					if strings.Contains(l, bad) {
						t.Errorf("unexpected link %q", l)
					}
				}
			}
			for _, d := range tt.defects {
				if !containsSub(doc.Defects, d) {
					t.Errorf("defects %q lack %q", doc.Defects, d)
				}
			}
			if doc.Truncated {
				t.Errorf("truncated")
			}
		})
	}
}

func containsSub(list []string, sub string) bool {
	for _, v := range list {
		if strings.Contains(v, sub) {
			return true
		}
	}
	return false
}

func TestOfficeLimits(t *testing.T) {
	ctx := context.Background()

	// A member inflating far beyond the limit is cut, not read whole.
	bomb := makeZip(t, member{"word/document.xml",
		`<w:document><w:body><w:p><w:r><w:t>start ` + strings.Repeat("A", 4<<20) + `</w:t></w:r></w:p></w:body></w:document>`})
	if len(bomb) > 64<<10 {
		t.Fatalf("bomb fixture is %d bytes", len(bomb))
	}
	ext := New(Config{Limits: Limits{MaxMemberSize: 1 << 20, MaxText: 8 << 20}})
	doc, err := ext.Extract(ctx, mimeDOCX, bomb)
	if err != nil {
		t.Fatalf("bomb: %v", err)
	}
	if !doc.Truncated || !containsSub(doc.Defects, "larger than") {
		t.Errorf("bomb: truncated=%v defects=%q", doc.Truncated, doc.Defects)
	}
	if len(doc.Text) > 1<<20 {
		t.Errorf("bomb: %d bytes of text", len(doc.Text))
	}

	// The text budget cuts on a rune boundary.
	ext = New(Config{Limits: Limits{MaxText: 10}})
	doc, err = ext.Extract(ctx, mimeDOCX, makeZip(t, member{"word/document.xml",
		`<w:document><w:body><w:p><w:r><w:t>ééééééééééé</w:t></w:r></w:p></w:body></w:document>`}))
	if err != nil {
		t.Fatal(err)
	}
	if doc.Text != "ééééé" || !doc.Truncated {
		t.Errorf("budget: text %q truncated %v", doc.Text, doc.Truncated)
	}

	// Too many parts: only MaxMembers are read.
	var many []member
	for i := 1; i <= 20; i++ {
		many = append(many, member{fmt.Sprintf("ppt/slides/slide%d.xml", i), fmt.Sprintf(`<p:sld><a:p><a:r><a:t>s%d</a:t></a:r></a:p></p:sld>`, i)})
	}
	ext = New(Config{Limits: Limits{MaxMembers: 5}})
	doc, err = ext.Extract(ctx, mimePPTX, makeZip(t, many...))
	if err != nil {
		t.Fatal(err)
	}
	if doc.Text != "s1\n\ns2\n\ns3\n\ns4\n\ns5" || !doc.Truncated {
		t.Errorf("members: text %q truncated %v", doc.Text, doc.Truncated)
	}

	// Not a zip, or a zip without document parts.
	if _, err := ext.Extract(ctx, mimeDOCX, []byte("PK\x03\x04garbage")); err == nil {
		t.Errorf("garbage: no error")
	}
	if _, err := ext.Extract(ctx, mimeDOCX, makeZip(t, member{"a.txt", "x"})); err == nil {
		t.Errorf("no parts: no error")
	}

	// Broken XML keeps what came before the break.
	doc, err = ext.Extract(ctx, mimeDOCX, makeZip(t, member{"word/document.xml",
		`<w:document><w:body><w:p><w:r><w:t>kept</w:t></w:r></w:p><w:p><w:r><w:t>also <<<`}))
	if err != nil || !strings.Contains(doc.Text, "kept") {
		t.Errorf("broken xml: %q, %v", doc.Text, err)
	}
}

func TestFieldLinks(t *testing.T) {
	tests := []struct {
		instr string
		want  []string
	}{
		{` HYPERLINK "https://a.example/" \o "tip"`, []string{"https://a.example/"}},
		{`HYPERLINK https://b.example/x`, []string{"https://b.example/x"}},
		{`HYPERLINK \l "_Toc123"`, nil},
		{`hyperlink \m "https://c.example/"`, []string{"https://c.example/"}},
		{`INCLUDEPICTURE "http://d.example/p.png" \* MERGEFORMATINET`, []string{"http://d.example/p.png"}},
		{`PAGE \* MERGEFORMAT`, nil},
		{`HYPERLINK "unterminated`, []string{"unterminated"}},
		{``, nil},
	}
	for _, tt := range tests {
		b := newBuilder(Limits{}.withDefaults())
		fieldLinks(tt.instr, b)
		if fmt.Sprint(b.links) != fmt.Sprint(tt.want) && !(len(b.links) == 0 && len(tt.want) == 0) {
			t.Errorf("fieldLinks(%q) = %q, want %q", tt.instr, b.links, tt.want)
		}
	}
}

func BenchmarkDOCX(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`<w:document ` + wordNS + `><w:body>`)
	for sb.Len() < 2<<20 {
		sb.WriteString(`<w:p><w:pPr><w:pStyle w:val="Normal"/></w:pPr><w:r><w:rPr><w:b/></w:rPr>` +
			`<w:t xml:space="preserve">The quick brown fox jumps over the lazy dog </w:t></w:r>` +
			`<w:r><w:t>and pays the invoice at once.</w:t></w:r></w:p>`)
	}
	sb.WriteString(`</w:body></w:document>`)
	data := makeZip(b, member{"word/document.xml", sb.String()})
	ext := New(Config{Limits: Limits{MaxText: 64 << 20}})
	b.SetBytes(int64(sb.Len()))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := ext.Extract(context.Background(), mimeDOCX, data); err != nil {
			b.Fatal(err)
		}
	}
}
