package phish

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailsift/mailsift/internal/urls"
)

// newsletter returns a large HTML newsletter with many tracked links.
func newsletter() *Input {
	var b strings.Builder
	b.WriteString(`<html><body><a href="https://news.us5.list-manage.com/track/click?u=1&id=0">View in browser</a>`)
	for i := 0; i < 60; i++ {
		fmt.Fprintf(&b, `<h2>Story %d</h2><p>%s</p><a href="https://click.news%d.example/r?u=https%%3A%%2F%%2Fwww.site%d.example%%2Fstory">www.site%d.example</a><img src="https://cdn.news.example/i%d.png">`,
			i, strings.Repeat("Lorem ipsum dolor sit amet, consectetur adipiscing elit. ", 8), i%7, i, i, i)
	}
	b.WriteString(`<form action="https://news.example/search"><input name=q></form></body></html>`)
	doc := b.String()
	return &Input{
		Subject:    "Weekly news",
		From:       []Address{{Name: "News Weekly", Address: "news@news.example"}},
		ReturnPath: "bounce@mcsv.net",
		BodyText:   visibleText(doc),
		HTML:       []string{doc},
		BodyURLs:   urls.FromHTML(doc),
	}
}

func benchLists() *Lists {
	l := &Lists{Targets: map[string][]Rule{}}
	for i := 0; i < 100; i++ {
		l.Subjects = append(l.Subjects, Rule{fmt.Sprintf("subjectword%d", i)})
		name := fmt.Sprintf("Bank %d", i%20)
		l.Targets[name] = append(l.Targets[name], Rule{fmt.Sprintf("bank%d", i), "account"})
	}
	return l
}

func BenchmarkCheckNewsletter(b *testing.B) {
	in, lists := newsletter(), benchLists()
	b.SetBytes(int64(len(in.HTML[0]) + len(in.BodyText)))
	b.ReportAllocs()
	for b.Loop() {
		Check(in, lists, nil)
	}
}

func BenchmarkCheckFixtures(b *testing.B) {
	files, err := filepath.Glob(filepath.Join("..", "..", "testdata", "phish", "*.eml"))
	if err != nil || len(files) == 0 {
		b.Fatal("no fixtures", err)
	}
	var inputs []*Input
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		inputs = append(inputs, inputFromMail(raw))
	}
	lists := benchLists()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		Check(inputs[i%len(inputs)], lists, nil)
		i++
	}
}

func BenchmarkKeywordScan(b *testing.B) {
	m := benchLists().compiled()
	text := strings.Repeat("The quick brown fox jumps over the lazy dog; bank account 1234. ", 1000)
	hits := m.newHits()
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		clear(hits)
		m.scan(text, hits)
	}
}
