package filter

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/mailsift/mailsift/internal/bayes"
	"github.com/mailsift/mailsift/internal/mail"
	"github.com/mailsift/mailsift/internal/tokendb"
	"github.com/mailsift/mailsift/internal/tokenize"
)

// memStore is a Store over a map, for tests.
type memStore struct {
	totals   bayes.Totals
	words    map[string]bayes.Counts
	features map[string]bayes.Counts
	ftotals  bayes.Totals
	margin   float64
}

var _ Store = (*memStore)(nil)

func (s *memStore) LookupModel(features []string, out []bayes.Counts, hashed []uint32) (tokendb.Evidence, error) {
	for i, f := range features {
		out[i] = s.features[f]
	}
	return tokendb.Evidence{Totals: s.ftotals, Margin: s.margin}, nil
}

func (s *memStore) Lookup(words []string, out []bayes.Counts) (bayes.Totals, error) {
	for i, w := range words {
		out[i] = s.words[w]
	}
	return s.totals, nil
}

// unmark removes the lines Mark added (every line starting with one of
// the field names) and must give back the input.
func unmark(out []byte, names ...string) []byte {
	var b bytes.Buffer
	for len(out) > 0 {
		line := out
		if i := bytes.IndexByte(out, '\n'); i >= 0 {
			line = out[:i+1]
		}
		out = out[len(line):]
		added := false
		for _, n := range names {
			if bytes.HasPrefix(line, []byte(n+": ")) {
				added = true
			}
		}
		if !added {
			b.Write(line)
		}
	}
	return b.Bytes()
}

func TestMark(t *testing.T) {
	fields := []Field{{"X-Spam", "yes; 0.99; click:99 "}, {"X-Attachments", `type="application/zip" `}}
	tests := []struct {
		name, in, want string
	}{
		{"lf", "Subject: a\n\nbody\n", "Subject: a\nX-Spam: yes; 0.99; click:99 \nX-Attachments: type=\"application/zip\" \n\nbody\n"},
		{"crlf kept", "Subject: a\r\n\r\nbody\r\n", "Subject: a\r\nX-Spam: yes; 0.99; click:99 \r\nX-Attachments: type=\"application/zip\" \r\n\r\nbody\r\n"},
		{"empty input", "", "X-Spam: yes; 0.99; click:99 \nX-Attachments: type=\"application/zip\" \n"},
		{"no separator, body follows", "Subject: a\nhello\n", "Subject: a\nX-Spam: yes; 0.99; click:99 \nX-Attachments: type=\"application/zip\" \nhello\n"},
		{"header only without final newline", "Subject: a", "X-Spam: yes; 0.99; click:99 \nX-Attachments: type=\"application/zip\" \nSubject: a"},
		{"garbage", "\x00\x01garbage", "X-Spam: yes; 0.99; click:99 \nX-Attachments: type=\"application/zip\" \n\x00\x01garbage"},
		{"old X-Spam kept", "X-Spam: no\n\nb", "X-Spam: no\nX-Spam: yes; 0.99; click:99 \nX-Attachments: type=\"application/zip\" \n\nb"},
		{"mbox envelope first", "From a@b Mon Jan  1 00:00:00 2024\nSubject: a\n\nb", "From a@b Mon Jan  1 00:00:00 2024\nSubject: a\nX-Spam: yes; 0.99; click:99 \nX-Attachments: type=\"application/zip\" \n\nb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Mark([]byte(tt.in), fields)
			if string(got) != tt.want {
				t.Errorf("Mark(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
			if back := unmark(got, "X-Spam", "X-Attachments"); !bytes.Equal(back, []byte(tt.in)) && !strings.HasPrefix(tt.name, "old") {
				t.Errorf("unmark gave %q", back)
			}
		})
	}
}

func TestMarkSanitises(t *testing.T) {
	got := string(Mark([]byte("S: a\n\nb"), []Field{{"X-Attachments", "name=\"a\r\nBcc: x\" " + strings.Repeat("z", 2000)}}))
	lines := strings.Split(got, "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[1], "X-Attachments: name=\"a  Bcc") || len(lines[1]) > 998 {
		t.Errorf("unsafe header: %q", got[:min(len(got), 120)])
	}
}

// FuzzMark holds mark's promise: whatever the input, the output is the
// input with only the added header lines, every other byte unchanged.
func FuzzMark(f *testing.F) {
	for _, s := range []string{"Subject: a\n\nbody\n", "", "\r\n\r\n", "A: b\r\nc\r\n", "From x\nA: b", "\n", "X-Spam: yes\n\n"} {
		f.Add([]byte(s))
	}
	if b, err := os.ReadFile("../../testdata/corpus/msg1.eml"); err == nil {
		f.Add(b)
	}
	store := &memStore{totals: bayes.Totals{Good: 4, Spam: 4}, words: map[string]bayes.Counts{"free": {Spam: 9}, "meeting": {Good: 7}}}
	fl := &Filter{Classifier: SpamOracle, Params: bayes.DefaultParams(), Tokens: tokenize.DefaultOptions(), Store: store}
	f.Fuzz(func(t *testing.T, raw []byte) {
		in := append([]byte(nil), raw...)
		v, err := fl.Classify(raw)
		if err != nil {
			t.Fatal(err)
		}
		fields := []Field{{"X-Spam", SpamHeader(v.Result, nil)}, {"X-Attachments", v.Attachments}}
		out := Mark(raw, fields)
		if !bytes.Equal(raw, in) {
			t.Fatal("input modified")
		}
		if !isInsertion(out, raw, fields) {
			t.Fatalf("output is not the input plus the header lines:\n in %q\nout %q", raw, out)
		}
	})
}

// isInsertion reports whether out is raw with exactly the lines for fields
// inserted at one place, with LF or CRLF endings.
func isInsertion(out, raw []byte, fields []Field) bool {
	for _, eol := range []string{"\n", "\r\n"} {
		var block []byte
		for _, f := range fields {
			block = append(block, f.Name+": "+headerSafe(f.Value)+eol...)
		}
		if len(out) != len(raw)+len(block) {
			continue
		}
		for at := 0; at <= len(raw); at++ {
			if bytes.Equal(out[at:at+len(block)], block) && bytes.Equal(out[at+len(block):], raw[at:]) {
				return true
			}
			if at < len(raw) && out[at] != raw[at] {
				break // out[:at+1] must equal raw[:at+1] for any later insertion point
			}
		}
	}
	return false
}

func TestAttachmentSummary(t *testing.T) {
	raw := "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain; charset=big5\n\nx\n" +
		"--b\nContent-Type: application/octet-stream; name=\"invoice.exe\"\nContent-Disposition: attachment; filename=\"invoice.exe\"\n\nMZ\n" +
		"--b\nContent-Type: text/plain; charset=ISO-8859-1\n\ny\n" +
		"--b\nContent-Type: image/png\nContent-Disposition: inline; filename=\"=?utf-8?q?b=C3=A9b=C3=A9.png?=\"\n\nz\n--b--\n"
	got := AttachmentSummary(mail.Parse([]byte(raw)))
	want := `cset="big5" type="application/octet-stream" name="invoice.exe" type="image/png" name="bébé.png" `
	if got != want {
		t.Errorf("summary\n got %q\nwant %q", got, want)
	}
	if s := AttachmentSummary(mail.Parse([]byte("Content-Type: text/plain; charset=big5\n\nx"))); s != "" {
		t.Errorf("top level reported: %q", s)
	}
}

func TestHash(t *testing.T) {
	plain := []byte("Subject: a\nX-Other: 1\n\nbody\n")
	same := [][]byte{
		[]byte("From x@y Mon Jan  1 00:00:00 2024\nSubject: a\nX-Other: 1\n\nbody\n"),
		[]byte("Subject: a\r\nX-Other: 1\r\n\r\nbody\r\n"),
		[]byte("Subject: a\nX-Spam: yes; 0.99; free:99\n  more:99\nX-Other: 1\nX-Attachments: x\n\nbody\n"),
	}
	h := Hash(plain, "X-Spam", "X-Attachments")
	for _, s := range same {
		if Hash(s, "X-Spam", "X-Attachments") != h {
			t.Errorf("hash differs for %q", s)
		}
	}
	for _, d := range [][]byte{[]byte("Subject: a\nX-Other: 1\n\nbody!\n"), []byte("Subject: a\nX-Other: 2\n\nbody\n"), []byte("Subject: a\nX-Other: 1\n\nX-Spam: in the body\nbody\n")} {
		if Hash(d, "X-Spam", "X-Attachments") == h {
			t.Errorf("hash equal for %q", d)
		}
	}
}

func TestClassify(t *testing.T) {
	store := &memStore{totals: bayes.Totals{Good: 10, Spam: 10}, words: map[string]bayes.Counts{}}
	for _, w := range []string{"free", "money", "click", "offer", "claim", "now"} {
		store.words[w] = bayes.Counts{Spam: 10}
	}
	fl := &Filter{Classifier: SpamOracle, Params: bayes.DefaultParams(), Tokens: tokenize.DefaultOptions(), Store: store}
	v, err := fl.Classify([]byte("From: Promo <p@x.example>\nSubject: FREE money\n\nclick now to claim the offer\n"))
	if err != nil {
		t.Fatal(err)
	}
	if v.Verdict != bayes.Spam || v.From != "Promo <p@x.example>" || v.Subject != "FREE money" || len(v.Words) != 6 {
		t.Errorf("got %+v", v)
	}
	got := SpamHeader(v.Result, nil)
	if !strings.HasPrefix(got, "yes; 0.99; ") && !strings.HasPrefix(got, "yes; 1.00; ") {
		t.Errorf("header %q", got)
	}
}
