package urls

import (
	"fmt"
	"strings"
	"testing"

	"mvdan.cc/xurls/v2"
)

// body builds a mail-like text of about n bytes: prose with a URL every
// few lines, some www. links and the odd defanged one.
func body(n int, html bool) string {
	words := strings.Fields("dear customer your account statement is ready please review the attached invoice " +
		"and confirm the payment details before friday otherwise the service will be suspended regards " +
		"support team the quick brown fox jumps over the lazy dog while www is not a link here")
	var b strings.Builder
	if html {
		b.WriteString("<html><body><table><tr><td>")
	}
	for i := 0; b.Len() < n; i++ {
		b.WriteString(words[i%len(words)])
		b.WriteByte(' ')
		switch {
		case i%97 == 0 && html:
			fmt.Fprintf(&b, `<a href="https://click%d.example.com/track?id=%d&amp;u=x">View online</a> `, i%13, i)
		case i%97 == 0:
			fmt.Fprintf(&b, "https://click%d.example.com/track?id=%d&u=x ", i%13, i)
		case i%211 == 0:
			fmt.Fprintf(&b, "www.shop%d.example.net/offer. ", i%7)
		case i%13 == 0:
			b.WriteString("\n")
			if html {
				b.WriteString("<br>")
			}
		}
	}
	if html {
		b.WriteString("</td></tr></table></body></html>")
	}
	return b.String()
}

func BenchmarkExtract(b *testing.B) {
	for _, size := range []int{20 << 10, 1 << 20} {
		for _, html := range []bool{false, true} {
			doc := body(size, html)
			name := fmt.Sprintf("text/%dKB", size>>10)
			if html {
				name = fmt.Sprintf("html/%dKB", size>>10)
			}
			b.Run(name, func(b *testing.B) {
				b.SetBytes(int64(len(doc)))
				for b.Loop() {
					s := NewSet(Limits{})
					if html {
						s.AddHTML(doc)
					} else {
						s.AddText(doc, SourceText)
					}
					if len(s.URLs()) == 0 {
						b.Fatal("no URLs")
					}
				}
			})
		}
	}
}

// BenchmarkXurlsWhole runs the regular expression over the whole text, as
// a baseline for the anchor windows.
func BenchmarkXurlsWhole(b *testing.B) {
	doc := body(20<<10, false)
	re := xurls.Strict()
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		if len(re.FindAllStringIndex(doc, -1)) == 0 {
			b.Fatal("no URLs")
		}
	}
}

// BenchmarkExtractHostile measures inputs built to exhaust the limits: a
// megabyte of distinct URLs, and of glued anchors without a blank.
func BenchmarkExtractHostile(b *testing.B) {
	var many strings.Builder
	for i := 0; many.Len() < 1<<20; i++ {
		fmt.Fprintf(&many, "http://h%d.example/p?q=%d ", i, i)
	}
	for name, doc := range map[string]string{
		"distinct-urls": many.String(),
		"glued-schemes": strings.Repeat("http://", 1<<20/7),
		"glued-www":     strings.Repeat("www.", 1<<18),
	} {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			for b.Loop() {
				s := NewSet(Limits{})
				s.AddText(doc, SourceText)
				if !s.Truncated() {
					b.Fatal("limits not reached")
				}
			}
		})
	}
}
