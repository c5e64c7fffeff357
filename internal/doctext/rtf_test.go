package doctext

import (
	"context"
	"strings"
	"testing"
)

func TestRTF(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    string
		links   []string
		defects []string
	}{
		{
			name: "plain",
			in:   `{\rtf1\ansi\deff0{\fonttbl{\f0 Times New Roman;}}\f0\fs24 Hello\par World}`,
			want: "Hello\nWorld",
		},
		{
			name: "skipped destinations",
			in: `{\rtf1{\fonttbl{\f0\fswiss Arial;}}{\colortbl;\red255\green0\blue0;}` +
				`{\stylesheet{\s0 Normal;}}{\info{\title Secret title}{\author Mallory}}` +
				`{\*\generator Riched20;}{\*\unknowndest hidden}` +
				`{\pict\wmetafile8 0102030405}{\object{\*\objdata 01050000}{\result visible result}}` +
				`Body text\par}`,
			want: "visible resultBody text",
		},
		{
			name: "hex escapes with ansicpg",
			in:   `{\rtf1\ansi\ansicpg1251 \'cf\'f0\'e8\'e2\'e5\'f2 caf\'e9}`,
			want: "Привет cafй",
		},
		{
			name: "font charsets",
			in: `{\rtf1\ansi\ansicpg1252{\fonttbl{\f0\froman\fcharset0 Times;}{\f1\fnil\fcharset204 Arial Cyr;}` +
				`{\f2\fnil\fcharset128 MS Mincho;}}\f0 caf\'e9 \f1\'c4\'e0 \f2\'82\'a0\'82\'a2\plain  caf\'e9}`,
			want: "café Да あい café",
		},
		{
			name: "unicode with fallback",
			in:   `{\rtf1\uc1 \u1055?\u1088?\u1080?\uc2 \u26085\'93\'fa\uc0 \u-10179\u-8704 !}`,
			want: "При日😀!",
		},
		{
			name: "unicode fallback ends at group",
			in:   `{\rtf1\uc3{\u8364}abc}`,
			want: "€abc",
		},
		{
			name:  "hyperlink field",
			in:    `{\rtf1{\field{\*\fldinst{HYPERLINK "https://rtf.example/login?a=1" \\o "tip"}}{\fldrslt{\ul Sign in}}}\par}`,
			want:  "Sign in",
			links: []string{"https://rtf.example/login?a=1"},
		},
		{
			name:  "field with hex-escaped url and local anchor",
			in:    `{\rtf1{\field{\*\fldinst HYPERLINK "http://x.example/\'7euser"}{\fldrslt go}}{\field{\*\fldinst HYPERLINK \\l "top"}{\fldrslt up}}}`,
			want:  "goup",
			links: []string{"http://x.example/~user"},
		},
		{
			name:    "remote template",
			in:      `{\rtf1{\*\template http://evil.example/t.dot}text}`,
			want:    "text",
			links:   []string{"http://evil.example/t.dot"},
			defects: []string{"attached template"},
		},
		{
			name: "binary data skipped",
			in:   "{\\rtf1 a{\\pict\\bin5 {}}\\}b}c}",
			want: "ac",
		},
		{
			name: "bin outside a skipped group",
			in:   "{\\rtf1 a\\bin3 x}yb}",
			want: "ab",
		},
		{
			name: "symbols and special words",
			in:   `{\rtf1 a\~b\_c\-d\{\}\\\emdash\endash\bullet\lquote\rquote\ldblquote\rdblquote\tab e\line f\cell g}`,
			want: "a b-cd{}\\—–•‘’“”\te\nf\tg",
		},
		{
			name: "table",
			in:   `{\rtf1\trowd\cellx1000\cellx2000\intbl A\cell B\cell\row\intbl C\cell D\cell\row}`,
			want: "A\tB\nC\tD",
		},
		{
			name:    "unbalanced and unterminated",
			in:      `{\rtf1 one}}two{{three`,
			want:    "onetwothree",
			defects: []string{"unbalanced", "not closed"},
		},
		{
			name:    "no header",
			in:      `just text \par more`,
			want:    "just text\nmore",
			defects: []string{"no {\\rtf header"},
		},
		{
			name: "destination outside groups is ignored",
			in:   `\fonttbl\colortbl visible`,
			want: "visible",
		},
		{
			name: "truncated escapes",
			in:   `{\rtf1 ok\'4`,
			want: "ok",
		},
		{
			name: "crlf ignored, escaped newline is a paragraph",
			in:   "{\\rtf1 a\r\nb\\\nc}",
			want: "ab\nc",
		},
	}
	ext := New(Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := ext.Extract(context.Background(), "text/rtf", []byte(tt.in))
			if err != nil && tt.want != "" {
				t.Fatalf("Extract: %v", err)
			}
			if doc.Text != tt.want {
				t.Errorf("text\n got %q\nwant %q", doc.Text, tt.want)
			}
			if strings.Join(doc.Links, " ") != strings.Join(tt.links, " ") {
				t.Errorf("links %q, want %q", doc.Links, tt.links)
			}
			for _, d := range tt.defects {
				if !containsSub(doc.Defects, d) {
					t.Errorf("defects %q lack %q", doc.Defects, d)
				}
			}
		})
	}
}

func TestRTFDeepNesting(t *testing.T) {
	in := `{\rtf1 start` + strings.Repeat("{", 100000) + "deep" + strings.Repeat("}", 100000) + ` end}`
	doc, err := New(Config{}).Extract(context.Background(), "application/rtf", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if doc.Text != "start end" {
		t.Errorf("text %q", doc.Text)
	}
	if !containsSub(doc.Defects, "nested deeper") {
		t.Errorf("defects %q", doc.Defects)
	}
}
