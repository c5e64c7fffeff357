package milter

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	gomilter "github.com/d--j/go-milter"
)

// fakeScanner returns a fixed verdict (or runs fn) and keeps what it saw.
type fakeScanner struct {
	mu   sync.Mutex
	raws [][]byte
	fn   func(ctx context.Context, raw []byte) (Verdict, error)
}

func (f *fakeScanner) Scan(ctx context.Context, raw []byte) (Verdict, error) {
	f.mu.Lock()
	f.raws = append(f.raws, append([]byte(nil), raw...))
	f.mu.Unlock()
	return f.fn(ctx, raw)
}

func (f *fakeScanner) last() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.raws) == 0 {
		return ""
	}
	return string(f.raws[len(f.raws)-1])
}

func verdict(v Verdict) *fakeScanner {
	return &fakeScanner{fn: func(context.Context, []byte) (Verdict, error) { return v, nil }}
}

// testServer is a Server on a loopback port, with the outcomes it reported.
type testServer struct {
	*Server
	addr     string
	outcomes chan Outcome
	served   chan error
}

func start(t *testing.T, cfg Config, s Scanner) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{addr: ln.Addr().String(), outcomes: make(chan Outcome, 100), served: make(chan error, 1)}
	ts.Server = New(cfg, s, Options{Observe: func(o Outcome) { ts.outcomes <- o }})
	go func() { ts.served <- ts.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := ts.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		select {
		case err := <-ts.served:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Serve did not return after Shutdown")
		}
	})
	return ts
}

func (ts *testServer) outcome(t *testing.T) Outcome {
	t.Helper()
	select {
	case o := <-ts.outcomes:
		return o
	case <-time.After(10 * time.Second):
		t.Fatal("no outcome reported")
		return Outcome{}
	}
}

// field is a header field as the MTA sends it: the value keeps its
// leading space.
type field struct{ name, value string }

// result is what the MTA sees at the end of a message, and the message
// with the header changes applied as Postfix applies them.
type result struct {
	act     *gomilter.Action
	mods    []gomilter.ModifyAction
	header  []field
	body    string
	rewrote string
}

func (r result) values(name string) []string {
	var out []string
	for _, f := range r.header {
		if textproto.CanonicalMIMEHeaderKey(f.name) == textproto.CanonicalMIMEHeaderKey(name) {
			out = append(out, strings.TrimPrefix(f.value, " "))
		}
	}
	return out
}

func (r result) quarantine() (string, bool) {
	for _, m := range r.mods {
		if m.Type == gomilter.ActionQuarantine {
			return m.Reason, true
		}
	}
	return "", false
}

// split parses a CRLF message into header fields and body.
func split(t *testing.T, msg string) ([]field, string) {
	t.Helper()
	head, body, ok := strings.Cut(msg, "\r\n\r\n")
	if !ok {
		t.Fatalf("no end of header in %q", msg)
	}
	var fields []field
	for _, line := range strings.SplitAfter(head+"\r\n", "\r\n") {
		if line == "" {
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			fields[len(fields)-1].value += "\r\n" + strings.TrimSuffix(line, "\r\n")
			continue
		}
		name, value, _ := strings.Cut(strings.TrimSuffix(line, "\r\n"), ":")
		fields = append(fields, field{name, value})
	}
	return fields, body
}

// send passes msg (CRLF line endings) through the milter at addr, once per
// message of msgs on one connection, as an MTA does within one SMTP session.
func send(t *testing.T, addr string, msgs ...string) []result {
	t.Helper()
	client := gomilter.NewClient("tcp", addr)
	macros := gomilter.NewMacroBag()
	macros.Set(gomilter.MacroMTAFQDN, "mx.test")
	s, err := client.Session(macros)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	must := func(act *gomilter.Action, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if act.Type != gomilter.ActionContinue {
			t.Fatalf("unexpected %s before the end of the message", act)
		}
	}
	must(s.Conn("client.test", gomilter.FamilyInet, 40000, "192.0.2.1"))
	must(s.Helo("client.test"))
	var out []result
	for i, msg := range msgs {
		macros.Set(gomilter.MacroQueueId, fmt.Sprintf("Q%d", i))
		must(s.Mail("<sender@example.net>", ""))
		must(s.Rcpt("<bob@example.org>", ""))
		must(s.DataStart())
		fields, body := split(t, msg)
		for _, f := range fields {
			must(s.HeaderField(f.name, f.value, nil))
		}
		must(s.HeaderEnd())
		mods, act, err := s.BodyReadFrom(strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		r := result{act: act, mods: mods, header: apply(t, fields, mods), body: body}
		var sb strings.Builder
		for _, f := range r.header {
			sb.WriteString(f.name + ":" + f.value + "\r\n")
		}
		r.rewrote = sb.String() + "\r\n" + body
		out = append(out, r)
	}
	return out
}

// apply makes the header changes as Postfix does: a change addresses the
// n-th field of its name and deletes it when empty, an insert goes after
// the n-th field of all, an add at the end. Like Postfix and Sendmail, it
// counts its own Received field on top, which the milter does not see.
// Values come with LF line breaks, which the MTA writes as CRLF.
func apply(t *testing.T, fields []field, mods []gomilter.ModifyAction) []field {
	t.Helper()
	out := append([]field{{"Received", " by mx.test"}}, fields...)
	for _, m := range mods {
		m.HeaderValue = strings.ReplaceAll(m.HeaderValue, "\n", "\r\n")
		switch m.Type {
		case gomilter.ActionChangeHeader:
			n, at := 0, -1
			for i, f := range out {
				if textproto.CanonicalMIMEHeaderKey(f.name) == textproto.CanonicalMIMEHeaderKey(m.HeaderName) {
					if n++; n == int(m.HeaderIndex) {
						at = i
						break
					}
				}
			}
			switch {
			case at < 0 && m.HeaderValue != "":
				out = append(out, field{m.HeaderName, m.HeaderValue})
			case at < 0:
			case m.HeaderValue == "":
				out = append(out[:at], out[at+1:]...)
			default:
				out[at].value = m.HeaderValue
			}
		case gomilter.ActionInsertHeader:
			at := min(int(m.HeaderIndex), len(out))
			out = append(out[:at], append([]field{{m.HeaderName, m.HeaderValue}}, out[at:]...)...)
		case gomilter.ActionAddHeader:
			out = append(out, field{m.HeaderName, m.HeaderValue})
		case gomilter.ActionQuarantine:
		default:
			t.Errorf("unexpected modification %s", m)
		}
	}
	if out[0].name != "Received" {
		t.Errorf("a field went above the MTA's Received: %v", out)
		return out
	}
	return out[1:]
}

const plain = "From: Alice <alice@example.org>\r\n" +
	"To: bob@example.org\r\n" +
	"Subject: Project meeting\r\n" +
	" tomorrow\r\n" +
	"\r\n" +
	"See you at ten.\r\n"

func TestMarksEveryMessage(t *testing.T) {
	scan := verdict(Verdict{SpamHeader: "no; 0.01; meeting:01 ", Class: Ham, Score: 0.01, Attachments: `name="a.pdf" `})
	ts := start(t, DefaultConfig(), scan)
	r := send(t, ts.addr, plain)[0]
	if r.act.Type != gomilter.ActionAccept {
		t.Fatalf("action %s, want accept", r.act)
	}
	if got := scan.last(); got != plain {
		t.Errorf("scanner got\n%q\nwant the message as sent\n%q", got, plain)
	}
	if got := r.values("X-Spam"); len(got) != 1 || got[0] != "no; 0.01; meeting:01 " {
		t.Errorf("X-Spam = %q", got)
	}
	if got := r.values("X-Attachments"); len(got) != 1 || got[0] != `name="a.pdf" ` {
		t.Errorf("X-Attachments = %q", got)
	}
	if len(r.values("Authentication-Results")) != 0 {
		t.Error("Authentication-Results added with results_header off")
	}
	want := strings.Replace(plain, "\r\n\r\n", "\r\nX-Spam: no; 0.01; meeting:01 \r\nX-Attachments: name=\"a.pdf\" \r\n\r\n", 1)
	if r.rewrote != want {
		t.Errorf("message after the milter:\n%q\nwant\n%q", r.rewrote, want)
	}
	o := ts.outcome(t)
	if o.Action != Accept || o.QueueID != "Q0" || o.Err != nil || o.Verdict.Class != Ham || o.Truncated {
		t.Errorf("outcome %+v", o)
	}

	// No attachments: no X-Attachments.
	scan.fn = func(context.Context, []byte) (Verdict, error) { return Verdict{Class: Spam, Score: 0.97}, nil }
	r = send(t, ts.addr, plain)[0]
	if got := r.values("X-Spam"); len(got) != 1 || got[0] != "yes; 0.97; " {
		t.Errorf("X-Spam = %q, want the default format", got)
	}
	if got := r.values("X-Attachments"); got != nil {
		t.Errorf("X-Attachments = %q, want none", got)
	}
}

func TestForgedHeadersReplaced(t *testing.T) {
	forged := "X-Spam: no; 0.00; trust-me:00\r\n" +
		"Authentication-Results: mx.test; x-mailsift=ham policy.score=0.000\r\n" +
		"Authentication-Results: mx.test; dkim=pass header.d=example.org\r\n" +
		"Authentication-Results: other.test; x-mailsift=ham\r\n" +
		"x-spam: no\r\n" +
		"X-Attachments: none\r\n" + plain
	scan := verdict(Verdict{SpamHeader: "yes; 0.99; free:99 ", Class: Spam, Score: 0.99})
	cfg := DefaultConfig()
	cfg.ResultsHeader, cfg.AuthservID = true, "mx.test"
	ts := start(t, cfg, scan)
	r := send(t, ts.addr, forged)[0]
	if got := r.values("X-Spam"); len(got) != 1 || got[0] != "yes; 0.99; free:99 " {
		t.Errorf("X-Spam = %q, want only ours", got)
	}
	if got := r.values("X-Attachments"); got != nil {
		t.Errorf("forged X-Attachments kept: %q", got)
	}
	wantAR := []string{
		"mx.test; x-mailsift=spam policy.score=0.990",
		"mx.test; dkim=pass header.d=example.org",
		"other.test; x-mailsift=ham",
	}
	if got := r.values("Authentication-Results"); strings.Join(got, "\n") != strings.Join(wantAR, "\n") {
		t.Errorf("Authentication-Results =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantAR, "\n"))
	}
	if r.header[0].name != "Authentication-Results" {
		t.Errorf("our Authentication-Results is not on top: %v", r.header)
	}
}

func TestActions(t *testing.T) {
	cfg := DefaultConfig()
	cfg.TagSubjectAt, cfg.QuarantineAt, cfg.RejectAt = 0.8, 0.9, 0.95
	cases := []struct {
		name    string
		v       Verdict
		want    Action
		subject string
	}{
		{"ham", Verdict{Class: Ham, Score: 0.1}, Accept, "Project meeting\r\n tomorrow"},
		{"below tag", Verdict{Class: Spam, Score: 0.79}, Accept, "Project meeting\r\n tomorrow"},
		{"tag", Verdict{Class: Spam, Score: 0.8}, Tag, "[SPAM] Project meeting\r\n tomorrow"},
		{"quarantine", Verdict{Class: Spam, Score: 0.9}, Quarantine, "Project meeting\r\n tomorrow"},
		{"reject", Verdict{Class: Spam, Score: 0.99}, Reject, ""},
		{"unknown never acts", Verdict{Class: Unknown, Score: 0.99}, Accept, "Project meeting\r\n tomorrow"},
		{"odd class is unknown", Verdict{Class: "maybe", Score: 0.99}, Accept, "Project meeting\r\n tomorrow"},
		{"phishing off", Verdict{Class: Ham, Score: 0.1, PhishingChecked: true, Phishing: true}, Accept, "Project meeting\r\n tomorrow"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ts := start(t, cfg, verdict(c.v))
			r := send(t, ts.addr, plain)[0]
			if o := ts.outcome(t); o.Action != c.want {
				t.Errorf("outcome action %s, want %s", o.Action, c.want)
			}
			_, quarantined := r.quarantine()
			if quarantined != (c.want == Quarantine) {
				t.Errorf("quarantined %v, want %v (mods %v)", quarantined, !quarantined, r.mods)
			}
			if c.want == Reject {
				if r.act.SMTPCode != 550 || !strings.Contains(r.act.SMTPReply, "550 5.7.1 Message rejected as spam") {
					t.Errorf("reply %s, want 550 5.7.1", r.act)
				}
				return
			}
			if r.act.Type != gomilter.ActionAccept {
				t.Fatalf("action %s, want accept", r.act)
			}
			if got := r.values("Subject"); len(got) != 1 || got[0] != c.subject {
				t.Errorf("Subject %q, want %q", got, c.subject)
			}
			if len(r.values("X-Spam")) != 1 {
				t.Errorf("X-Spam missing: %v", r.header)
			}
		})
	}
}

func TestQuarantinePhishing(t *testing.T) {
	cfg := DefaultConfig()
	cfg.QuarantinePhishing, cfg.ResultsHeader, cfg.AuthservID = true, true, "mx.test"
	ts := start(t, cfg, verdict(Verdict{Class: Ham, Score: 0.2, PhishingChecked: true, Phishing: true, PhishingWeight: 3.5}))
	r := send(t, ts.addr, plain)[0]
	if reason, ok := r.quarantine(); !ok || reason != "mailsift: phishing, weight 3.50" {
		t.Errorf("quarantine %q %v", reason, ok)
	}
	want := "mx.test; x-mailsift=ham policy.score=0.200 policy.phishing=fail policy.phishing-weight=3.50"
	if got := r.values("Authentication-Results"); len(got) != 1 || got[0] != want {
		t.Errorf("Authentication-Results %q, want %q", got, want)
	}
}

func TestTagSubject(t *testing.T) {
	cases := []struct {
		name, prefix, subject, want string
	}{
		{"plain", "[SPAM] ", "Hello", "[SPAM] Hello"},
		{"already tagged", "[SPAM] ", "[SPAM] Hello", "[SPAM] Hello"},
		{"encoded", "[SPAM] ", "=?utf-8?q?Gr=C3=BC=C3=9Fe?=", "[SPAM] =?utf-8?q?Gr=C3=BC=C3=9Fe?="},
		{"no subject", "[SPAM] ", "", "[SPAM]"},
		{"non-ASCII prefix", "[ПОДОЗРЕНИЕ] ", "Hello", "=?utf-8?q?[=D0=9F=D0=9E=D0=94=D0=9E=D0=97=D0=A0=D0=95=D0=9D=D0=98=D0=95]?= Hello"},
		{"non-ASCII prefix, encoded subject", "[Ä] ", "=?utf-8?q?Gr=C3=BC=C3=9Fe?=", "=?utf-8?q?[=C3=84]_?= =?utf-8?q?Gr=C3=BC=C3=9Fe?="},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.TagSubjectAt, cfg.TagPrefix = 0.5, c.prefix
			ts := start(t, cfg, verdict(Verdict{Class: Spam, Score: 0.9}))
			msg := "From: a@example.org\r\n"
			if c.subject != "" {
				msg += "Subject: " + c.subject + "\r\n"
			}
			r := send(t, ts.addr, msg+"\r\nbody\r\n")[0]
			if got := r.values("Subject"); len(got) != 1 || got[0] != c.want {
				t.Errorf("Subject %q, want %q", got, c.want)
			}
		})
	}
}

func TestScannerFailuresAcceptUnknown(t *testing.T) {
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	cases := []struct {
		name    string
		fn      func(context.Context, []byte) (Verdict, error)
		header  string
		target  error
		results string
	}{
		{"error", func(context.Context, []byte) (Verdict, error) {
			return Verdict{Class: Spam, Score: 1}, errors.New("database locked")
		}, "unknown; 0.50; error: database locked", nil, "mx.test; x-mailsift=temperror (scanner error)"},
		{"timeout", func(context.Context, []byte) (Verdict, error) {
			<-hang // ignores ctx
			return Verdict{Class: Spam, Score: 1}, nil
		}, "unknown; 0.50; error: scan timed out after 200ms", ErrTimeout, "mx.test; x-mailsift=temperror (timeout)"},
		{"panic", func(context.Context, []byte) (Verdict, error) {
			panic("boom")
		}, "unknown; 0.50; error: internal error: boom", ErrPanic, "mx.test; x-mailsift=temperror (internal error)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Timeout = 200 * time.Millisecond
			cfg.TagSubjectAt, cfg.QuarantineAt, cfg.RejectAt = 0.1, 0.2, 0.3
			cfg.ResultsHeader, cfg.AuthservID = true, "mx.test"
			ts := start(t, cfg, &fakeScanner{fn: c.fn})
			began := time.Now()
			r := send(t, ts.addr, "X-Spam: no; forged\r\n"+plain)[0]
			if took := time.Since(began); took > 3*time.Second {
				t.Errorf("took %s", took)
			}
			if r.act.Type != gomilter.ActionAccept {
				t.Fatalf("action %s, want accept", r.act)
			}
			if _, q := r.quarantine(); q {
				t.Error("quarantined")
			}
			if got := r.values("X-Spam"); len(got) != 1 || got[0] != c.header {
				t.Errorf("X-Spam %q, want %q", got, c.header)
			}
			if got := r.values("Subject"); len(got) != 1 || got[0] != "Project meeting\r\n tomorrow" {
				t.Errorf("Subject changed: %q", got)
			}
			if got := r.values("Authentication-Results"); len(got) != 1 || got[0] != c.results {
				t.Errorf("Authentication-Results %q, want %q", got, c.results)
			}
			o := ts.outcome(t)
			if o.Action != Accept || o.Err == nil || (c.target != nil && !errors.Is(o.Err, c.target)) ||
				o.Verdict.Class != Unknown || o.Verdict.SpamHeader != c.header {
				t.Errorf("outcome %+v", o)
			}
		})
	}
}

// A Config that skipped Validate still marks mail and cannot inject
// header lines.
func TestUnvalidatedConfig(t *testing.T) {
	cfg := Config{TagSubjectAt: 0.5, TagPrefix: "[S]\r\nBcc: eve@example.net\r\n", SpamHeader: "bad name:"}
	ts := start(t, cfg, verdict(Verdict{Class: Spam, Score: 0.9}))
	r := send(t, ts.addr, plain)[0]
	if got := r.values("X-Spam"); len(got) != 1 {
		t.Errorf("X-Spam %q, want the default header", got)
	}
	if got := r.values("Subject"); len(got) != 1 || got[0] != "[S]  Bcc: eve@example.net  Project meeting\r\n tomorrow" {
		t.Errorf("Subject %q", got)
	}
	if got := r.values("Bcc"); got != nil {
		t.Errorf("Bcc injected: %q", got)
	}
	if c := ts.Config(); c.Timeout != DefaultTimeout || c.MaxBytes != DefaultMaxBytes || c.AuthservID == "" {
		t.Errorf("defaults not filled in: %+v", c)
	}
}

func TestObservePanicKeepsMail(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := New(DefaultConfig(), verdict(Verdict{Class: Ham, Score: 0}), Options{Observe: func(Outcome) { panic("metrics broke") }})
	go func() { _ = srv.Serve(ln) }()
	defer func() { _ = srv.Close() }()
	r := send(t, ln.Addr().String(), plain)[0]
	if r.act.Type != gomilter.ActionAccept || len(r.values("X-Spam")) != 1 {
		t.Errorf("action %s, header %v", r.act, r.header)
	}
}

func TestSetConfigLive(t *testing.T) {
	scan := verdict(Verdict{Class: Spam, Score: 0.92})
	ts := start(t, DefaultConfig(), scan)
	if r := send(t, ts.addr, plain)[0]; r.act.Type != gomilter.ActionAccept {
		t.Fatalf("before: %s", r.act)
	}
	cfg := DefaultConfig()
	cfg.SpamHeader, cfg.RejectAt, cfg.TagSubjectAt = "X-Filter", 0.95, 0.9
	ts.SetConfig(cfg)
	rs := send(t, ts.addr, plain)
	if got := rs[0].values("Subject"); len(got) != 1 || !strings.HasPrefix(got[0], "[SPAM] ") {
		t.Errorf("Subject %q, want tagged", got)
	}
	if got := rs[0].values("X-Filter"); len(got) != 1 {
		t.Errorf("X-Filter %q", got)
	}
	cfg.RejectAt = 0.92
	ts.SetConfig(cfg)
	if r := send(t, ts.addr, plain)[0]; r.act.SMTPCode != 550 {
		t.Errorf("after lowering reject_at: %s, want 550", r.act)
	}
	if got := ts.Config().RejectAt; got != 0.92 {
		t.Errorf("Config().RejectAt = %g", got)
	}
}

func TestOneSessionManyMessages(t *testing.T) {
	n := 0
	var mu sync.Mutex
	scan := &fakeScanner{fn: func(context.Context, []byte) (Verdict, error) {
		mu.Lock()
		defer mu.Unlock()
		n++
		if n%2 == 0 {
			return Verdict{Class: Spam, Score: 0.99}, nil
		}
		return Verdict{Class: Ham, Score: 0.01}, nil
	}}
	cfg := DefaultConfig()
	cfg.RejectAt = 0.9
	ts := start(t, cfg, scan)
	rs := send(t, ts.addr, plain, plain, plain)
	if rs[0].act.Type != gomilter.ActionAccept || rs[1].act.SMTPCode != 550 || rs[2].act.Type != gomilter.ActionAccept {
		t.Errorf("actions %s %s %s, want accept, 550, accept", rs[0].act, rs[1].act, rs[2].act)
	}
	if got := rs[2].values("X-Spam"); len(got) != 1 || got[0] != "no; 0.01; " {
		t.Errorf("third message X-Spam %q", got)
	}
}

func TestMaxBytes(t *testing.T) {
	scan := verdict(Verdict{Class: Ham, Score: 0})
	cfg := DefaultConfig()
	cfg.MaxBytes = 100
	ts := start(t, cfg, scan)
	body := strings.Repeat("0123456789abcdef\r\n", 100)
	r := send(t, ts.addr, "Subject: big\r\n\r\n"+body)[0]
	if r.act.Type != gomilter.ActionAccept || len(r.values("X-Spam")) != 1 {
		t.Errorf("action %s header %v", r.act, r.header)
	}
	if got, want := scan.last(), "Subject: big\r\n\r\n"+body[:100]; got != want {
		t.Errorf("scanner got %q, want %q", got, want)
	}
	if o := ts.outcome(t); !o.Truncated {
		t.Error("Outcome.Truncated not set")
	}
}

func TestShutdownFinishesInFlight(t *testing.T) {
	release := make(chan struct{})
	scan := &fakeScanner{fn: func(context.Context, []byte) (Verdict, error) {
		<-release
		return Verdict{Class: Spam, Score: 0.9}, nil
	}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := New(DefaultConfig(), scan, Options{})
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	got := make(chan result, 1)
	go func() { got <- send(t, ln.Addr().String(), plain)[0] }()
	// Wait for the message to reach the scanner, then shut down.
	deadline := time.Now().Add(5 * time.Second)
	for scan.last() == "" {
		if time.Now().After(deadline) {
			t.Fatal("message never reached the scanner")
		}
		time.Sleep(5 * time.Millisecond)
	}
	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		shut <- srv.Shutdown(ctx)
	}()
	// New connections are refused once Shutdown has begun.
	time.Sleep(50 * time.Millisecond)
	if c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		_ = c.Close()
		t.Error("listener still accepts after Shutdown")
	}
	close(release)
	select {
	case r := <-got:
		if r.act.Type != gomilter.ActionAccept || len(r.values("X-Spam")) != 1 {
			t.Errorf("in-flight message: %s %v", r.act, r.header)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("in-flight message not finished")
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve after Shutdown: %v", err)
	}
	if err := srv.Serve(ln); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve after Shutdown = %v, want ErrServerClosed", err)
	}
}

func TestValidate(t *testing.T) {
	with := func(f func(*Config)) Config {
		c := DefaultConfig()
		f(&c)
		return c
	}
	cases := []struct {
		name string
		cfg  Config
		want string // substring of the error; "" for valid
	}{
		{"default", DefaultConfig(), ""},
		{"all actions", with(func(c *Config) { c.TagSubjectAt, c.QuarantineAt, c.RejectAt = 0.8, 0.9, 0.99 }), ""},
		{"equal thresholds", with(func(c *Config) { c.TagSubjectAt, c.QuarantineAt, c.RejectAt = 0.9, 0.9, 0.9 }), ""},
		{"reject only", with(func(c *Config) { c.RejectAt = 1 }), ""},
		{"unix socket", with(func(c *Config) { c.Listen = "unix:/run/mailsift/milter.sock" }), ""},
		{"off", with(func(c *Config) { c.Listen = "" }), ""},
		{"no attachments header", with(func(c *Config) { c.AttachmentsHeader = "" }), ""},
		{"bad listen", with(func(c *Config) { c.Listen = "localhost" }), `listen: "localhost": want host:port or unix:<path>`},
		{"empty unix", with(func(c *Config) { c.Listen = "unix:" }), "needs a path"},
		{"zero timeout", with(func(c *Config) { c.Timeout = 0 }), "timeout must be above 0"},
		{"zero max_bytes", with(func(c *Config) { c.MaxBytes = 0 }), "max_bytes must be at least 1"},
		{"spam header with space", with(func(c *Config) { c.SpamHeader = "X My Spam" }), `spam_header "X My Spam" is not a header name`},
		{"empty spam header", with(func(c *Config) { c.SpamHeader = "" }), "spam_header"},
		{"subject as header", with(func(c *Config) { c.AttachmentsHeader = "subject" }), "attachments_header cannot be Subject"},
		{"same headers", with(func(c *Config) { c.AttachmentsHeader = "x-spam" }), "both"},
		{"bad authserv", with(func(c *Config) { c.AuthservID = "mx example;org" }), "authserv_id"},
		{"negative", with(func(c *Config) { c.TagSubjectAt = -0.1 }), "tag_subject_at must be 0 (off) or a score up to 1, not -0.1"},
		{"above one", with(func(c *Config) { c.RejectAt = 1.5 }), "reject_at must be 0 (off) or a score up to 1, not 1.5"},
		{"reject below quarantine", with(func(c *Config) { c.QuarantineAt, c.RejectAt = 0.9, 0.8 }), "reject_at (0.8) is below quarantine_at (0.9)"},
		{"quarantine below tag", with(func(c *Config) { c.TagSubjectAt, c.QuarantineAt = 0.9, 0.5 }), "quarantine_at (0.5) is below tag_subject_at (0.9)"},
		{"reject below tag, quarantine off", with(func(c *Config) { c.TagSubjectAt, c.RejectAt = 0.9, 0.5 }), "reject_at (0.5) is below tag_subject_at (0.9)"},
		{"empty prefix", with(func(c *Config) { c.TagSubjectAt, c.TagPrefix = 0.5, " " }), "tag_prefix is empty"},
		{"prefix with newline", with(func(c *Config) { c.TagPrefix = "[S]\r\nBcc: x" }), "control character"},
		{"empty reject message", with(func(c *Config) { c.RejectAt, c.RejectMessage = 0.9, "" }), "reject_message is empty"},
		{"long reject message", with(func(c *Config) { c.RejectAt, c.RejectMessage = 0.9, strings.Repeat("x", 70000) }), "reject_message"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.cfg.Validate()
			switch {
			case c.want == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case c.want != "" && err == nil:
				t.Errorf("no error, want %q", c.want)
			case c.want != "" && !strings.Contains(err.Error(), c.want):
				t.Errorf("error %q, want %q in it", err, c.want)
			}
		})
	}
	// Every problem is reported at once.
	err := with(func(c *Config) { c.Timeout, c.MaxBytes, c.RejectAt = 0, 0, 2 }).Validate()
	if err == nil || strings.Count(err.Error(), "\n") != 2 {
		t.Errorf("want three problems, got %v", err)
	}
}

func TestListen(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/m.sock"
	ln, err := Listen("unix:" + path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Listen("unix:" + path); err == nil {
		t.Error("second Listen on a live socket succeeded")
	}
	// A socket left behind by a dead process is replaced.
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	ln, err = Listen("unix:" + path)
	if err != nil {
		t.Fatalf("stale socket: %v", err)
	}
	srv := New(DefaultConfig(), verdict(Verdict{Class: Ham}), Options{})
	go func() { _ = srv.Serve(ln) }()
	defer func() { _ = srv.Close() }()
	if _, err := Listen("bad"); err == nil {
		t.Error("Listen(bad) succeeded")
	}
}
