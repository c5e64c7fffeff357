package redis

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/mailsift/mailsift/internal/sink"
	"github.com/mailsift/mailsift/report"
)

// fast are queue options for tests: short waits, a long drain so that
// nothing is lost to a slow machine.
func fast(onError func(error)) sink.QueueOptions {
	return sink.QueueOptions{Batch: 4, FlushInterval: 10 * time.Millisecond,
		RetryMin: 10 * time.Millisecond, RetryMax: 100 * time.Millisecond,
		DrainTimeout: time.Minute, OnError: onError}
}

// testReport is report n; with attachments it has an archive with one
// member and an image, which split into three attachment documents.
func testReport(n int, attachments bool) *report.Report {
	r := &report.Report{
		Version:    report.Version,
		ID:         fmt.Sprintf("%064x", n),
		AnalysedAt: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC),
		Mail: report.Mail{Subject: fmt.Sprintf("Your <b>invoice</b> & receipt %d", n), Size: 100 + n,
			From: []report.Address{{Name: "Billing", Address: "billing@example.com"}}},
	}
	if attachments {
		r.Attachments = []report.Attachment{
			{Part: "2", Filename: "invoice.zip", Size: 200, IsArchive: true,
				Hashes: report.Hashes{SHA256: fmt.Sprintf("%064x", 1000+n)},
				Members: []report.Attachment{{Path: "invoice.zip/invoice.exe", Filename: "invoice.exe", Size: 180,
					Executable: true, Hashes: report.Hashes{SHA256: fmt.Sprintf("%064x", 2000+n)}}}},
			{Part: "3", Filename: "logo.png", Size: 300, Hashes: report.Hashes{SHA256: fmt.Sprintf("%064x", 3000+n)}},
		}
	}
	return r
}

// wantJSON is v as the sink stores it: compact, with <, > and & as they are.
func wantJSON(t *testing.T, v any) string {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

// errorLog collects what OnError hears.
type errorLog struct {
	mu   sync.Mutex
	errs []error
}

func (l *errorLog) add(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs = append(l.errs, err)
}

func (l *errorLog) all() []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.errs)
}

// waitFor polls cond until it holds, failing the test after a generous
// time (a guard against hanging, not a measure).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func writeAll(t *testing.T, q *sink.Queue[Item], reports []*report.Report) {
	t.Helper()
	for _, r := range reports {
		if err := q.Write(context.Background(), r); err != nil {
			t.Fatalf("write %s: %v", r.ID, err)
		}
	}
}

func closeQueue(t *testing.T, q *sink.Queue[Item]) {
	t.Helper()
	if err := q.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
}

// streamEntry is what the test expects of one stream entry.
type streamEntry map[string]any

func TestStore(t *testing.T) {
	s := startServer(t)
	c := s.client()
	reports := []*report.Report{testReport(1, false), testReport(2, true), testReport(3, false), testReport(4, true)}

	// The lists and streams each spec should fill, from the reports.
	wantReportList := func(t *testing.T) []string {
		var want []string
		for _, r := range reports {
			want = append(want, wantJSON(t, r))
		}
		return want
	}
	wantSplitLists := func(t *testing.T) (mails, atts []string) {
		for _, r := range reports {
			for i, d := range sink.ElasticDocs(r, sink.DefaultPrefix) {
				if i == 0 {
					mails = append(mails, wantJSON(t, d.Body))
				} else {
					atts = append(atts, wantJSON(t, d.Body))
				}
			}
		}
		return mails, atts
	}
	entries := func(t *testing.T, ms []goredis.XMessage) []streamEntry {
		var got []streamEntry
		for _, m := range ms {
			got = append(got, streamEntry(m.Values))
		}
		return got
	}

	tests := []struct {
		name  string
		query string
		check func(t *testing.T)
	}{
		{"defaults", "", func(t *testing.T) {
			compare(t, "mailsift", lrange(t, c, "mailsift"), wantReportList(t))
		}},
		{"list report", "key=lr&mode=list&docs=report", func(t *testing.T) {
			got := lrange(t, c, "lr")
			compare(t, "lr", got, wantReportList(t))
			if len(got) > 0 && !strings.Contains(got[0], "<b>invoice</b> & receipt") {
				t.Errorf("HTML characters escaped: %s", got[0])
			}
			var back report.Report
			if err := json.Unmarshal([]byte(got[1]), &back); err != nil || back.ID != reports[1].ID ||
				len(back.Attachments) != 2 || back.Mail.Subject != reports[1].Mail.Subject {
				t.Errorf("stored report does not read back: %v %+v", err, back)
			}
		}},
		{"list split", "key=ls&docs=split", func(t *testing.T) {
			mails, atts := wantSplitLists(t)
			if len(mails) != 4 || len(atts) != 6 {
				t.Fatalf("test reports split into %d mail and %d attachment documents, want 4 and 6", len(mails), len(atts))
			}
			compare(t, "ls:mails", lrange(t, c, "ls:mails"), mails)
			compare(t, "ls:attachments", lrange(t, c, "ls:attachments"), atts)
			if n := c.Exists(context.Background(), "ls").Val(); n != 0 {
				t.Errorf("docs=split also wrote key ls")
			}
		}},
		{"stream report", "key=sr&mode=stream", func(t *testing.T) {
			var want []streamEntry
			for _, r := range reports {
				want = append(want, streamEntry{"id": r.ID, "report": wantJSON(t, r)})
			}
			compare(t, "sr", entries(t, xrange(t, c, "sr")), want)
		}},
		{"stream split", "key=ss&mode=stream&docs=split&maxlen=1000", func(t *testing.T) {
			var mails, atts []streamEntry
			for _, r := range reports {
				for i, d := range sink.ElasticDocs(r, sink.DefaultPrefix) {
					e := streamEntry{"id": d.ID, "mail_id": r.ID, "doc": wantJSON(t, d.Body)}
					if i == 0 {
						mails = append(mails, e)
					} else {
						atts = append(atts, e)
					}
				}
			}
			compare(t, "ss:mails", entries(t, xrange(t, c, "ss:mails")), mails)
			compare(t, "ss:attachments", entries(t, xrange(t, c, "ss:attachments")), atts)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var errs errorLog
			q, err := Open(s.url(tt.query), fast(errs.add))
			if err != nil {
				t.Fatal(err)
			}
			writeAll(t, q, reports)
			closeQueue(t, q)
			if st := q.Stats(); st.Sent != uint64(len(reports)) || st.Rejected != 0 || st.Lost != 0 {
				t.Errorf("stats %+v, want %d sent", st, len(reports))
			}
			if e := errs.all(); len(e) > 0 {
				t.Errorf("OnError heard %v", e)
			}
			tt.check(t)
		})
	}
}

func compare[T any](t *testing.T, key string, got, want []T) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s has %d values, want %d", key, len(got), len(want))
		return
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("%s[%d]:\n got %v\nwant %v", key, i, got[i], want[i])
		}
	}
}

func TestMaxLen(t *testing.T) {
	s := startServer(t)
	c := s.client()
	q, err := Open(s.url("key=capped&mode=stream&maxlen=10"), fast(nil))
	if err != nil {
		t.Fatal(err)
	}
	const n = 300
	var reports []*report.Report
	for i := range n {
		reports = append(reports, testReport(i, false))
	}
	writeAll(t, q, reports)
	closeQueue(t, q)
	ms := xrange(t, c, "capped")
	// MAXLEN ~ trims whole nodes of the stream: at least maxlen stay.
	if len(ms) < 10 || len(ms) >= n {
		t.Fatalf("stream has %d entries after %d XADD MAXLEN ~ 10", len(ms), n)
	}
	if last := ms[len(ms)-1].Values["id"]; last != reports[n-1].ID {
		t.Errorf("last entry is %v, want %s", last, reports[n-1].ID)
	}
}

func TestParseSpec(t *testing.T) {
	good := []struct {
		spec string
		want config
		db   int
		tls  bool
	}{
		{spec: "redis://localhost:6379",
			want: config{key: "mailsift", timeout: 5 * time.Second, where: "localhost:6379 key mailsift"}},
		{spec: "redis://h", want: config{key: "mailsift", timeout: 5 * time.Second, where: "h:6379 key mailsift"}},
		{spec: "redis://h:1/3?key=a%3Ab&mode=list&docs=split&timeout=250ms",
			want: config{key: "a:b", split: true, timeout: 250 * time.Millisecond, where: "h:1/3 key a:b"}, db: 3},
		{spec: "rediss://u:p@h:2/1?mode=stream&docs=report&maxlen=1000&client_name=ms&protocol=2&skip_verify=true",
			want: config{key: "mailsift", stream: true, maxLen: 1000, timeout: 5 * time.Second, where: "h:2/1 key mailsift"},
			db:   1, tls: true},
		{spec: "redis://h:1?db=2&mode=stream&maxlen=0",
			want: config{key: "mailsift", stream: true, timeout: 5 * time.Second, where: "h:1/2 key mailsift"}, db: 2},
	}
	for _, tt := range good {
		t.Run(tt.spec, func(t *testing.T) {
			c, err := parseSpec(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			if c.opts == nil || c.opts.DB != tt.db || (c.opts.TLSConfig != nil) != tt.tls {
				t.Errorf("client options %+v, want db %d, tls %v", c.opts, tt.db, tt.tls)
			}
			if c.opts.MaxRetries != -1 || !c.opts.ContextTimeoutEnabled {
				t.Errorf("go-redis retries or ignores contexts: %+v", c.opts)
			}
			c.opts = nil
			if c != tt.want {
				t.Errorf("got  %+v\nwant %+v", c, tt.want)
			}
		})
	}
	c, err := parseSpec("rediss://user:pw@h:2?client_name=ms&protocol=2&skip_verify=true")
	if err != nil {
		t.Fatal(err)
	}
	if o := c.opts; o.Username != "user" || o.Password != "pw" || o.ClientName != "ms" || o.Protocol != 2 ||
		!o.TLSConfig.InsecureSkipVerify {
		t.Errorf("client options not passed on: %+v", o)
	}

	bad := []struct{ spec, want string }{
		{"", "want a redis:// or rediss:// URL"},
		{"http://h:1", "want a redis:// or rediss:// URL"},
		{"unix:///tmp/redis.sock", "want a redis:// or rediss:// URL"},
		{"redis:h:1", "no host"},
		{"redis:///0", "no host"},
		{"redis://h:1?bogus=1", `unknown option "bogus"; want key, mode, docs, maxlen, timeout, db, client_name, protocol, skip_verify`},
		{"redis://h:1?max_retries=3", `unknown option "max_retries"`},
		{"redis://h:1?mode=queue", "mode=queue: want list or stream"},
		{"redis://h:1?docs=all", "docs=all: want report or split"},
		{"redis://h:1?mode=stream&maxlen=-1", "maxlen=-1: want a whole number"},
		{"redis://h:1?mode=stream&maxlen=1k", "maxlen=1k: want a whole number"},
		{"redis://h:1?maxlen=5", "maxlen needs mode=stream"},
		{"redis://h:1?timeout=0s", "timeout=0s: want a positive duration"},
		{"redis://h:1?timeout=5", "timeout=5: want a positive duration"},
		{"redis://h:1?key=", "key is empty"},
		{"redis://h:1?key=a&key=b", "option key given 2 times"},
		{"redis://h:1?key=%zz", "bad options"},
		{"redis://h:1/x", "invalid database number"},
		{"redis://h:1/1/2", "invalid URL path"},
		{"redis://h:1?db=x", "invalid database number"},
		{"redis://h:1#x", "fragment"},
		{"redis://user:secret@h:1?bogus=1", `"redis://user:xxxxx@h:1?bogus=1": unknown option`},
		{"redis://user:sec ret@h:1%", "spec is not a URL"},
	}
	for _, tt := range bad {
		t.Run(tt.spec, func(t *testing.T) {
			_, err := parseSpec(tt.spec)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "sink: redis: ") || !strings.Contains(msg, tt.want) ||
				strings.Contains(msg, "\n") || strings.Contains(msg, "secret") || strings.Contains(msg, "sec ret") {
				t.Errorf("error %q, want one line starting with sink: redis: and holding %q, without the password", msg, tt.want)
			}
			if _, err := Open(tt.spec, sink.QueueOptions{}); err == nil {
				t.Error("Open accepts it")
			}
		})
	}
	if _, err := Open("redis://h:1", sink.QueueOptions{Size: -1}); err == nil || !strings.HasPrefix(err.Error(), "sink: redis: ") {
		t.Errorf("Open with bad queue options: %v", err)
	}
}

func TestOpenRefused(t *testing.T) {
	s := startServer(t, "--requirepass", "s3cret", "--databases", "4")
	for _, spec := range []string{
		"redis://" + s.addr(),
		"redis://:wrong@" + s.addr(),
		"redis://:s3cret@" + s.addr() + "/9",
	} {
		var errs errorLog
		q, err := Open(spec, fast(errs.add))
		if err == nil {
			_ = q.Close() // the test fails anyway
			t.Errorf("Open(%q) succeeds", spec)
			continue
		}
		if !strings.HasPrefix(err.Error(), "sink: redis: ping ") || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Open(%q): %v", spec, err)
		}
	}
	q, err := Open("redis://:s3cret@"+s.addr()+"/3?key=authed", fast(nil))
	if err != nil {
		t.Fatal(err)
	}
	writeAll(t, q, []*report.Report{testReport(1, false)})
	closeQueue(t, q)
	if st := q.Stats(); st.Sent != 1 {
		t.Errorf("stats %+v, want 1 sent", st)
	}
}

// TestServerDownAtStart: Open succeeds while nothing listens, reports
// wait, and all arrive once the server is up.
func TestServerDownAtStart(t *testing.T) {
	s := newServer(t)
	var errs errorLog
	q, err := Open(s.url("key=late"), fast(errs.add))
	if err != nil {
		t.Fatalf("Open with the server down: %v", err)
	}
	if e := errs.all(); len(e) != 1 || !strings.HasPrefix(e[0].Error(), "sink: redis: ping ") {
		t.Errorf("OnError heard %v, want the failed PING", e)
	}
	var reports []*report.Report
	for i := range 10 {
		reports = append(reports, testReport(i, false))
	}
	writeAll(t, q, reports)
	waitFor(t, "a failed attempt", func() bool { return q.Stats().Retries > 0 })
	s.start()
	closeQueue(t, q)

	st := q.Stats()
	if st.Sent != 10 || st.Retries == 0 || st.Lost != 0 || st.Rejected != 0 || st.Queued != 0 {
		t.Errorf("stats %+v, want 10 sent after retries", st)
	}
	var want []string
	for _, r := range reports {
		want = append(want, wantJSON(t, r))
	}
	// Nothing reached the server before it ran, so nothing is doubled.
	compare(t, "late", lrange(t, s.client(), "late"), want)
	if e := errs.all(); len(e) < 2 || !strings.Contains(e[1].Error(), "reports to send again") {
		t.Errorf("OnError heard %v, want the failed attempts", e)
	}
}

// TestServerRestart: the server dies while reports flow and comes back on
// the same port with its data; every report is stored at least once.
func TestServerRestart(t *testing.T) {
	s := startServer(t, "--appendonly", "yes", "--appendfsync", "always")
	var errs errorLog
	q, err := Open(s.url("key=restart&timeout=1s"), fast(errs.add))
	if err != nil {
		t.Fatal(err)
	}
	const before, after = 200, 50
	var ids []string
	for i := range before + after {
		ids = append(ids, testReport(i, false).ID)
	}
	wrote := make(chan error, 1)
	go func() {
		for i := range before {
			if err := q.Write(context.Background(), testReport(i, false)); err != nil {
				wrote <- err
				return
			}
			time.Sleep(time.Millisecond) // let the stop fall among the writes
		}
		wrote <- nil
	}()
	waitFor(t, "the first reports stored", func() bool { return q.Stats().Sent >= 20 })
	s.stop()
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
	// These cannot have reached the server.
	for i := before; i < before+after; i++ {
		if err := q.Write(context.Background(), testReport(i, false)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "a failed attempt", func() bool { return q.Stats().Retries > 0 })
	s.start()
	closeQueue(t, q)

	st := q.Stats()
	if st.Sent != before+after || st.Lost != 0 || st.Rejected != 0 || st.Retries == 0 {
		t.Errorf("stats %+v, want %d sent after retries", st, before+after)
	}
	seen := map[string]int{}
	for _, v := range lrange(t, s.client(), "restart") {
		var r report.Report
		if err := json.Unmarshal([]byte(v), &r); err != nil {
			t.Fatalf("stored value %q: %v", v, err)
		}
		seen[r.ID]++
	}
	twice := 0
	for _, id := range ids {
		switch n := seen[id]; {
		case n == 0:
			t.Errorf("report %s missing", id)
		case n > 1:
			twice++
		}
	}
	if len(seen) != len(ids) {
		t.Errorf("%d distinct reports stored, want %d", len(seen), len(ids))
	}
	t.Logf("%d of %d reports stored twice", twice, len(ids))
}

// TestBackPressure: with the server down and a queue of two, Write blocks
// until its context ends; what Write accepted is delivered later.
func TestBackPressure(t *testing.T) {
	s := newServer(t)
	o := fast(nil)
	o.Size, o.Batch = 2, 1
	q, err := Open(s.url("key=bp"), o)
	if err != nil {
		t.Fatal(err)
	}
	var accepted []string
	blocked := -1
	for i := range 5 {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		err := q.Write(ctx, testReport(i, false))
		cancel()
		if err != nil {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("write %d: %v, want a deadline error", i, err)
			}
			blocked = i
			break
		}
		accepted = append(accepted, wantJSON(t, testReport(i, false)))
	}
	// One report in the sender's hands, two in the queue: the fourth
	// write blocks, or the third if the sender was slow to take one.
	if blocked != 2 && blocked != 3 {
		t.Fatalf("write %d blocked, want the 3rd or 4th", blocked+1)
	}
	s.start()
	closeQueue(t, q)
	if st := q.Stats(); st.Sent != uint64(len(accepted)) || st.Lost != 0 || st.Rejected != 0 {
		t.Errorf("stats %+v, want %d sent", st, len(accepted))
	}
	compare(t, "bp", lrange(t, s.client(), "bp"), accepted)
}

// TestCloseWhileDown: Close gives up after DrainTimeout and says how many
// reports it could not deliver.
func TestCloseWhileDown(t *testing.T) {
	s := newServer(t)
	o := fast(nil)
	o.DrainTimeout = 200 * time.Millisecond
	q, err := Open(s.url("key=never"), o)
	if err != nil {
		t.Fatal(err)
	}
	writeAll(t, q, []*report.Report{testReport(1, false), testReport(2, false), testReport(3, false)})
	err = q.Close()
	if err == nil || !strings.Contains(err.Error(), "3 reports not delivered") {
		t.Errorf("Close: %v, want 3 reports not delivered", err)
	}
	if st := q.Stats(); st.Lost != 3 || st.Sent != 0 {
		t.Errorf("stats %+v, want 3 lost", st)
	}
}

// TestWrongType: a key of another type refuses the reports for good; they
// are counted as rejected, not retried.
func TestWrongType(t *testing.T) {
	s := startServer(t)
	c := s.client()
	ctx := context.Background()
	tests := []struct {
		name, query string
		prepare     func() error
		stored      string // a key that takes its part of the batch anyway
	}{
		{"list on string", "key=wt1", func() error { return c.Set(ctx, "wt1", "x", 0).Err() }, ""},
		{"stream on list", "key=wt2&mode=stream", func() error { return c.RPush(ctx, "wt2", "x").Err() }, ""},
		{"split attachments on string", "key=wt3&docs=split",
			func() error { return c.Set(ctx, "wt3:attachments", "x", 0).Err() }, "wt3:mails"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.prepare(); err != nil {
				t.Fatal(err)
			}
			var errs errorLog
			o := fast(errs.add)
			o.Batch = 10
			q, err := Open(s.url(tt.query), o)
			if err != nil {
				t.Fatal(err)
			}
			writeAll(t, q, []*report.Report{testReport(1, true), testReport(2, true), testReport(3, false)})
			closeQueue(t, q) // rejected reports are not lost ones
			if st := q.Stats(); st.Rejected != 3 || st.Sent != 0 || st.Retries != 0 || st.Lost != 0 {
				t.Errorf("stats %+v, want 3 rejected, no retries", st)
			}
			e := errs.all()
			if len(e) != 1 || !strings.Contains(e[0].Error(), "WRONGTYPE") || !strings.Contains(e[0].Error(), "refused") {
				t.Errorf("OnError heard %v, want one WRONGTYPE refusal", e)
			}
			// Redis does not undo the commands of a transaction that
			// succeeded: the package comment says so.
			if tt.stored != "" {
				if n := c.LLen(ctx, tt.stored).Val(); n != 3 {
					t.Errorf("%s has %d values, want 3", tt.stored, n)
				}
			}
		})
	}
}

// TestServerBusy: a server that answers but cannot take writes for now
// (a read-only replica, memory full) holds the reports back until it can.
func TestServerBusy(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		extra []string
		want  string
		fix   func(c *goredis.Client) error
	}{
		{"read-only replica", []string{"--replicaof", "127.0.0.1", "1"}, "READONLY",
			func(c *goredis.Client) error { return c.Do(ctx, "REPLICAOF", "NO", "ONE").Err() }},
		{"out of memory", []string{"--maxmemory", "1"}, "OOM",
			func(c *goredis.Client) error { return c.ConfigSet(ctx, "maxmemory", "0").Err() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t, tt.extra...)
			c := s.client()
			var errs errorLog
			q, err := Open(s.url("key=busy"), fast(errs.add))
			if err != nil {
				t.Fatal(err)
			}
			reports := []*report.Report{testReport(1, false), testReport(2, false)}
			writeAll(t, q, reports)
			waitFor(t, "a failed attempt", func() bool { return q.Stats().Retries > 0 })
			if err := tt.fix(c); err != nil {
				t.Fatal(err)
			}
			closeQueue(t, q)
			if st := q.Stats(); st.Sent != 2 || st.Rejected != 0 || st.Lost != 0 {
				t.Errorf("stats %+v, want 2 sent", st)
			}
			if e := errs.all(); len(e) == 0 || !strings.Contains(e[0].Error(), tt.want) {
				t.Errorf("OnError heard %v, want %s", e, tt.want)
			}
			compare(t, "busy", lrange(t, c, "busy"), []string{wantJSON(t, reports[0]), wantJSON(t, reports[1])})
		})
	}
}
