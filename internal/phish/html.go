package phish

import (
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// maxHTML bounds the bytes of one HTML document that are scanned.
const maxHTML = 2 << 20

// htmlFacts is what one HTML document shows about forms, inline
// resources and code.
type htmlFacts struct {
	forms       []form
	looseInputs int // password fields outside any form
	dataURIs    []string
	scriptLinks int
	refresh     string   // meta refresh target
	code        []string // signs of redirecting, decoding or posting code
	images      int
	inline      int // images from cid: or data:image
}

type form struct {
	action    string
	inputs    int // fields a user types into
	passwords int
}

func (f *htmlFacts) passwords() int {
	n := f.looseInputs
	for _, fm := range f.forms {
		n += fm.passwords
	}
	return n
}

// codeSigns are lower-case fragments of script that redirect the
// browser, decode hidden content or post what was typed.
var codeSigns = []string{
	"window.location", "location.href", "location.replace", "location.assign",
	"document.location", "top.location", "atob(", "unescape(", "fromcharcode",
	"eval(", "document.write(", "fetch(", "xmlhttprequest", "$.ajax", "$.post",
	"api.telegram.org", "sendbeacon", "window.open(", ".submit()", "decodeuricomponent(",
	"crypto-js", "cryptojs",
}

// scanHTML reads one document with the tokenizer of golang.org/x/net/html.
func scanHTML(doc string) htmlFacts {
	var f htmlFacts
	if len(doc) > maxHTML {
		doc = doc[:maxHTML]
	}
	z := html.NewTokenizer(strings.NewReader(doc))
	inForm := -1
	inScript := false
	var script strings.Builder
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			if inScript {
				f.addCode(script.String())
			}
			return f
		case html.TextToken:
			if inScript && script.Len() < 256<<10 {
				script.Write(z.Text())
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			switch atom.Lookup(name) {
			case atom.Form:
				inForm = -1
			case atom.Script:
				if inScript {
					f.addCode(script.String())
					script.Reset()
					inScript = false
				}
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			a := atom.Lookup(name)
			var attrs attrList
			for hasAttr {
				k, v, more := z.TagAttr()
				attrs = append(attrs, html.Attribute{Key: string(k), Val: string(v)})
				if len(k) > 2 && k[0] == 'o' && k[1] == 'n' && len(v) > 0 {
					f.addCode(string(v))
				}
				hasAttr = more
			}
			switch a {
			case atom.Form:
				f.forms = append(f.forms, form{action: strings.TrimSpace(attrs.get("action"))})
				inForm = len(f.forms) - 1
				f.checkURI(attrs.get("action"))
			case atom.Input, atom.Textarea:
				typ := strings.ToLower(strings.TrimSpace(attrs.get("type")))
				switch {
				case typ == "password":
					if inForm >= 0 {
						f.forms[inForm].passwords++
						f.forms[inForm].inputs++
					} else {
						f.looseInputs++
					}
				case typ == "hidden", typ == "submit", typ == "button", typ == "image", typ == "reset",
					typ == "checkbox", typ == "radio", typ == "file", typ == "range", typ == "color":
				default:
					if inForm >= 0 {
						f.forms[inForm].inputs++
					}
				}
				f.checkURI(attrs.get("formaction"))
			case atom.Button:
				f.checkURI(attrs.get("formaction"))
			case atom.A, atom.Area:
				href := strings.TrimSpace(attrs.get("href"))
				if hasScheme(href, "javascript") || hasScheme(href, "vbscript") {
					f.scriptLinks++
				}
				f.checkURI(href)
			case atom.Iframe, atom.Embed, atom.Frame:
				f.checkURI(attrs.get("src"))
			case atom.Object:
				f.checkURI(attrs.get("data"))
			case atom.Img:
				f.images++
				src := strings.ToLower(strings.TrimSpace(attrs.get("src")))
				if strings.HasPrefix(src, "cid:") || strings.HasPrefix(src, "data:image") {
					f.inline++
				}
			case atom.Meta:
				if strings.EqualFold(strings.TrimSpace(attrs.get("http-equiv")), "refresh") {
					if t := refreshTarget(attrs.get("content")); t != "" {
						f.refresh = t
						f.checkURI(t)
					}
				}
			case atom.Script:
				if tt == html.StartTagToken {
					inScript = true
					script.Reset()
				}
				if kitScript(attrs.get("src")) {
					f.appendCode("external script")
				}
			}
		}
	}
}

// checkURI records data: URIs that carry a document or a program, the
// trick that puts a whole phishing page into one link.
func (f *htmlFacts) checkURI(v string) {
	v = strings.TrimSpace(v)
	if !hasScheme(v, "data") {
		return
	}
	mt := strings.ToLower(strings.TrimSpace(v[len("data:"):]))
	if i := strings.IndexAny(mt, ";,"); i >= 0 {
		mt = mt[:i]
	}
	if strings.HasPrefix(mt, "image/") && mt != "image/svg+xml" {
		return
	}
	if len(f.dataURIs) < 4 {
		if mt == "" {
			mt = "text/plain"
		}
		f.dataURIs = append(f.dataURIs, "data:"+mt)
	}
}

func (f *htmlFacts) addCode(s string) {
	if len(f.code) >= 3 || s == "" {
		return
	}
	low := strings.ToLower(s)
	for _, sign := range codeSigns {
		if strings.Contains(low, sign) {
			f.appendCode(strings.TrimSuffix(sign, "("))
		}
	}
}

func (f *htmlFacts) appendCode(s string) {
	if len(f.code) >= 3 {
		return
	}
	for _, c := range f.code {
		if c == s {
			return
		}
	}
	f.code = append(f.code, s)
}

// kitScript reports a remote script that phishing pages load to post or
// decrypt what is typed: jQuery, CryptoJS, the Telegram bot API.
func kitScript(src string) bool {
	src = strings.ToLower(src)
	if !strings.Contains(src, "://") {
		return false
	}
	for _, s := range []string{"telegram", "jquery", "crypto-js", "cryptojs"} {
		if strings.Contains(src, s) {
			return true
		}
	}
	return false
}

// refreshTarget returns the URL of a meta refresh content value such as
// "0; url='http://example.com/'".
func refreshTarget(c string) string {
	i := strings.IndexAny(c, ";,")
	if i < 0 {
		return ""
	}
	c = strings.TrimSpace(c[i+1:])
	if len(c) >= 3 && strings.EqualFold(c[:3], "url") {
		rest := strings.TrimSpace(c[3:])
		if strings.HasPrefix(rest, "=") {
			c = strings.TrimSpace(rest[1:])
		}
	}
	return strings.Trim(c, `'" `)
}

func hasScheme(v, scheme string) bool {
	return len(v) > len(scheme) && v[len(scheme)] == ':' && strings.EqualFold(v[:len(scheme)], scheme)
}

type attrList []html.Attribute

// get returns the value of the first attribute named key.
func (l attrList) get(key string) string {
	for _, a := range l {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}
