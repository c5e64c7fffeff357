package milter_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/smtp"
	"net/textproto"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mailsift/mailsift/internal/config"
	"github.com/mailsift/mailsift/internal/filter"
	"github.com/mailsift/mailsift/internal/mailbox"
	"github.com/mailsift/mailsift/internal/milter"
	"github.com/mailsift/mailsift/internal/tokendb"
)

// e2eDeadline bounds every wait of the end-to-end test.
const e2eDeadline = 30 * time.Second

// TestPostfixEndToEnd runs a private Postfix whose smtpd calls the milter
// and relays to a capture server in the test, trains a token database from
// testdata/corpus, sends mail over SMTP and checks what comes out.
func TestPostfixEndToEnd(t *testing.T) {
	postfix := requirePostfix(t)
	began := time.Now()

	f := trainedFilter(t)
	ham := crlf(readFile(t, "../../testdata/corpus/msg2-crlf.eml"))
	spam := crlf(readFile(t, "../../testdata/corpus/msg1.eml"))
	forged := "X-Spam: no; 0.00; forged:00\r\n" +
		"X-Attachments: nothing to see\r\n" +
		"Authentication-Results: mx.mailsift.test; x-mailsift=ham policy.score=0.000\r\n" + spam
	for name, raw := range map[string]string{"ham": ham, "spam": spam} {
		v, err := f.Classify([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %s", name, filter.SpamHeader(v.Result, nil))
	}

	cfg := milter.DefaultConfig()
	cfg.TagSubjectAt = 0.9
	cfg.ResultsHeader, cfg.AuthservID = true, "mx.mailsift.test"
	srv := milter.New(cfg, milter.FilterScanner{Filter: f}, milter.Options{})
	mln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(mln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("milter shutdown: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("milter serve: %v", err)
		}
	})

	capture := newCaptureServer(t)
	pf := startPostfix(t, postfix, mln.Addr().(*net.TCPAddr).Port, capture.port)
	t.Logf("postfix up after %s", time.Since(began).Round(time.Millisecond))

	// Ham, spam and spam with forged headers go through, marked, one at a
	// time so that each relayed message is known.
	const attachments = `cset="big5" type="audio/x-wav" name="song.wav" `
	for _, c := range []struct {
		name, raw string
		want      expected
	}{
		{"ham", ham, expected{"no; 0.0", "ham", "parser benchmark", ""}},
		{"spam", spam, expected{"yes; 0.9", "spam", "[SPAM] Claim your FREE money now", attachments}},
		{"forged", forged, expected{"yes; 0.9", "spam", "[SPAM] Claim your FREE money now", attachments}},
	} {
		if err := pf.send(c.raw); err != nil {
			pf.fail(t, "%s: send: %v", c.name, err)
		}
		m := capture.next(t, pf)
		checkMail(t, pf, c.name, m, c.raw, c.want)
		t.Logf("%s relayed as:\n%s", c.name, m.raw[:strings.Index(m.raw, "\r\n\r\n")])
	}

	// Reject: live reload, then the spam is refused at the end of DATA.
	cfg.RejectAt = 0.95
	srv.SetConfig(cfg)
	err = pf.send(spam)
	var perr *textproto.Error
	if !errors.As(err, &perr) || perr.Code != 550 || !strings.Contains(perr.Msg, "5.7.1 Message rejected as spam") {
		pf.fail(t, "spam with reject_at: got %v, want 550 5.7.1", err)
	}
	// Ham still passes.
	if err := pf.send(ham); err != nil {
		pf.fail(t, "ham after reject_at: %v", err)
	}
	if m := capture.next(t, pf); !strings.Contains(m.header.Get("From"), "alice@") {
		pf.fail(t, "after the rejected spam, got %q, want the ham", m.header.Get("From"))
	}

	// Quarantine: Postfix puts the message on hold.
	cfg.RejectAt, cfg.QuarantineAt = 0, 0.95
	srv.SetConfig(cfg)
	if err := pf.send(spam); err != nil {
		pf.fail(t, "quarantined spam: %v", err)
	}
	// Held with the headers added and, quarantine being the stronger
	// action, the Subject as it was.
	held := pf.held(t)
	if !strings.Contains(held, "\nX-Spam: yes; 0.9") || !strings.Contains(held, "\nSubject: Claim your FREE money now") ||
		!strings.Contains(held, "\nX-Attachments: "+attachments) {
		pf.fail(t, "held message:\n%s", held)
	}
	t.Logf("end to end in %s", time.Since(began).Round(time.Millisecond))
}

// expected is what a relayed message should carry.
type expected struct {
	spam        string // start of the X-Spam value
	result      string // x-mailsift result
	subject     string
	attachments string // X-Attachments value; "" for none
}

// checkMail compares what the capture server received with what was sent.
func checkMail(t *testing.T, pf *postfixInstance, name string, m capturedMail, sent string, want expected) {
	t.Helper()
	xs := m.header.Values("X-Spam")
	if len(xs) != 1 || !strings.HasPrefix(xs[0], want.spam) {
		pf.fail(t, "%s: X-Spam %q, want one starting %q\n%s", name, xs, want.spam, m.raw)
	}
	xa := m.header.Values("X-Attachments")
	switch {
	case want.attachments == "" && len(xa) != 0:
		pf.fail(t, "%s: X-Attachments %q, want none", name, xa)
	case want.attachments != "" && (len(xa) != 1 || xa[0] != strings.TrimSpace(want.attachments)):
		pf.fail(t, "%s: X-Attachments %q, want %q", name, xa, want.attachments)
	}
	if got := m.header.Values("Subject"); len(got) != 1 || got[0] != want.subject {
		pf.fail(t, "%s: Subject %q, want %q", name, got, want.subject)
	}
	sentBody := sent[strings.Index(sent, "\r\n\r\n")+4:]
	if m.body != sentBody {
		pf.fail(t, "%s: body changed:\n%q\nwant\n%q", name, m.body, sentBody)
	}
	// Every header field sent arrives, but the ones the milter replaces.
	sentHeader := readHeader(t, sent)
	for k, vs := range sentHeader {
		if k == "X-Spam" || k == "X-Attachments" || k == "Subject" || k == "Authentication-Results" {
			continue
		}
		if got := m.header.Values(k); strings.Join(got, "\n") != strings.Join(vs, "\n") {
			pf.fail(t, "%s: %s %q, want %q", name, k, got, vs)
		}
	}
	if ar := m.header.Values("Authentication-Results"); len(ar) != 1 || !strings.HasPrefix(ar[0], "mx.mailsift.test; x-mailsift="+want.result+" policy.score=") {
		pf.fail(t, "%s: Authentication-Results %q, want only ours, x-mailsift=%s", name, ar, want.result)
	}
	if first := strings.SplitN(m.raw, ":", 2)[0]; first != "Received" && first != "Authentication-Results" {
		pf.fail(t, "%s: first field %q", name, first)
	}
}

func readHeader(t *testing.T, raw string) textproto.MIMEHeader {
	t.Helper()
	h, err := textproto.NewReader(bufio.NewReader(strings.NewReader(raw))).ReadMIMEHeader()
	if err != nil {
		t.Fatalf("header of %q: %v", raw, err)
	}
	return h
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// crlf gives a message SMTP's line endings.
func crlf(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
}

// requirePostfix returns the postfix command, or skips the test.
func requirePostfix(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test with Postfix skipped in -short mode")
	}
	path, err := exec.LookPath("postfix")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/postfix"); serr != nil {
			t.Skip("postfix not installed: apt-get install postfix (make test installs it)")
		}
		path = "/usr/sbin/postfix"
	}
	if os.Geteuid() != 0 {
		t.Skip("the end-to-end test starts a private Postfix, which needs root")
	}
	if _, err := user.Lookup("postfix"); err != nil {
		t.Skip("no postfix user: apt-get install postfix (make test installs it)")
	}
	if _, err := user.LookupGroup("postdrop"); err != nil {
		t.Skip("no postdrop group: apt-get install postfix (make test installs it)")
	}
	return path
}

// trainedFilter trains a token database from testdata/corpus and returns
// the filter that mark would use on it, with the config defaults but
// min_trained (the corpus holds four mails of each class).
func trainedFilter(t *testing.T) *filter.Filter {
	t.Helper()
	cfg := config.Default()
	cfg.MinTrained = 2
	db, err := tokendb.Open(filepath.Join(t.TempDir(), "tokens.db"), tokendb.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	var batch tokendb.Batch
	for _, class := range []string{"ham", "spam"} {
		r := mailbox.Open([]string{"../../testdata/corpus/" + class + ".mbox"}, nil)
		for {
			m, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			doc := filter.TrainingDoc(m.Raw, cfg.Tokenize(), cfg.SpamHeader, cfg.AttachmentsHeader)
			if class == "ham" {
				batch.Ham = append(batch.Ham, doc)
			} else {
				batch.Spam = append(batch.Spam, doc)
			}
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Apply(batch); err != nil {
		t.Fatal(err)
	}
	return &filter.Filter{Classifier: cfg.Classifier, Params: cfg.Bayes(), Fused: cfg.Fused(),
		Tokens: cfg.Tokenize(), Store: db, Reassemble: cfg.ReassembleWords}
}

// postfixInstance is a private Postfix: its own configuration, queue and
// log under dir, smtpd on a loopback port.
type postfixInstance struct {
	cmd, dir string
	smtp     string
}

func startPostfix(t *testing.T, postfix string, milterPort, relayPort int) *postfixInstance {
	t.Helper()
	dir, err := os.MkdirTemp("", "mailsift-postfix-")
	if err != nil {
		t.Fatal(err)
	}
	// The postfix user must reach the queue and the log.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// The configuration directory holds nothing else: postfix check wants
	// all of it owned by root, and the queue by the postfix user.
	for _, sub := range []string{"etc", "queue"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	pf := &postfixInstance{cmd: postfix, dir: dir, smtp: fmt.Sprintf("127.0.0.1:%d", freePort(t))}
	mainCF := fmt.Sprintf(`compatibility_level = 3.6
queue_directory = %[1]s/queue
data_directory = %[1]s/data
maillog_file = %[1]s/maillog
maillog_file_prefixes = %[1]s
syslog_name = postfix-mailsift-test
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.mailsift.test
mydomain = mailsift.test
myorigin = $myhostname
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
mydestination =
local_recipient_maps =
local_transport = error:local delivery is off
alias_maps =
alias_database =
relay_domains =
relayhost = [127.0.0.1]:%[2]d
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_milters = inet:127.0.0.1:%[3]d
milter_default_action = accept
milter_protocol = 6
smtpd_peername_lookup = no
smtpd_tls_security_level = none
smtp_tls_security_level = none
smtp_line_length_limit = 0
disable_mime_output_conversion = yes
local_header_rewrite_clients =
smtputf8_enable = no
biff = no
smtp_connect_timeout = 5s
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
`, dir, relayPort, milterPort)
	masterCF := fmt.Sprintf(`%s inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
`, pf.smtp)
	for name, content := range map[string]string{"main.cf": mainCF, "master.cf": masterCF} {
		if err := os.WriteFile(filepath.Join(dir, "etc", name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { pf.stop(t) })
	if out, err := pf.run("start"); err != nil {
		pf.fail(t, "postfix start: %v\n%s", err, out)
	}
	// Wait for smtpd.
	deadline := time.Now().Add(e2eDeadline)
	for {
		c, err := net.DialTimeout("tcp", pf.smtp, time.Second)
		if err == nil {
			_ = c.Close()
			return pf
		}
		if time.Now().After(deadline) {
			pf.fail(t, "smtpd never listened on %s: %v", pf.smtp, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (pf *postfixInstance) run(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), e2eDeadline)
	defer cancel()
	etc := filepath.Join(pf.dir, "etc")
	cmd := exec.CommandContext(ctx, pf.cmd, append([]string{"-c", etc}, args...)...)
	cmd.Env = append(os.Environ(), "MAIL_CONFIG="+etc)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// stop stops Postfix, kills what is left of it (the master and its
// children share the master's process group), and removes its directory.
func (pf *postfixInstance) stop(t *testing.T) {
	pid := pf.masterPID()
	if out, err := pf.run("stop"); err != nil && pid > 0 {
		t.Logf("postfix stop: %v\n%s", err, out)
	}
	if pid > 0 {
		deadline := time.Now().Add(10 * time.Second)
		for syscall.Kill(pid, 0) == nil && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if syscall.Kill(pid, 0) == nil {
			t.Logf("postfix master %d still running: killing its process group", pid)
			_ = syscall.Kill(-pid, syscall.SIGKILL)
		}
	}
	if err := os.RemoveAll(pf.dir); err != nil {
		t.Error(err)
	}
}

func (pf *postfixInstance) masterPID() int {
	b, err := os.ReadFile(filepath.Join(pf.dir, "queue", "pid", "master.pid"))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return 0
	}
	return pid
}

// fail reports a failure with Postfix's log.
func (pf *postfixInstance) fail(t *testing.T, format string, args ...any) {
	t.Helper()
	log, err := os.ReadFile(filepath.Join(pf.dir, "maillog"))
	if err != nil {
		log = []byte(err.Error())
	}
	t.Fatalf(format+"\n--- postfix maillog:\n%s", append(args, log)...)
}

// send submits raw to Postfix's smtpd, as an MTA would.
func (pf *postfixInstance) send(raw string) error {
	conn, err := net.DialTimeout("tcp", pf.smtp, 5*time.Second)
	if err != nil {
		return err
	}
	if err := conn.SetDeadline(time.Now().Add(e2eDeadline)); err != nil {
		return err
	}
	c, err := smtp.NewClient(conn, "mx.mailsift.test")
	if err != nil {
		_ = conn.Close()
		return err
	}
	defer func() { _ = c.Close() }()
	if err := c.Hello("client.mailsift.test"); err != nil {
		return err
	}
	if err := c.Mail("sender@example.net"); err != nil {
		return err
	}
	if err := c.Rcpt("bob@example.org"); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, raw); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// held waits for a message in the hold queue and returns its header, as
// postcat prints it.
func (pf *postfixInstance) held(t *testing.T) string {
	t.Helper()
	deadline := time.Now().Add(e2eDeadline)
	for {
		var id string
		_ = filepath.WalkDir(filepath.Join(pf.dir, "queue", "hold"), func(_ string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				id = d.Name()
			}
			return nil
		})
		if id != "" {
			postcat := filepath.Join(filepath.Dir(pf.cmd), "postcat")
			out, err := exec.Command(postcat, "-c", filepath.Join(pf.dir, "etc"), "-h", "-q", id).CombinedOutput()
			if err != nil {
				pf.fail(t, "postcat %s: %v\n%s", id, err, out)
			}
			return string(out)
		}
		if time.Now().After(deadline) {
			pf.fail(t, "no message in the hold queue")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return port
}

// captureServer is the smallest SMTP server Postfix relays to: it takes
// every message and hands it to the test.
type captureServer struct {
	port int
	mail chan capturedMail
}

type capturedMail struct {
	raw    string
	header textproto.MIMEHeader
	body   string
}

func newCaptureServer(t *testing.T) *captureServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cs := &captureServer{port: ln.Addr().(*net.TCPAddr).Port, mail: make(chan capturedMail, 10)}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
	})
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for c := range conns {
			_ = c.Close()
		}
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = true
			mu.Unlock()
			wg.Go(func() {
				defer func() { _ = c.Close() }()
				cs.serve(c)
			})
		}
	})
	return cs
}

func (cs *captureServer) serve(c net.Conn) {
	_ = c.SetDeadline(time.Now().Add(e2eDeadline))
	tp := textproto.NewConn(c)
	reply := func(s string) bool { return tp.PrintfLine("%s", s) == nil }
	if !reply("220 capture.test ESMTP") {
		return
	}
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb := strings.ToUpper(strings.SplitN(line, " ", 2)[0])
		switch verb {
		case "EHLO":
			if !reply("250-capture.test\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES") {
				return
			}
		case "HELO", "MAIL", "RCPT", "RSET", "NOOP":
			if !reply("250 2.0.0 ok") {
				return
			}
		case "DATA":
			if !reply("354 go ahead") {
				return
			}
			// Read the lines as they come (textproto's DotReader would
			// turn CRLF into LF), undoing only the dot-stuffing.
			var data strings.Builder
			for {
				line, err := tp.R.ReadString('\n')
				if err != nil {
					return
				}
				if line == ".\r\n" {
					break
				}
				data.WriteString(strings.TrimPrefix(line, "."))
			}
			raw := data.String()
			head, body, _ := strings.Cut(raw, "\r\n\r\n")
			h, _ := textproto.NewReader(bufio.NewReader(strings.NewReader(head + "\r\n\r\n"))).ReadMIMEHeader()
			cs.mail <- capturedMail{raw: raw, header: h, body: body}
			if !reply("250 2.0.0 queued") {
				return
			}
		case "QUIT":
			reply("221 2.0.0 bye")
			return
		default:
			if !reply("502 5.5.2 not implemented") {
				return
			}
		}
	}
}

// next waits for the next relayed message.
func (cs *captureServer) next(t *testing.T, pf *postfixInstance) capturedMail {
	t.Helper()
	select {
	case m := <-cs.mail:
		return m
	case <-time.After(e2eDeadline):
		pf.fail(t, "no mail relayed within %s", e2eDeadline)
		return capturedMail{}
	}
}
