package doctext

import (
	"context"
	"testing"
	"unicode/utf8"
)

func FuzzRTF(f *testing.F) {
	f.Add([]byte(`{\rtf1\ansi\ansicpg1251{\fonttbl{\f0\fcharset204 X;}}\f0 \'cf\u1055?{\field{\*\fldinst HYPERLINK "http://a"}{\fldrslt b}}\par}`))
	f.Add([]byte(`{\rtf1{\pict\bin4 {{{{}\uc2\u-10179\'41\'42{\*\template x}}`))
	f.Add([]byte(`}}}{{{\'zz\u\uc-5\bin-3\f99999999999999999999`))
	ext := New(Config{Limits: Limits{MaxText: 4096}})
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := ext.Extract(context.Background(), "text/rtf", data)
		if err != nil {
			t.Fatalf("rtf reader returned an error: %v", err)
		}
		if len(doc.Text) > 4096 || !utf8.ValidString(doc.Text) {
			t.Fatalf("text of %d bytes, valid %v", len(doc.Text), utf8.ValidString(doc.Text))
		}
	})
}

func FuzzOffice(f *testing.F) {
	f.Add(docxFixture(f))
	f.Add(xlsxFixture(f))
	f.Add(pptxFixture(f))
	f.Add(odtFixture(f))
	ext := New(Config{Limits: Limits{MaxText: 4096, MaxMemberSize: 1 << 20, MaxInflate: 4 << 20}})
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, _ := ext.Extract(context.Background(), mimeDOCX, data)
		if len(doc.Text) > 4096 || !utf8.ValidString(doc.Text) {
			t.Fatalf("text of %d bytes, valid %v", len(doc.Text), utf8.ValidString(doc.Text))
		}
	})
}

func FuzzHTML(f *testing.F) {
	f.Add([]byte(`<html><meta http-equiv=refresh content="0;url=x"><p>a<a href=b>c</a><script>d`))
	ext := New(Config{Limits: Limits{MaxText: 4096}})
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, _ := ext.Extract(context.Background(), "text/html", data)
		if len(doc.Text) > 4096 || !utf8.ValidString(doc.Text) {
			t.Fatalf("text of %d bytes, valid %v", len(doc.Text), utf8.ValidString(doc.Text))
		}
	})
}
