package doctext

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
	"golang.org/x/net/html/charset"
	"golang.org/x/text/transform"
)

// htmlBlocks end a line of text.
var htmlBlocks = map[atom.Atom]bool{
	atom.P: true, atom.Div: true, atom.Li: true, atom.Tr: true,
	atom.H1: true, atom.H2: true, atom.H3: true, atom.H4: true, atom.H5: true,
	atom.H6: true, atom.Table: true, atom.Ul: true, atom.Ol: true, atom.Dl: true,
	atom.Dt: true, atom.Dd: true, atom.Section: true, atom.Article: true,
	atom.Header: true, atom.Footer: true, atom.Blockquote: true, atom.Pre: true,
	atom.Hr: true, atom.Form: true, atom.Title: true, atom.Address: true,
	atom.Nav: true, atom.Aside: true, atom.Main: true, atom.Fieldset: true,
	atom.Figcaption: true, atom.Caption: true, atom.Option: true, atom.Center: true,
}

// htmlHidden hold no visible text.
var htmlHidden = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Template: true,
}

// htmlLinkAttrs are the attributes that name a resource.
var htmlLinkAttrs = map[string]bool{
	"href": true, "src": true, "action": true, "formaction": true, "data": true,
	"background": true, "poster": true, "cite": true, "longdesc": true,
	"ping": true, "manifest": true, "codebase": true, "archive": true,
}

// readHTML extracts the visible text of an HTML or XHTML document and the
// targets of its links, images, frames, forms and meta refresh. The charset
// comes from a byte order mark, the charset parameter of contentType, a meta
// element, or a guess, in that order.
func readHTML(ctx context.Context, data []byte, contentType string, b *builder) error {
	var r io.Reader = bytes.NewReader(data)
	if enc, name, _ := charset.DetermineEncoding(data, contentType); name != "utf-8" && enc != nil {
		r = transform.NewReader(r, enc.NewDecoder())
	}
	z := html.NewTokenizer(r)
	z.SetMaxBuf(8 << 20)
	hidden := 0
	for n := 0; ; n++ {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("doctext: html: %w", err)
			}
		}
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			if err := z.Err(); err != nil && !errors.Is(err, io.EOF) {
				b.defect("html: %v", err)
			}
			return nil
		case html.TextToken:
			if hidden == 0 {
				b.words(string(z.Text()))
			}
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			tok := z.Token()
			if tt != html.EndTagToken {
				htmlLinks(tok, b)
			}
			if htmlHidden[tok.DataAtom] {
				switch tt {
				case html.StartTagToken:
					hidden++
				case html.EndTagToken:
					hidden = max(0, hidden-1)
				}
				continue
			}
			switch {
			case tok.DataAtom == atom.Br:
				b.newline()
			case htmlBlocks[tok.DataAtom]:
				b.lineBreak()
			case tok.DataAtom == atom.Td || tok.DataAtom == atom.Th:
				b.tab()
			}
		}
	}
}

func htmlLinks(tok html.Token, b *builder) {
	var equiv, content string
	for _, a := range tok.Attr {
		key := strings.ToLower(a.Key)
		switch {
		case htmlLinkAttrs[key]:
			v := strings.TrimSpace(a.Val)
			if v == "" || v[0] == '#' || hasScheme(v, "data") || hasScheme(v, "cid") {
				continue
			}
			b.link(v)
		case key == "http-equiv":
			equiv = a.Val
		case key == "content":
			content = a.Val
		}
	}
	if tok.DataAtom == atom.Meta && strings.EqualFold(strings.TrimSpace(equiv), "refresh") {
		// content="5; url=https://example.com/"
		if i := strings.Index(strings.ToLower(content), "url="); i >= 0 {
			b.link(strings.Trim(strings.TrimSpace(content[i+4:]), `'"`))
		}
	}
}

func hasScheme(v, scheme string) bool {
	return len(v) > len(scheme) && v[len(scheme)] == ':' && strings.EqualFold(v[:len(scheme)], scheme)
}
