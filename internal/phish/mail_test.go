package phish

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailsift/mailsift/internal/attach"
	"github.com/mailsift/mailsift/internal/mail"
	"github.com/mailsift/mailsift/internal/mailbox"
	"github.com/mailsift/mailsift/internal/urls"
	"github.com/mailsift/mailsift/report"
	"golang.org/x/net/html"
)

// inputFromMail builds a minimal Input from a raw message, as the
// analysis stage does: bodies, URLs, attachments and archive members.
func inputFromMail(raw []byte) *Input {
	m := mail.Parse(raw)
	h := m.Header()
	in := &Input{
		Subject:        h.Text("Subject"),
		ReturnPath:     strings.Trim(strings.TrimSpace(h.Get("Return-Path")), "<>"),
		ListID:         h.Text("List-Id"),
		Authentication: strings.Join(h.Values("Authentication-Results"), "\n"),
	}
	addrs := func(name string) []Address {
		list, _ := mail.ParseAddressList(h.Get(name))
		out := make([]Address, len(list))
		for i, a := range list {
			out[i] = Address{Name: a.Name, Address: a.Address}
		}
		return out
	}
	in.From, in.ReplyTo, in.To = addrs("From"), addrs("Reply-To"), addrs("To")
	if s := addrs("Sender"); len(s) > 0 {
		in.Sender = s[0].Address
	}
	body, att := urls.NewSet(urls.Limits{}), urls.NewSet(urls.Limits{})
	var texts []string
	m.Root.Walk(func(p *mail.Part) bool {
		if len(p.Parts) > 0 || p.Embedded != nil || strings.HasPrefix(p.MediaType, "multipart/") {
			return true
		}
		inline := p.Disposition != "attachment" && p.Filename == "" && strings.HasPrefix(p.MediaType, "text/")
		if inline {
			text, _ := p.Text()
			if p.MediaType == "text/html" {
				in.HTML = append(in.HTML, text)
				body.AddHTML(text)
				texts = append(texts, visibleText(text))
			} else {
				body.AddText(text, urls.SourceText)
				texts = append(texts, text)
			}
			return true
		}
		data, _ := p.Decoded()
		f := attach.Analyze(context.Background(), p.Filename, p.MediaType, data, attach.Options{})
		f.Walk(func(x *attach.Facts) {
			a := Attachment{
				Filename: x.Filename, Path: x.Path, SniffedType: x.SniffedType, DeclaredType: x.DeclaredType,
				Executable: x.Executable, DoubleExtension: x.DoubleExtension, TypeMismatch: x.TypeMismatch,
				Encrypted: x.Encrypted,
			}
			if x.Path == "" && (htmlExt[extension(x.Filename)] || strings.Contains(x.SniffedType, "html") || strings.Contains(x.SniffedType, "svg")) {
				a.HTML = string(data)
				a.Text = visibleText(a.HTML)
				att.AddHTML(a.HTML)
			} else if x.Path == "" && strings.HasPrefix(x.SniffedType, "text/plain") {
				a.Text = string(data)
				att.AddText(a.Text, urls.SourceText)
			}
			in.Attachments = append(in.Attachments, a)
		})
		return true
	})
	in.BodyText = strings.Join(texts, "\n")
	in.BodyURLs, in.AttachmentURLs = body.URLs(), att.URLs()
	return in
}

// visibleText returns the text of an HTML document outside scripts and
// styles.
func visibleText(doc string) string {
	var b strings.Builder
	z := html.NewTokenizer(strings.NewReader(doc))
	skip := false
	for {
		switch z.Next() {
		case html.ErrorToken:
			return b.String()
		case html.StartTagToken:
			name, _ := z.TagName()
			skip = string(name) == "script" || string(name) == "style"
		case html.EndTagToken:
			skip = false
			b.WriteByte(' ')
		case html.TextToken:
			if !skip {
				b.Write(z.Text())
			}
		}
	}
}

// eachMail calls fn for every message of the given mailbox paths.
func eachMail(t testing.TB, paths []string, fn func(origin string, raw []byte)) {
	t.Helper()
	r := mailbox.Open(paths, nil)
	defer func() {
		if err := r.Close(); err != nil {
			t.Error(err)
		}
	}()
	for {
		msg, err := r.Next()
		if err == io.EOF {
			return
		}
		var bad *mailbox.MessageError
		if errors.As(err, &bad) {
			t.Errorf("read: %v", err)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		fn(msg.Origin, msg.Raw)
	}
}

func TestFixturesArePhishing(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "testdata", "phish", "*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 25 {
		t.Fatalf("%d fixtures, want at least 25", len(files))
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		p := Check(inputFromMail(raw), nil, nil)
		if !p.Verdict {
			t.Errorf("%s: verdict false, weight %.2f, findings %+v", filepath.Base(f), p.Weight, p.Findings)
		} else if testing.Verbose() {
			t.Logf("%s: %.2f %v", filepath.Base(f), p.Weight, names(p.Findings))
		}
	}
}

func TestCorpusHamIsNotPhishing(t *testing.T) {
	box := filepath.Join("..", "..", "testdata", "corpus", "ham.mbox")
	n := 0
	eachMail(t, []string{box}, func(origin string, raw []byte) {
		n++
		if p := Check(inputFromMail(raw), nil, nil); p.Verdict || len(p.Findings) > 0 {
			t.Errorf("%s: weight %.2f, findings %+v", origin, p.Weight, p.Findings)
		}
	})
	if n == 0 {
		t.Fatal("no ham read")
	}
}

func names(fs []report.Finding) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Name
	}
	return out
}
