package sink

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailsift/mailsift/report"
)

// The reports of the recorded exchanges in testdata/bulk. Their bodies
// there are these reports as ElasticDocs and WriteBulk encode them.
var bulkAt = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

const (
	bulkIDA = "900e1c03394e4a249e35fdeefe06d966d79286e5ab933633d2d49674292788e4"
	bulkIDB = "aff292bad18a8ace41d50be65098d6999f6fea7d2958884be1a96ece1b581c31"
	bulkIDC = "bd0d53edd1df7491c596e12e610f1a9dc087d3674a3182b66e95aec84e06df20"
	bulkIDD = "7ed8565bfda84bcc76a117b92d8f9f0478ce085b294bcf5cc49dfc2aa974430b"
)

// bulkReportA has an attachment: two documents, two actions.
func bulkReportA() *report.Report {
	date := time.Date(2026, 3, 4, 4, 58, 0, 0, time.UTC)
	return &report.Report{
		Version:    report.Version,
		ID:         bulkIDA,
		AnalysedAt: bulkAt,
		Mail: report.Mail{
			From:      []report.Address{{Name: "Billing", Address: "billing@example.com"}},
			To:        []report.Address{{Address: "ann@example.org"}},
			Subject:   "Invoice 2026-117",
			MessageID: "20260304045800.4711@example.com",
			Date:      &date,
			Size:      24576,
		},
		Attachments: []report.Attachment{{
			Part: "2", Filename: "invoice.pdf", Extension: "pdf", DeclaredType: "application/pdf",
			SniffedType: "application/pdf", Size: 18211,
			Hashes: report.Hashes{MD5: "359d138ebaa51bd55a1ede3dded1047d",
				SHA256: "4186e1167cb2db59045d2e65255ae58b381b13fbff71a35802d50f09e965dde0"},
		}},
	}
}

// bulkPlain is a report without attachments: one action.
func bulkPlain(id, subject string) *report.Report {
	return &report.Report{
		Version:    report.Version,
		ID:         id,
		AnalysedAt: bulkAt,
		Mail: report.Mail{
			From:    []report.Address{{Address: "bob@example.org"}},
			To:      []report.Address{{Address: "ann@example.org"}},
			Subject: subject,
			Size:    812,
		},
	}
}

// bulkReportB and bulkReportD carry an error, which the partial-failure
// recording's index refuses.
func bulkReportB() *report.Report {
	r := bulkPlain(bulkIDB, "Lunch on Friday?")
	r.Error = "body 1: charset x-unknown: decoded as latin-1"
	return r
}

func bulkReportC() *report.Report { return bulkPlain(bulkIDC, "Meeting notes") }

func bulkReportD() *report.Report {
	r := bulkPlain(bulkIDD, "Re: Meeting notes")
	r.Error = "no header section"
	return r
}

// exchange is one recorded request and the server's answer to it.
type exchange struct {
	line   int // of the request in the fixture
	method string
	uri    string
	// header holds the request headers that matter; an empty value
	// means the header must not be sent.
	header     map[string]string
	body       []byte
	status     int
	respHeader http.Header
	respBody   []byte
}

// loadExchanges reads a recorded conversation with Elasticsearch or
// OpenSearch from testdata/bulk: the requests the client must send, in
// order, each with the server's answer.
//
//	>>> METHOD REQUEST-URI
//	Name: value     a header the request must carry, with this value
//	Name:           a header the request must not carry
//	                (a blank line)
//	body lines      the request body, byte for byte, each line ending in
//	                a newline; a body of one line "@template NAME" is
//	                IndexTemplates()[NAME]
//	<<< STATUS TEXT
//	Name: value     the answer's headers
//	                (a blank line)
//	body lines      the answer's body
//
// Lines starting with "#" are comments, and blank lines ending a body
// are dropped. Bodies are JSON, NDJSON or a proxy's HTML page, so no
// body line starts with "#", ">>> " or "<<< ".
func loadExchanges(t *testing.T, name string) []exchange {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "bulk", name))
	if err != nil {
		t.Fatal(err)
	}
	const (
		outside = iota
		reqHeader
		reqBody
		respHeader
		respBody
	)
	var xs []exchange
	var body []string
	state := outside
	endBody := func() []byte {
		for len(body) > 0 && body[len(body)-1] == "" {
			body = body[:len(body)-1]
		}
		defer func() { body = nil }()
		if len(body) == 1 && strings.HasPrefix(body[0], "@template ") {
			tpl, ok := IndexTemplates()[strings.TrimPrefix(body[0], "@template ")]
			if !ok {
				t.Fatalf("%s: %s: no such template", name, body[0])
			}
			return tpl
		}
		var b []byte
		for _, l := range body {
			b = append(append(b, l...), '\n')
		}
		return b
	}
	for i, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		where := fmt.Sprintf("%s:%d", name, i+1)
		switch {
		case strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, ">>> "):
			switch state {
			case reqHeader, reqBody:
				t.Fatalf("%s: request without an answer before", where)
			case respHeader, respBody:
				xs[len(xs)-1].respBody = endBody()
			}
			method, uri, ok := strings.Cut(line[4:], " ")
			if !ok {
				t.Fatalf("%s: want >>> METHOD REQUEST-URI", where)
			}
			xs = append(xs, exchange{line: i + 1, method: method, uri: uri, header: map[string]string{}, respHeader: http.Header{}})
			state = reqHeader
		case strings.HasPrefix(line, "<<< "):
			if state != reqHeader && state != reqBody {
				t.Fatalf("%s: answer without a request", where)
			}
			xs[len(xs)-1].body = endBody()
			code, _, _ := strings.Cut(line[4:], " ")
			status, err := strconv.Atoi(code)
			if err != nil {
				t.Fatalf("%s: want <<< STATUS TEXT", where)
			}
			xs[len(xs)-1].status = status
			state = respHeader
		case state == outside:
			if line != "" {
				t.Fatalf("%s: text outside an exchange", where)
			}
		case state == reqHeader || state == respHeader:
			if line == "" {
				state++
				break
			}
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				t.Fatalf("%s: want Name: value", where)
			}
			if state == reqHeader {
				xs[len(xs)-1].header[http.CanonicalHeaderKey(k)] = strings.TrimSpace(v)
			} else {
				xs[len(xs)-1].respHeader.Add(k, strings.TrimSpace(v))
			}
		default:
			body = append(body, line)
		}
	}
	switch state {
	case reqHeader, reqBody:
		t.Fatalf("%s: the last request has no answer", name)
	case respHeader, respBody:
		xs[len(xs)-1].respBody = endBody()
	}
	if len(xs) == 0 {
		t.Fatalf("%s: no exchange", name)
	}
	return xs
}

// replay is a server that plays Elasticsearch's part of a recorded
// conversation: it checks each request against the next recorded one
// and gives the recorded answer.
type replay struct {
	t    *testing.T
	name string
	srv  *httptest.Server

	mu   sync.Mutex
	xs   []exchange
	next int
}

// newReplay starts a server for the recording in testdata/bulk/fixture;
// with no fixture, it expects no request.
func newReplay(t *testing.T, fixture string, useTLS bool) *replay {
	t.Helper()
	rp := &replay{t: t, name: fixture}
	if fixture != "" {
		rp.xs = loadExchanges(t, fixture)
	}
	rp.srv = httptest.NewUnstartedServer(rp)
	rp.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshakes that fail on purpose
	if useTLS {
		rp.srv.StartTLS()
	} else {
		rp.srv.Start()
	}
	t.Cleanup(rp.srv.Close)
	return rp
}

func (rp *replay) host() string { return rp.srv.Listener.Addr().String() }

func (rp *replay) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		rp.t.Errorf("%s: reading the request: %v", rp.name, err)
	}
	rp.mu.Lock()
	defer rp.mu.Unlock()
	n := rp.next
	rp.next++
	if n >= len(rp.xs) {
		rp.t.Errorf("%s: request %d, %s %s, was not recorded", rp.name, n+1, r.Method, r.URL.RequestURI())
		// 400 refuses the batch for good: no retries to wait for.
		http.Error(w, "not recorded", http.StatusBadRequest)
		return
	}
	x := rp.xs[n]
	where := fmt.Sprintf("%s:%d", rp.name, x.line)
	if r.Method != x.method || r.URL.RequestURI() != x.uri {
		rp.t.Errorf("%s: got %s %s, want %s %s", where, r.Method, r.URL.RequestURI(), x.method, x.uri)
	}
	for k, want := range x.header {
		_, sent := r.Header[k]
		switch {
		case want == "" && sent:
			rp.t.Errorf("%s: header %s: %q sent, want none", where, k, r.Header.Get(k))
		case want != "" && r.Header.Get(k) != want:
			rp.t.Errorf("%s: header %s: %q, want %q", where, k, r.Header.Get(k), want)
		}
	}
	if !bytes.Equal(body, x.body) {
		rp.t.Errorf("%s: request body differs: %s", where, bodyDiff(body, x.body))
	}
	maps.Copy(w.Header(), x.respHeader)
	w.WriteHeader(x.status)
	if _, err := w.Write(x.respBody); err != nil {
		rp.t.Errorf("%s: writing the answer: %v", where, err)
	}
}

// served returns how many requests came.
func (rp *replay) served() int {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	return rp.next
}

// done checks that every recorded exchange took place.
func (rp *replay) done(t *testing.T) {
	t.Helper()
	if n := rp.served(); n != len(rp.xs) {
		t.Errorf("%s: %d requests, want the %d recorded", rp.name, n, len(rp.xs))
	}
}

// bodyDiff shows where got first differs from want, and got whole for
// a fixture to be brought up to date.
func bodyDiff(got, want []byte) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	around := func(b []byte) string {
		return fmt.Sprintf("%q", b[max(0, i-40):min(len(b), i+60)])
	}
	return fmt.Sprintf("%d bytes, want %d; at byte %d got %s, want %s; got:\n%s", len(got), len(want), i, around(got), around(want), got)
}

// errorLog gathers what a Queue's OnError hears.
type errorLog struct {
	mu   sync.Mutex
	msgs []string
}

func (l *errorLog) add(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, err.Error())
}

// has reports whether one message holds all of parts.
func (l *errorLog) has(parts ...string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
next:
	for _, m := range l.msgs {
		for _, p := range parts {
			if !strings.Contains(m, p) {
				continue next
			}
		}
		return true
	}
	return false
}

func (l *errorLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.msgs, "\n")
}

// bulkOptions are short timings for tests. A test whose recorded batch
// holds several reports sets Batch to their number and a long
// FlushInterval, so that the batch goes when it is full and a slow
// machine cannot split it; the test never waits for the interval.
func bulkOptions(errs *errorLog) QueueOptions {
	return QueueOptions{FlushInterval: 10 * time.Millisecond, RetryMin: 5 * time.Millisecond,
		RetryMax: 50 * time.Millisecond, DrainTimeout: 5 * time.Second, OnError: errs.add}
}

func writeReports(t *testing.T, s Sink, reports ...*report.Report) {
	t.Helper()
	for _, r := range reports {
		if err := s.Write(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
}

func TestElasticTemplatesAndBulk(t *testing.T) {
	rp := newReplay(t, "templates_and_bulk.txt", false)
	var errs errorLog
	o := bulkOptions(&errs)
	o.Batch, o.FlushInterval = 2, time.Minute
	q, err := OpenElastic("es+http://"+rp.host(), o)
	if err != nil {
		t.Fatal(err)
	}
	if n := rp.served(); n != 2 {
		t.Errorf("%d requests while opening, want the 2 templates", n)
	}
	writeReports(t, q, bulkReportA(), bulkReportB())
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	rp.done(t)
	if st := q.Stats(); st.Sent != 2 || st.Batches != 1 || st.Retries != 0 || st.Rejected != 0 || st.Lost != 0 {
		t.Errorf("stats %+v", st)
	}
	if s := errs.String(); s != "" {
		t.Errorf("errors reported:\n%s", s)
	}
}

func TestElasticPartialFailure(t *testing.T) {
	rp := newReplay(t, "partial.txt", false)
	var errs errorLog
	o := bulkOptions(&errs)
	o.Batch, o.FlushInterval = 3, time.Minute // A, B, C; then D alone, sent by Close
	q, err := OpenElastic("es+http://"+rp.host()+"?templates=false", o)
	if err != nil {
		t.Fatal(err)
	}
	writeReports(t, q, bulkReportA(), bulkReportB(), bulkReportC(), bulkReportD())
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	rp.done(t)
	if !errs.has("report "+bulkIDA, "429", "es_rejected_execution_exception", "failed for now",
		"report "+bulkIDB, "400", "mapper_parsing_exception", "refused for good") {
		t.Errorf("OnError did not hear of A throttled and B refused in one batch:\n%s", errs.String())
	}
	if !errs.has("refused", "report "+bulkIDD, "mapper_parsing_exception") {
		t.Errorf("OnError did not hear of D refused:\n%s", errs.String())
	}
	// A and C stored, B and D refused; A's batch and D's.
	if st := q.Stats(); st.Rejected != 2 || st.Sent != 2 || st.Retries != 1 || st.Batches != 2 || st.Lost != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestElasticUnavailableThenUp(t *testing.T) {
	rp := newReplay(t, "unavailable.txt", false)
	var errs errorLog
	q, err := OpenElastic("es+http://"+rp.host()+"?templates=false", bulkOptions(&errs))
	if err != nil {
		t.Fatal(err)
	}
	writeReports(t, q, bulkReportC())
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	rp.done(t)
	if st := q.Stats(); st.Sent != 1 || st.Batches != 1 || st.Retries != 1 || st.Rejected != 0 {
		t.Errorf("stats %+v", st)
	}
	if !errs.has("1 reports to send again", "503 Service Unavailable", "cluster_block_exception") {
		t.Errorf("OnError heard:\n%s", errs.String())
	}
}

func TestElasticAuth(t *testing.T) {
	t.Run("basic", func(t *testing.T) {
		rp := newReplay(t, "auth_basic.txt", false)
		var errs errorLog
		q, err := OpenElastic("es+http://elastic:changeme@"+rp.host()+"/search/?templates=false", bulkOptions(&errs))
		if err != nil {
			t.Fatal(err)
		}
		writeReports(t, q, bulkReportC())
		if err := q.Close(); err != nil {
			t.Fatal(err)
		}
		rp.done(t)
		if st := q.Stats(); st.Sent != 1 {
			t.Errorf("stats %+v; errors:\n%s", st, errs.String())
		}
	})
	t.Run("api key over TLS", func(t *testing.T) {
		rp := newReplay(t, "auth_apikey.txt", true)
		dir := t.TempDir()
		keyFile := filepath.Join(dir, "api key")
		caFile := filepath.Join(dir, "ca.pem")
		if err := os.WriteFile(keyFile, []byte("VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: rp.srv.Certificate().Raw})
		if err := os.WriteFile(caFile, ca, 0o600); err != nil {
			t.Fatal(err)
		}
		var errs errorLog
		spec := "es+https://" + rp.host() + "?api_key_file=" + url.QueryEscape(keyFile) + "&ca_file=" + url.QueryEscape(caFile)
		q, err := OpenElastic(spec, bulkOptions(&errs))
		if err != nil {
			t.Fatal(err)
		}
		if n := rp.served(); n != 2 {
			t.Errorf("%d requests while opening, want the 2 templates; errors:\n%s", n, errs.String())
		}
		writeReports(t, q, bulkReportC())
		if err := q.Close(); err != nil {
			t.Fatal(err)
		}
		rp.done(t)
		if st := q.Stats(); st.Sent != 1 {
			t.Errorf("stats %+v; errors:\n%s", st, errs.String())
		}
	})
	t.Run("TLS without the CA", func(t *testing.T) {
		rp := newReplay(t, "", true)
		var errs errorLog
		q, err := OpenElastic("es+https://"+rp.host(), bulkOptions(&errs))
		if err != nil {
			t.Fatalf("open failed, though the templates can wait: %v", err)
		}
		if !errs.has("install index template", "certificate", "trying again before the first batch") {
			t.Errorf("OnError heard:\n%s", errs.String())
		}
		if err := q.Close(); err != nil {
			t.Fatal(err)
		}
		rp.done(t)
	})
}

func TestElasticTemplatesDeferred(t *testing.T) {
	rp := newReplay(t, "templates_deferred.txt", false)
	var errs errorLog
	q, err := OpenElastic("es+http://"+rp.host(), bulkOptions(&errs))
	if err != nil {
		t.Fatalf("open failed, though the templates can wait: %v", err)
	}
	if n := rp.served(); n != 1 {
		t.Errorf("%d requests while opening, want 1", n)
	}
	if !errs.has("mailsift-attachments", "503 Service Unavailable", "master_not_discovered_exception", "trying again before the first batch") {
		t.Errorf("OnError heard:\n%s", errs.String())
	}
	writeReports(t, q, bulkReportC())
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	rp.done(t)
	if !errs.has("install index template mailsift-mails", "502 Bad Gateway") {
		t.Errorf("OnError heard:\n%s", errs.String())
	}
	if st := q.Stats(); st.Sent != 1 || st.Retries != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestElasticTemplatesForbidden(t *testing.T) {
	rp := newReplay(t, "templates_forbidden.txt", false)
	keyFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(keyFile, []byte("VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw=="), 0o600); err != nil {
		t.Fatal(err)
	}
	q, err := OpenElastic("es+http://"+rp.host()+"?api_key_file="+url.QueryEscape(keyFile), bulkOptions(&errorLog{}))
	if err == nil {
		_ = q.Close()
		t.Fatal("open succeeded")
	}
	for _, want := range []string{"sink: elasticsearch: install index template mailsift-attachments", "403 Forbidden",
		"security_exception", "manage_index_templates", "privileges", "templates=false"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	rp.done(t)
}

func TestElasticUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	var errs errorLog
	o := bulkOptions(&errs)
	o.DrainTimeout = 100 * time.Millisecond
	q, err := OpenElastic("es+http://"+addr, o)
	if err != nil {
		t.Fatalf("open failed, though the templates can wait: %v", err)
	}
	if !errs.has("install index template", "trying again before the first batch") {
		t.Errorf("OnError heard:\n%s", errs.String())
	}
	writeReports(t, q, bulkReportC())
	err = q.Close()
	if err == nil || !strings.Contains(err.Error(), "1 reports not delivered") {
		t.Errorf("Close = %v, want the lost report counted", err)
	}
	if st := q.Stats(); st.Lost != 1 || st.Sent != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestOpenElasticErrors(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "key")
	empty := filepath.Join(dir, "empty")
	notPEM := filepath.Join(dir, "ca.txt")
	missing := filepath.Join(dir, "missing")
	for path, data := range map[string]string{key: "a2V5\n", empty: " \n", notPEM: "not a certificate\n"} {
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		spec string
		want []string
	}{
		{"es+ftp://h:9200", []string{`scheme "es+ftp"`, "es+http[s]://"}},
		{"http://h:9200", []string{"want es+http or es+https"}},
		{"es+http://", []string{"no host"}},
		{"es+http:h", []string{"no host"}},
		{"es+http://h:port", []string{"bad URL", "invalid port"}},
		{"es+http://u:s3cret@h:port", []string{"bad URL", "invalid port"}},
		{"es+http://h:9200#x", []string{"unexpected #x"}},
		{"es+http://elastic@h:9200", []string{"USER:PASSWORD"}},
		{"es+http://:s3cret@h:9200", []string{"USER:PASSWORD"}},
		{"es+http://h:9200?colour=red", []string{`unknown option "colour"`, "prefix, templates, api_key_file, ca_file, timeout"}},
		{"es+http://h:9200?%zz", []string{"bad options"}},
		{"es+http://h:9200?prefix=Mail", []string{"not lower-case"}},
		{"es+http://h:9200?prefix=_x", []string{"starts with"}},
		{"es+http://h:9200?prefix=a&prefix=b", []string{"prefix given 2 times"}},
		{"es+http://h:9200?templates=maybe", []string{"templates=maybe", "true or false"}},
		{"es+http://h:9200?timeout=soon", []string{"timeout=soon", "positive duration"}},
		{"es+http://h:9200?timeout=0s", []string{"timeout=0s"}},
		{"es+http://h:9200?timeout=-1s", []string{"timeout=-1s"}},
		{"es+http://h:9200?api_key_file=" + missing, []string{"api_key_file", missing}},
		{"es+http://h:9200?api_key_file=" + empty, []string{"want one encoded API key"}},
		{"es+http://u:s3cret@h:9200?api_key_file=" + key, []string{"both given"}},
		{"es+http://h:9200?ca_file=" + notPEM, []string{"ca_file needs es+https"}},
		{"es+https://h:9200?ca_file=" + missing, []string{"ca_file", missing}},
		{"es+https://h:9200?ca_file=" + notPEM, []string{"no PEM certificate"}},
	}
	for _, tt := range tests {
		q, err := OpenElastic(tt.spec, bulkOptions(&errorLog{}))
		if err == nil {
			_ = q.Close()
			t.Errorf("OpenElastic(%q) succeeded", tt.spec)
			continue
		}
		if cerr := CheckElastic(tt.spec); cerr == nil || cerr.Error() != err.Error() {
			t.Errorf("CheckElastic(%q) = %v, want %v", tt.spec, cerr, err)
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "sink: elasticsearch: ") || strings.Contains(msg, "s3cret") {
			t.Errorf("OpenElastic(%q) = %q", tt.spec, msg)
		}
		for _, w := range tt.want {
			if !strings.Contains(msg, w) {
				t.Errorf("OpenElastic(%q) = %q, want it to say %q", tt.spec, msg, w)
			}
		}
	}
	if err := CheckElastic("es+https://u:p@h:9200/es?prefix=ms&templates=false&timeout=10s"); err != nil {
		t.Errorf("CheckElastic of a good spec: %v", err)
	}
	if _, err := OpenElastic("es+http://h:9200?templates=false", QueueOptions{Size: -1}); err == nil ||
		!strings.Contains(err.Error(), "cannot be negative") {
		t.Errorf("bad queue options: %v", err)
	}
}

// TestElasticSendAnswers checks how Send reads answers to the whole
// request.
func TestElasticSendAnswers(t *testing.T) {
	const (
		retryAll = 2
		refused  = 0
	)
	tests := []struct {
		name   string
		status int
		body   string
		retry  int
		want   []string // in the error; none: no error
	}{
		{"throttled", 429, `{"error":{"root_cause":[{"type":"es_rejected_execution_exception","reason":"rejected execution of coordinating operation"}],"type":"es_rejected_execution_exception","reason":"rejected execution of coordinating operation"},"status":429}`,
			retryAll, []string{"POST http://", "/_bulk: 429 Too Many Requests: es_rejected_execution_exception: rejected execution"}},
		{"server error", 500, `{"error":"internal"}`, retryAll, []string{"500 Internal Server Error: internal"}},
		{"proxy page", 502, "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n</html>\r\n", retryAll,
			[]string{"502 Bad Gateway: <html> <head><title>502 Bad Gateway</title></head> </html>"}},
		{"bad credentials", 401, `{"error":{"root_cause":[{"type":"security_exception","reason":"unable to authenticate user [elastic] for REST request [/_bulk]"}],"type":"security_exception","reason":"unable to authenticate user [elastic] for REST request [/_bulk]"},"status":401}`,
			retryAll, []string{"401 Unauthorized", "unable to authenticate", "check the user and password"}},
		{"forbidden", 403, `{"error":{"type":"security_exception","reason":"action [indices:data/write/bulk] is unauthorized"},"status":403}`,
			retryAll, []string{"403 Forbidden", "privileges"}},
		{"wrong path", 404, `{"error":"no handler found for uri [/x/_bulk] and method [POST]"}`, retryAll, []string{"404 Not Found"}},
		{"malformed", 400, `{"error":{"root_cause":[{"type":"illegal_argument_exception","reason":"Malformed action/metadata line [1], expected START_OBJECT but found [VALUE_STRING]"}],"type":"illegal_argument_exception","reason":"Malformed action/metadata line [1], expected START_OBJECT but found [VALUE_STRING]"},"status":400}`,
			refused, []string{"400 Bad Request", "Malformed action/metadata line"}},
		{"too large", 413, "", refused, []string{"413 Request Entity Too Large"}},
		{"not JSON", 200, "<html>hello</html>", retryAll, []string{"not a _bulk answer"}},
		{"cut short", 200, `{"errors":true,"took":3,"items":[{"index":`, retryAll, []string{"not a _bulk answer"}},
		{"items missing", 200, `{"errors":true,"took":3,"items":[{"index":{"status":201}}]}`, retryAll, []string{"1 items for 3 actions"}},
		{"stored", 200, `{"errors":false,"took":3,"items":[]}`, refused, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			e, err := newElasticHTTP("es+http://" + srv.Listener.Addr().String() + "?templates=false")
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = e.Close() }()
			batch := encodeAll(t, e, bulkReportA(), bulkReportC())
			retry, _, err := e.Send(ctx, batch)
			if len(retry) != tt.retry {
				t.Errorf("%d reports to send again, want %d", len(retry), tt.retry)
			}
			if tt.want == nil {
				if err != nil {
					t.Errorf("error %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	e, err := newElasticHTTP("es+http://" + addr + "?templates=false")
	if err != nil {
		t.Fatal(err)
	}
	if retry, _, err := e.Send(ctx, encodeAll(t, e, bulkReportC())); len(retry) != 1 || err == nil {
		t.Errorf("no server: retry %d, error %v", len(retry), err)
	}
}

func encodeAll(t *testing.T, e *elasticHTTP, reports ...*report.Report) []bulkItem {
	t.Helper()
	var batch []bulkItem
	for _, r := range reports {
		it, err := e.Encode(r)
		if err != nil {
			t.Fatal(err)
		}
		batch = append(batch, it)
	}
	return batch
}

// TestBulkOutcome sorts reports by the answers to their actions.
func TestBulkOutcome(t *testing.T) {
	item := func(status int, errType string) string {
		if errType == "" {
			return fmt.Sprintf(`{"index":{"_index":"i","_id":"x","status":%d}}`, status)
		}
		return fmt.Sprintf(`{"index":{"_index":"i","_id":"x","status":%d,"error":{"type":%q,"reason":"why","caused_by":{"type":"cause","reason":"deeper"}}}}`, status, errType)
	}
	// Reports a (2 actions), b (1), c (1), and one without an id (1).
	batch := []bulkItem{{id: "a", actions: 2}, {id: "b", actions: 1}, {id: "c", actions: 1}, {actions: 1}}
	tests := []struct {
		name  string
		items []string // one per action
		retry string   // ids of the reports to send again
		want  []string // in the error; none: no error
	}{
		{"all stored", []string{item(201, ""), item(201, ""), item(200, ""), item(201, ""), item(201, "")}, "", nil},
		{"throttled", []string{item(201, ""), item(429, "es_rejected_execution_exception"), item(201, ""), item(503, "unavailable_shards_exception"), item(201, "")},
			"a,c", []string{"2 of 4 reports failed for now", "report a: i/x: 429 es_rejected_execution_exception: why (caused by cause: deeper)", "report c: i/x: 503"}},
		{"refused", []string{item(201, ""), item(201, ""), item(409, "version_conflict_engine_exception"), item(201, ""), item(400, "mapper_parsing_exception")},
			"", []string{"2 of 4 reports refused for good", "report b: i/x: 409 version_conflict_engine_exception", "report #4 of the batch: i/x: 400"}},
		{"both", []string{item(400, "mapper_parsing_exception"), item(201, ""), item(500, "x"), item(201, ""), item(201, "")},
			"b", []string{"1 of 4 reports failed for now: report b", "1 refused for good, not sent again: report a: i/x: 400 mapper_parsing_exception"}},
		{"throttled wins over refused", []string{item(400, "mapper_parsing_exception"), item(429, "es_rejected_execution_exception"), item(201, ""), item(201, ""), item(201, "")},
			"a", []string{"1 of 4 reports failed for now: report a: i/x: 429"}},
		{"many refused", []string{item(400, "m"), item(201, ""), item(400, "m"), item(400, "m"), item(400, "m")},
			"", []string{"4 of 4 reports refused for good", "; and 1 more"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var res bulkResponse
			data := `{"took":1,"errors":true,"items":[` + strings.Join(tt.items, ",") + `]}`
			if err := json.Unmarshal([]byte(data), &res); err != nil {
				t.Fatal(err)
			}
			retry, _, err := bulkOutcome(batch, &res)
			var ids []string
			for _, it := range retry {
				ids = append(ids, it.id)
			}
			if got := strings.Join(ids, ","); got != tt.retry {
				t.Errorf("send again %q, want %q", got, tt.retry)
			}
			if tt.want == nil {
				if err != nil {
					t.Errorf("error %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestTemplatesFor(t *testing.T) {
	same, err := templatesFor(DefaultPrefix)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(same, IndexTemplates()) {
		t.Error("the default prefix changed the templates")
	}
	got, err := templatesFor("ms")
	if err != nil {
		t.Fatal(err)
	}
	if names := sortedKeys(got); !slices.Equal(names, []string{"ms-attachments", "ms-mails"}) {
		t.Fatalf("templates %v", names)
	}
	for _, kind := range []string{"mails", "attachments"} {
		var orig, renamed map[string]any
		if err := json.Unmarshal(IndexTemplates()["mailsift-"+kind], &orig); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(got["ms-"+kind], &renamed); err != nil {
			t.Fatal(err)
		}
		if p := renamed["index_patterns"]; !reflect.DeepEqual(p, []any{"ms-" + kind + "-*"}) {
			t.Errorf("%s: index_patterns %v", kind, p)
		}
		tpl := renamed["template"].(map[string]any)
		if a := tpl["aliases"]; !reflect.DeepEqual(a, map[string]any{"ms-" + kind: map[string]any{}}) {
			t.Errorf("%s: aliases %v", kind, a)
		}
		// The rest is unchanged.
		origTpl := orig["template"].(map[string]any)
		delete(tpl, "aliases")
		delete(origTpl, "aliases")
		delete(orig, "index_patterns")
		delete(renamed, "index_patterns")
		if !reflect.DeepEqual(orig, renamed) {
			t.Errorf("%s: renaming changed more than the names", kind)
		}
	}
	e, err := newElasticHTTP("es+http://h:9200?prefix=ms")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(e.pending, []string{"ms-attachments", "ms-mails"}) {
		t.Errorf("pending templates %v", e.pending)
	}
	if e, err = newElasticHTTP("es+http://h:9200?templates=false"); err != nil || e.pending != nil {
		t.Errorf("templates=false: pending %v, error %v", e.pending, err)
	}
}

// FuzzBulkAnswer feeds answers to bulkOutcome: the reports to send again
// are some of the batch, in order, and never without a reason.
func FuzzBulkAnswer(f *testing.F) {
	f.Add([]byte(`{"errors":true,"items":[{"index":{"status":201}},{"index":{"status":429,"error":{"type":"x"}}},{"index":{"status":400}},{"index":{"status":503}}]}`))
	f.Add([]byte(`{"errors":true,"items":[{"index":{"status":201}},{"create":{"status":0}},{},{"index":{"status":201},"delete":{"status":500}}]}`))
	f.Add([]byte(`{"errors":false,"items":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		batch := []bulkItem{{id: "a", actions: 2}, {id: "b", actions: 1}, {id: "c", actions: 1}}
		var res bulkResponse
		if json.Unmarshal(data, &res) != nil {
			return
		}
		retry, _, err := bulkOutcome(batch, &res)
		if len(retry) > 0 && err == nil {
			t.Fatal("reports to send again without a reason")
		}
		j := 0
		for _, it := range retry {
			for j < len(batch) && batch[j].id != it.id {
				j++
			}
			if j == len(batch) {
				t.Fatalf("send again %v: not some of the batch in order", retry)
			}
			j++
		}
	})
}
