package mailbox

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"
)

// openStream returns a Reader over one in-memory stream read like a file.
func openStream(name string, data []byte, opts Options) *Reader {
	r := OpenWithOptions([]string{name}, nil, opts)
	r.todo = []item{{kind: itemStream, path: name, rd: bytes.NewReader(data)}}
	return r
}

// collect reads r to the end. It gives up after limit results so that a
// reader that never ends fails the test instead of hanging it.
func collect(t testing.TB, r *Reader, limit int) (msgs []Message, errs []error) {
	t.Helper()
	for range limit {
		m, err := r.Next()
		if err == io.EOF {
			return msgs, errs
		}
		if err != nil {
			var me *MessageError
			if !errors.As(err, &me) {
				t.Fatalf("Next: unexpected error type %T: %v", err, err)
			}
			errs = append(errs, err)
			continue
		}
		msgs = append(msgs, m)
	}
	t.Fatalf("reader did not end after %d results", limit)
	return nil, nil
}

func TestMboxSplit(t *testing.T) {
	type want struct{ env, raw string }
	tests := []struct {
		name string
		in   string
		want []want
	}{
		{
			name: "two messages LF",
			in:   "From a@b Sat Jan  3 01:05:34 1996\nSubject: 1\n\nbody 1\n\nFrom c@d Sat Jan  3 01:05:35 1996\nSubject: 2\n\nbody 2\n",
			want: []want{
				{"a@b Sat Jan  3 01:05:34 1996", "Subject: 1\n\nbody 1\n"},
				{"c@d Sat Jan  3 01:05:35 1996", "Subject: 2\n\nbody 2\n"},
			},
		},
		{
			name: "two messages CRLF",
			in:   "From a@b Sat Jan  3 01:05:34 1996\r\nSubject: 1\r\n\r\nbody 1\r\n\r\nFrom c@d Sat Jan  3 01:05:35 1996\r\nSubject: 2\r\n\r\nbody 2\r\n",
			want: []want{
				{"a@b Sat Jan  3 01:05:34 1996", "Subject: 1\r\n\r\nbody 1\r\n"},
				{"c@d Sat Jan  3 01:05:35 1996", "Subject: 2\r\n\r\nbody 2\r\n"},
			},
		},
		{
			name: "envelope date formats",
			in: "From MAILER-DAEMON Fri Jul  8 12:08:34 2011\nA: 1\n\n" +
				"From a@b  Thu Aug 22 18:40:32 2002\nB: 2\n\n" +
				"From a@b Mon, 1 Jan 2001 10:00:00 +0000\nC: 3\n",
			want: []want{
				{"MAILER-DAEMON Fri Jul  8 12:08:34 2011", "A: 1\n"},
				{"a@b  Thu Aug 22 18:40:32 2002", "B: 2\n"},
				{"a@b Mon, 1 Jan 2001 10:00:00 +0000", "C: 3\n"},
			},
		},
		{
			name: "mboxrd unescaping",
			in:   "From a@b Sat Jan  3 01:05:34 1996\nS: x\n\n>From here\n>>From there\n>>>From far\n>Fromage\n> From quoted\nX>From no\n",
			want: []want{{"a@b Sat Jan  3 01:05:34 1996", "S: x\n\nFrom here\n>From there\n>>From far\n>Fromage\n> From quoted\nX>From no\n"}},
		},
		{
			name: "escaped separator does not split",
			in:   "From a@b Sat Jan  3 01:05:34 1996\nS: x\n\n>From c@d Sat Jan  3 01:05:34 1996\nmore\n",
			want: []want{{"a@b Sat Jan  3 01:05:34 1996", "S: x\n\nFrom c@d Sat Jan  3 01:05:34 1996\nmore\n"}},
		},
		{
			name: "From line without blank line before does not split",
			in:   "From a@b Sat Jan  3 01:05:34 1996\nS: x\n\nline\nFrom c@d Sat Jan  3 01:05:34 1996\nmore\n",
			want: []want{{"a@b Sat Jan  3 01:05:34 1996", "S: x\n\nline\nFrom c@d Sat Jan  3 01:05:34 1996\nmore\n"}},
		},
		{
			name: "From line without date does not split",
			in:   "From a@b Sat Jan  3 01:05:34 1996\nS: x\n\nFrom here on we go\n\nFrom someone\n\nFrom a1\n\nFrom  \n\nFrom \n",
			want: []want{{"a@b Sat Jan  3 01:05:34 1996", "S: x\n\nFrom here on we go\n\nFrom someone\n\nFrom a1\n\nFrom  \n\nFrom \n"}},
		},
		{
			name: "separator right after separator is body",
			in:   "From a@b Sat Jan  3 01:05:34 1996\nFrom c@d Sat Jan  3 01:05:34 1996\nS: x\n",
			want: []want{{"a@b Sat Jan  3 01:05:34 1996", "From c@d Sat Jan  3 01:05:34 1996\nS: x\n"}},
		},
		{
			name: "only one blank line stripped",
			in:   "From a@b Sat Jan  3 01:05:34 1996\nS: 1\n\nbody\n\n\nFrom c@d Sat Jan  3 01:05:35 1996\r\nS: 2\r\n\r\n\r\nFrom e@f Sat Jan  3 01:05:36 1996\nS: 3\n",
			want: []want{
				{"a@b Sat Jan  3 01:05:34 1996", "S: 1\n\nbody\n\n"},
				{"c@d Sat Jan  3 01:05:35 1996", "S: 2\r\n\r\n"},
				{"e@f Sat Jan  3 01:05:36 1996", "S: 3\n"},
			},
		},
		{
			name: "empty messages",
			in:   "From a@b Sat Jan  3 01:05:34 1996\n\nFrom c@d Sat Jan  3 01:05:35 1996\n",
			want: []want{
				{"a@b Sat Jan  3 01:05:34 1996", ""},
				{"c@d Sat Jan  3 01:05:35 1996", ""},
			},
		},
		{
			name: "last message keeps its trailing blank line",
			in:   "From a@b Sat Jan  3 01:05:34 1996\nS: 1\n\nbody\n\n",
			want: []want{{"a@b Sat Jan  3 01:05:34 1996", "S: 1\n\nbody\n\n"}},
		},
		{
			name: "last message without trailing newline",
			in:   "From a@b Sat Jan  3 01:05:34 1996\nS: 1\n\nbody 1\n\nFrom c@d Sat Jan  3 01:05:35 1996\nS: 2\n\nbody 2",
			want: []want{
				{"a@b Sat Jan  3 01:05:34 1996", "S: 1\n\nbody 1\n"},
				{"c@d Sat Jan  3 01:05:35 1996", "S: 2\n\nbody 2"},
			},
		},
		{
			name: "last separator without newline",
			in:   "From a@b Sat Jan  3 01:05:34 1996\nS: 1\n\nFrom c@d 1996",
			want: []want{
				{"a@b Sat Jan  3 01:05:34 1996", "S: 1\n"},
				{"c@d 1996", ""},
			},
		},
		{
			name: "empty file",
			in:   "",
			want: nil,
		},
		{
			name: "only a From line",
			in:   "From a@b Sat Jan  3 01:05:34 1996\n",
			want: []want{{"a@b Sat Jan  3 01:05:34 1996", ""}},
		},
		{
			name: "only a From line without newline",
			in:   "From a@b Sat Jan  3 01:05:34 1996",
			want: []want{{"a@b Sat Jan  3 01:05:34 1996", ""}},
		},
		{
			name: "first From line need not look like an envelope",
			in:   "From x\nS: 1\n",
			want: []want{{"x", "S: 1\n"}},
		},
		{
			name: "not an mbox: one message unchanged",
			in:   "Subject: hi\n\n>From me\n\nFrom a@b Sat Jan  3 01:05:34 1996\nend\n",
			want: []want{{"", "Subject: hi\n\n>From me\n\nFrom a@b Sat Jan  3 01:05:34 1996\nend\n"}},
		},
		{
			name: "lower-case from is not an mbox",
			in:   "from a@b Sat Jan  3 01:05:34 1996\nS: 1\n",
			want: []want{{"", "from a@b Sat Jan  3 01:05:34 1996\nS: 1\n"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs, errs := collect(t, openStream("box", []byte(tt.in), Options{}), 100)
			if len(errs) > 0 {
				t.Fatalf("errors: %v", errs)
			}
			if len(msgs) != len(tt.want) {
				t.Fatalf("got %d messages, want %d: %+v", len(msgs), len(tt.want), msgs)
			}
			isMbox := strings.HasPrefix(tt.in, "From ")
			for i, m := range msgs {
				if m.Envelope != tt.want[i].env {
					t.Errorf("message %d: envelope %q, want %q", i+1, m.Envelope, tt.want[i].env)
				}
				if string(m.Raw) != tt.want[i].raw {
					t.Errorf("message %d: raw %q, want %q", i+1, m.Raw, tt.want[i].raw)
				}
				wantOrigin := "box"
				if isMbox {
					wantOrigin = "box:" + string(rune('1'+i))
				}
				if m.Origin != wantOrigin {
					t.Errorf("message %d: origin %q, want %q", i+1, m.Origin, wantOrigin)
				}
			}
		})
	}
}

func TestIsSeparator(t *testing.T) {
	tests := []struct {
		line string
		want bool
	}{
		{"From a@b Sat Jan  3 01:05:34 1996\n", true},
		{"From a@b Sat Jan  3 01:05:34 1996\r\n", true},
		{"From MAILER-DAEMON Fri Jul  8 12:08:34 2011", true},
		{"From a@b  Thu Aug 22 18:40:32 2002\n", true},
		{"From \"a b\"@c 1\n", true},
		{"From a@b\tMon 1\n", true},
		{"From a@b 1\n", true},
		{"From a@b\n", false},
		{"From a@b Saturday\n", false},
		{"From a1b\n", false},
		{"From a1b \n", false},
		{"From \n", false},
		{"From\n", false},
		{"from a@b Sat Jan  3 01:05:34 1996\n", false},
		{">From a@b Sat Jan  3 01:05:34 1996\n", false},
		{" From a@b Sat Jan  3 01:05:34 1996\n", false},
	}
	for _, tt := range tests {
		if got := isSeparator([]byte(tt.line)); got != tt.want {
			t.Errorf("isSeparator(%q) = %v, want %v", tt.line, got, tt.want)
		}
	}
}

func TestMboxLongLines(t *testing.T) {
	long := strings.Repeat("x", 3*bufSize+17) + "\n"
	longFrom := ">" + strings.Repeat(">", 2*bufSize) + "From y\n" // all '>' beyond one buffer
	in := "From a@b Sat Jan  3 01:05:34 1996\nS: 1\n\n" + long + longFrom + "\n" +
		"From c@d Sat Jan  3 01:05:35 1996\nS: 2\n"
	msgs, errs := collect(t, openStream("box", []byte(in), Options{}), 10)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if len(msgs) != 2 {
		t.Fatalf("got %d messages, want 2", len(msgs))
	}
	if want := "S: 1\n\n" + long + longFrom[1:]; string(msgs[0].Raw) != want {
		t.Errorf("message 1: %d bytes, want %d", len(msgs[0].Raw), len(want))
	}
	if string(msgs[1].Raw) != "S: 2\n" {
		t.Errorf("message 2: %q", msgs[1].Raw)
	}
}

func TestMboxMaxMessageSize(t *testing.T) {
	big := strings.Repeat("y", 50) + "\n" // 51 bytes
	in := "From a@b Sat Jan  3 01:05:34 1996\nS: 1\n\n" +
		"From c@d Sat Jan  3 01:05:35 1996\n" + big + big + "\n" +
		"From e@f Sat Jan  3 01:05:36 1996\n" + strings.Repeat("z", 200) + "\n\n" + // one long line
		"From g@h Sat Jan  3 01:05:37 1996\n" + strings.Repeat("w", 99) + "\n" + "\n" + // exactly 100 once the blank line is dropped
		"From i@j Sat Jan  3 01:05:38 1996\nS: 5\n\n" +
		"From k@l Sat Jan  3 01:05:39 1996\n" + strings.Repeat("v", 100) + "\n" // 101 bytes, last
	msgs, errs := collect(t, openStream("box", []byte(in), Options{MaxMessageSize: 100}), 20)
	var origins []string
	for _, m := range msgs {
		origins = append(origins, m.Origin)
	}
	if got, want := strings.Join(origins, " "), "box:1 box:4 box:5"; got != want {
		t.Errorf("messages %q, want %q", got, want)
	}
	if len(errs) != 3 {
		t.Fatalf("got %d errors, want 3: %v", len(errs), errs)
	}
	for i, want := range []string{"box:2", "box:3", "box:6"} {
		var me *MessageError
		if !errors.As(errs[i], &me) || me.Origin != want {
			t.Errorf("error %d = %v, want one for %s", i, errs[i], want)
		}
		if !strings.Contains(errs[i].Error(), "larger than 100 bytes") {
			t.Errorf("error %d = %v, want a size error", i, errs[i])
		}
	}
	if len(msgs) == 3 && len(msgs[1].Raw) != 100 {
		t.Errorf("box:4 has %d bytes, want 100", len(msgs[1].Raw))
	}
}

// sepOracle is an independent statement of what a separator looks like, for
// the fuzz test: "From ", a sender, more fields, and a digit after the sender.
var sepOracle = regexp.MustCompile(`^From [ \t]*[^ \t\n]+[ \t]+[^\n]*[0-9]`)

// splitLines splits b into lines that keep their "\n".
func splitLines(b []byte) [][]byte {
	var lines [][]byte
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n') + 1
		if i == 0 {
			i = len(b)
		}
		lines = append(lines, b[:i])
		b = b[i:]
	}
	return lines
}

// checkReassembly checks that msgs, split out of the mbox in, account for
// every byte of it: each message is its separator line ("From " + envelope +
// a line ending), its raw lines, each equal to the input line with mboxrd
// unescaping applied, and, except for the last, one empty line. No
// envelope line after an empty line may be left inside a message.
func checkReassembly(t *testing.T, in []byte, msgs []Message) {
	t.Helper()
	lines := splitLines(in)
	next := func() []byte {
		if len(lines) == 0 {
			return nil
		}
		l := lines[0]
		lines = lines[1:]
		return l
	}
	for i, m := range msgs {
		sep := next()
		if got := string(trimEOL(sep)); got != "From "+m.Envelope {
			t.Fatalf("message %d: separator line %q, envelope %q", i+1, sep, m.Envelope)
		}
		if i > 0 && !sepOracle.Match(sep) {
			t.Fatalf("message %d: split at %q, which is not an envelope", i+1, sep)
		}
		prevBlank := false
		for _, rl := range splitLines(m.Raw) {
			il := next()
			if il == nil || !bytes.Equal(unescapeOracle(il), rl) {
				t.Fatalf("message %d: raw line %q, input line %q", i+1, rl, il)
			}
			if prevBlank && len(il) <= maxSeparatorLen && sepOracle.Match(il) {
				t.Fatalf("message %d: not split at %q after an empty line", i+1, il)
			}
			prevBlank = isBlank(il)
			if len(rl) > 0 && rl[len(rl)-1] != '\n' && len(lines) > 0 {
				t.Fatalf("message %d: unterminated raw line %q in the middle", i+1, rl)
			}
		}
		if i < len(msgs)-1 {
			if bl := next(); !isBlank(bl) {
				t.Fatalf("message %d: %q where the dropped empty line should be", i+1, bl)
			}
		}
	}
	if len(lines) > 0 {
		t.Fatalf("%d input lines not accounted for, first %q", len(lines), lines[0])
	}
}

var escapedFrom = regexp.MustCompile(`^>+From `)

func unescapeOracle(l []byte) []byte {
	if escapedFrom.Match(l) {
		return l[1:]
	}
	return l
}

// fuzzGzip is reused across fuzz runs (they are sequential within a
// process): a new gzip.Writer per run would dominate the run time.
var fuzzGzip, _ = gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)

func FuzzMbox(f *testing.F) {
	f.Add([]byte("From a@b Sat Jan  3 01:05:34 1996\nS: 1\n\nbody\n\nFrom c@d Sat Jan  3 01:05:35 1996\nS: 2\n"))
	f.Add([]byte("From a@b Sat Jan  3 01:05:34 1996\r\nS: 1\r\n\r\n>From x\r\n\r\nFrom c@d 2\r\n"))
	f.Add([]byte("From x\n\n\nFrom y 1\n>>From z\nFrom w 2\n\nFrom "))
	f.Add([]byte("Subject: not an mbox\n\nFrom a@b 1\n"))
	f.Add([]byte("From a@b Sat Jan  3 01:05:34 1996\n" + strings.Repeat("q", 300) + "\n\nFrom c@d 3\n"))
	f.Add([]byte(""))
	f.Add([]byte("\x1f\x8b0"))
	f.Fuzz(func(t *testing.T, in []byte) {
		if bytes.HasPrefix(in, []byte{0x1f, 0x8b}) {
			// Taken for gzip: it must end, with or without errors.
			collect(t, openStream("f", in, Options{}), len(in)+2)
			return
		}
		msgs, errs := collect(t, openStream("f", in, Options{}), len(in)+2)
		if len(errs) > 0 {
			t.Fatalf("errors: %v", errs)
		}
		// Compressed, the same input gives the same messages.
		var zb bytes.Buffer
		zw := fuzzGzip
		zw.Reset(&zb)
		if _, err := zw.Write(in); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		zmsgs, zerrs := collect(t, openStream("f", zb.Bytes(), Options{}), len(in)+2)
		if len(zerrs) > 0 || len(zmsgs) != len(msgs) {
			t.Fatalf("gzipped: %d messages and errors %v, want %d messages", len(zmsgs), zerrs, len(msgs))
		}
		for i := range msgs {
			if !bytes.Equal(zmsgs[i].Raw, msgs[i].Raw) || zmsgs[i].Envelope != msgs[i].Envelope || zmsgs[i].Origin != msgs[i].Origin {
				t.Fatalf("gzipped: message %d differs", i+1)
			}
		}
		if !bytes.HasPrefix(in, fromLine) {
			if len(in) == 0 && len(msgs) == 0 {
				return
			}
			if len(msgs) != 1 || !bytes.Equal(msgs[0].Raw, in) || msgs[0].Envelope != "" {
				t.Fatalf("non-mbox input: got %d messages, want it whole", len(msgs))
			}
			return
		}
		total := 0
		for _, m := range msgs {
			total += len(m.Raw)
		}
		if total > len(in) {
			t.Fatalf("yielded %d bytes from %d", total, len(in))
		}
		if n := bytes.Count(in, []byte("\nFrom ")) + 1; len(msgs) > n {
			t.Fatalf("%d messages from %d From lines", len(msgs), n)
		}
		checkReassembly(t, in, msgs)

		// With a size cap, the same split: small messages come out
		// unchanged, big ones as errors naming them.
		const max = 16
		capped, cerrs := collect(t, openStream("f", in, Options{MaxMessageSize: max}), len(in)+2)
		// A first line too long to be kept counts as a message too large.
		firstLen := len(splitLines(in)[0])
		ci, ei := 0, 0
		for i, m := range msgs {
			if len(m.Raw) <= max && (i > 0 || firstLen <= maxSeparatorLen) {
				if ci >= len(capped) || !bytes.Equal(capped[ci].Raw, m.Raw) || capped[ci].Origin != m.Origin {
					t.Fatalf("capped: message %s missing or changed", m.Origin)
				}
				ci++
				continue
			}
			var me *MessageError
			if ei >= len(cerrs) || !errors.As(cerrs[ei], &me) || me.Origin != m.Origin {
				t.Fatalf("capped: no error for %s (%d bytes)", m.Origin, len(m.Raw))
			}
			ei++
		}
		if ci != len(capped) || ei != len(cerrs) {
			t.Fatalf("capped: %d messages and %d errors left over", len(capped)-ci, len(cerrs)-ei)
		}
	})
}

func BenchmarkMbox(b *testing.B) {
	msg := "From a@b Sat Jan  3 01:05:34 1996\nSubject: bench\n\n" + strings.Repeat("a line of text in the body\n>From the escape\n", 100) + "\n"
	in := []byte(strings.Repeat(msg, 100))
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		msgs, errs := collect(b, openStream("bench", in, Options{}), 1000)
		if len(msgs) != 100 || len(errs) != 0 {
			b.Fatalf("%d messages, %v", len(msgs), errs)
		}
	}
}
