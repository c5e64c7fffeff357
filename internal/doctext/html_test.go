package doctext

import (
	"context"
	"strings"
	"testing"
)

func TestHTML(t *testing.T) {
	tests := []struct {
		name  string
		mime  string
		in    string
		want  string
		links []string
	}{
		{
			name: "visible text and links",
			mime: "text/html",
			in: `<!DOCTYPE html><html><head><title>Account  notice</title>
<meta http-equiv="Refresh" content="5; URL='https://refresh.example/next'">
<style>body { color: red }</style><script>var hidden = "not text";</script></head>
<body background="https://bg.example/b.png">
<p>Dear   user,<br>your mailbox is <b>full</b>.</p>
<a href="https://phish.example/login?u=1&amp;v=2">Click&nbsp;here</a>
<img src="https://track.example/pixel.gif" alt="x">
<img src="data:image/png;base64,AAAA"><a href="#top">top</a><a href="cid:part1">cid</a>
<form action="https://collect.example/post"><input type="submit" formaction="https://collect.example/alt"></form>
<table><tr><td>A</td><td>B</td></tr><tr><td>C</td><td>D</td></tr></table>
<template><p>template text</p></template>
</body></html>`,
			want: "Account notice\nDear user,\nyour mailbox is full.\nClick\u00a0here topcid\nA\tB\nC\tD",
			links: []string{
				"https://refresh.example/next", "https://bg.example/b.png",
				"https://phish.example/login?u=1&v=2", "https://track.example/pixel.gif",
				"https://collect.example/post", "https://collect.example/alt",
			},
		},
		{
			name: "legacy charset from meta",
			mime: "text/html; charset=whatever",
			in:   "<html><head><meta charset=\"windows-1251\"></head><body>\xcf\xf0\xe8\xe2\xe5\xf2</body></html>",
			want: "Привет",
		},
		{
			name:  "xhtml",
			mime:  "application/xhtml+xml",
			in:    `<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body><p>x<a href="http://x.example/">link</a></p></body></html>`,
			want:  "xlink",
			links: []string{"http://x.example/"},
		},
		{
			name: "unclosed script hides the rest",
			mime: "text/html",
			in:   `<p>shown</p><script>document.write("<p>not shown</p>")`,
			want: "shown",
		},
		{
			name: "garbage",
			mime: "text/html",
			in:   "<<<>>><a href=>\x00\xff</",
			want: "<<<>>>\x00ÿ</",
		},
	}
	ext := New(Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := ext.Extract(context.Background(), tt.mime, []byte(tt.in))
			if err != nil {
				t.Fatalf("Extract: %v", err)
			}
			if doc.Text != tt.want {
				t.Errorf("text\n got %q\nwant %q", doc.Text, tt.want)
			}
			if strings.Join(doc.Links, " ") != strings.Join(tt.links, " ") {
				t.Errorf("links\n got %q\nwant %q", doc.Links, tt.links)
			}
		})
	}
}
