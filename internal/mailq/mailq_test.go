package mailq

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/mailsift/mailsift/internal/dedup"
	"github.com/mailsift/mailsift/internal/pipeline"
	"github.com/mailsift/mailsift/internal/sink"
	"github.com/mailsift/mailsift/report"
)

// freeAddr returns a free 127.0.0.1 address.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// startServer runs a real NATS server with JetStream on file storage in
// the test process.
func startServer(t *testing.T, e Embedded) *Server {
	t.Helper()
	if e.Dir == "" {
		e.Dir = t.TempDir()
	}
	if e.Listen == "" {
		e.Listen = freeAddr(t)
	}
	if e.MaxPayload == 0 {
		e.MaxPayload = 1 << 20
	}
	s, err := StartEmbedded(e, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	return s
}

func testConfig(url string) Config {
	c := DefaultConfig()
	c.URL = url
	c.AckWait = 2 * time.Second
	c.RetryMin = 20 * time.Millisecond
	c.RetryMax = 100 * time.Millisecond
	c.MaxDeliver = 3
	c.Results = "mailsift.reports"
	return c
}

func connect(t *testing.T, cfg Config) *Queue {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	q, err := Connect(ctx, cfg, Options{Name: t.Name()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := q.Close(); err != nil {
			t.Error(err)
		}
	})
	return q
}

func mail(i int) Mail {
	return Mail{Raw: []byte("Subject: mail " + strconv.Itoa(i) + "\r\n\r\nbody " + strconv.Itoa(i) + "\r\n"),
		Origin: "box:" + strconv.Itoa(i), Path: "box"}
}

// memSink is a Batcher that keeps the report ids; fail decides each send.
type memSink struct {
	mu   sync.Mutex
	ids  map[string]int
	fail atomic.Bool
}

func (m *memSink) Encode(r *report.Report) (string, error) { return r.ID, nil }
func (m *memSink) Send(_ context.Context, batch []string) ([]string, int, error) {
	if m.fail.Load() {
		return batch, 0, errors.New("down")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, id := range batch {
		m.ids[id]++
	}
	return nil, 0, nil
}
func (m *memSink) Close() error { return nil }
func (m *memSink) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.ids)
}

func fastQueue() sink.QueueOptions {
	return sink.QueueOptions{Size: 20, Batch: 10, FlushInterval: 5 * time.Millisecond,
		RetryMin: 5 * time.Millisecond, RetryMax: 20 * time.Millisecond, DrainTimeout: 2 * time.Second}
}

func publishAll(t *testing.T, q *Queue, mails []Mail) {
	t.Helper()
	var mu sync.Mutex
	var errs []error
	p := q.NewPublisher(func(r Published) {
		if r.Err != nil {
			mu.Lock()
			errs = append(errs, r.Err)
			mu.Unlock()
		}
	})
	for _, m := range mails {
		if err := p.Publish(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	p.Close()
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
}

// waitFor polls cond until it holds or 20 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func idProcess(_ context.Context, d pipeline.Delivery) (*report.Report, error) {
	return &report.Report{ID: ID(d.Data()), Origin: d.(*Delivery).Origin()}, nil
}

func TestPublishDeduplicatesAndWorkersAckAfterSinks(t *testing.T) {
	srv := startServer(t, Embedded{})
	q := connect(t, testConfig(srv.URL()))
	var mails []Mail
	for i := range 200 {
		mails = append(mails, mail(i))
	}
	publishAll(t, q, mails)
	publishAll(t, q, mails[:50]) // the same mails again: refused as duplicates
	if waiting, _, err := q.Depth(context.Background()); err != nil || waiting != 200 {
		t.Fatalf("stream holds %d mails (err %v), want 200", waiting, err)
	}

	mem := &memSink{ids: map[string]int{}}
	mem.fail.Store(true)
	snk := sink.NewQueue("mem", mem, fastQueue())
	src, err := q.Source(context.Background(), 8)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan pipeline.Stats)
	go func() {
		done <- pipeline.Run(ctx, src, idProcess, []sink.Tracker{snk},
			pipeline.Options{Workers: 2, ProgressEvery: 200 * time.Millisecond, Drain: 2 * time.Second})
	}()

	// While the sink is down nothing is acknowledged, and the sink's
	// bounded queue holds the workers back.
	time.Sleep(300 * time.Millisecond)
	_, pending, err := q.Depth(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if pending == 0 || pending > 20+10+2+8 {
		t.Fatalf("%d mails handed out while the sink is down, want some and at most the queue, a batch, the workers and the prefetch", pending)
	}
	if st := snk.Stats(); st.Queued > 20+10 {
		t.Fatalf("sink queue holds %d reports, above its size and a batch", st.Queued)
	}
	mem.fail.Store(false)
	waitFor(t, "every mail acknowledged", func() bool {
		w, p, err := q.Depth(context.Background())
		return err == nil && w == 0 && p == 0 && mem.count() == 200
	})
	cancel()
	st := <-done
	if st.Acked != 200 {
		t.Fatalf("acked %d, want 200", st.Acked)
	}
	for id, n := range mem.ids {
		if n != 1 {
			t.Fatalf("report %s stored %d times", id, n)
		}
	}
	if err := snk.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestFailingMailGoesToDeadLetters(t *testing.T) {
	srv := startServer(t, Embedded{})
	cfg := testConfig(srv.URL())
	q := connect(t, cfg)
	publishAll(t, q, []Mail{mail(1), mail(2)})
	bad := ID(mail(2).Raw)
	var attempts atomic.Int32
	process := func(ctx context.Context, d pipeline.Delivery) (*report.Report, error) {
		if ID(d.Data()) == bad {
			attempts.Add(1)
			panic("analysis blew up")
		}
		return idProcess(ctx, d)
	}
	mem := &memSink{ids: map[string]int{}}
	snk := sink.NewQueue("mem", mem, fastQueue())
	src, err := q.Source(context.Background(), 4)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan pipeline.Stats)
	go func() {
		done <- pipeline.Run(ctx, src, process, []sink.Tracker{snk}, pipeline.Options{
			MaxDeliver: cfg.MaxDeliver, RetryMin: cfg.RetryMin, RetryMax: cfg.RetryMax})
	}()
	js := q.js
	waitFor(t, "the dead letter", func() bool {
		s, err := js.Stream(context.Background(), cfg.DeadStream)
		return err == nil && s.CachedInfo().State.Msgs == 1
	})
	cancel()
	st := <-done
	if st.Dead != 1 || st.Acked != 1 || st.Failed != 2 || attempts.Load() != 3 {
		t.Fatalf("stats %+v after %d attempts, want 1 acked, 2 failed attempts and 1 dead after 3", st, attempts.Load())
	}
	s, err := js.Stream(context.Background(), cfg.DeadStream)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := s.GetMsg(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if ID(msg.Data) != bad || msg.Header.Get(HeaderError) != "internal error: analysis blew up" ||
		msg.Header.Get(HeaderAttempts) != "3" || msg.Header.Get(HeaderOrigin) != "box:2" {
		t.Fatalf("dead letter: headers %v, data %q", msg.Header, msg.Data)
	}
	if w, p, err := q.Depth(context.Background()); err != nil || w != 0 || p != 0 {
		t.Fatalf("stream left %d waiting, %d pending (err %v)", w, p, err)
	}
	if err := snk.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestLargeMailGoesThroughObjectStore(t *testing.T) {
	srv := startServer(t, Embedded{MaxPayload: 64 << 10})
	cfg := testConfig(srv.URL())
	q := connect(t, cfg)
	big := make([]byte, 300<<10)
	for i := range big {
		big[i] = 'a' + byte(i%26)
	}
	m := Mail{Raw: append([]byte("Subject: big\r\n\r\n"), big...), Origin: "big.eml", Path: "big.eml"}
	res, err := q.PublishSync(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	src, err := q.Source(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := src.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := ID(d.Data()); got != res.ID || len(d.Data()) != len(m.Raw) {
		t.Fatalf("delivered %d bytes with id %s, want %d bytes with id %s", len(d.Data()), got, len(m.Raw), res.ID)
	}
	if err := d.Ack(); err != nil {
		t.Fatal(err)
	}
	store, err := q.largeStore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.GetInfo(ctx, d.(*Delivery).Header(HeaderObject)); !errors.Is(err, jetstream.ErrObjectNotFound) {
		t.Fatalf("the object of an acknowledged mail is still there (err %v)", err)
	}
	src.Stop()
}

func TestResultsKeepOneCopyPerReport(t *testing.T) {
	srv := startServer(t, Embedded{})
	cfg := testConfig(srv.URL())
	q := connect(t, cfg)
	rs, err := q.OpenResults(fastQueue())
	if err != nil {
		t.Fatal(err)
	}
	for round := range 2 {
		for i := range 30 {
			r := &report.Report{ID: fmt.Sprintf("r%d", i), Origin: fmt.Sprintf("round %d", round)}
			if err := rs.Write(context.Background(), r); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := rs.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := q.js.Stream(context.Background(), cfg.ResultsStream)
	if err != nil {
		t.Fatal(err)
	}
	if n := s.CachedInfo().State.Msgs; n != 30 {
		t.Fatalf("results stream holds %d reports, want 30", n)
	}
	msg, err := s.GetMsg(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	var r report.Report
	if err := json.Unmarshal(msg.Data, &r); err != nil || r.ID != "r0" || r.Origin != "round 0" {
		t.Fatalf("first result %+v (err %v)", r, err)
	}
}

func TestSeenIsSharedAndClaimed(t *testing.T) {
	srv := startServer(t, Embedded{})
	cfg := testConfig(srv.URL())
	a, b := connect(t, cfg), connect(t, cfg)
	ctx := context.Background()
	sa, err := a.Seen(ctx, dedup.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	sb, err := b.Seen(ctx, dedup.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	first := WithClaim(ctx, 7, 1)
	if seen, err := sa.SeenOrAdd(first, dedup.Mail, "ABCDEF"); err != nil || seen {
		t.Fatalf("first sight: seen %v, err %v", seen, err)
	}
	// Another worker, another mail: seen, once the key reached its
	// mirror of the bucket.
	waitFor(t, "the key in the other worker's mirror", func() bool {
		seen, err := sb.Contains(WithClaim(ctx, 8, 1), dedup.Mail, "abcdef")
		return err == nil && seen
	})
	if seen, err := sb.SeenOrAdd(WithClaim(ctx, 8, 1), dedup.Mail, "abcdef"); err != nil || !seen {
		t.Fatalf("other worker: seen %v, err %v", seen, err)
	}
	if seen, err := sb.Contains(WithClaim(ctx, 8, 1), dedup.Mail, "abcdef"); err != nil || !seen {
		t.Fatalf("other worker contains: seen %v, err %v", seen, err)
	}
	// The same mail delivered again to the other worker: its own key.
	if seen, err := sb.SeenOrAdd(WithClaim(ctx, 7, 2), dedup.Mail, "abcdef"); err != nil || seen {
		t.Fatalf("redelivery: seen %v, err %v", seen, err)
	}
	// A worker started later loads the keys recorded before.
	c := connect(t, cfg)
	late, err := c.Seen(ctx, dedup.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if seen, _ := late.Contains(WithClaim(ctx, 11, 1), dedup.Mail, "abcdef"); !seen {
		t.Fatal("a worker started later does not know the keys recorded before")
	}
	for _, s := range []*Seen{sa, sb, late} {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// IP addresses stay with each worker, compared in canonical form.
	if _, err := sa.SeenOrAdd(first, dedup.IP, "::ffff:192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	if seen, _ := sa.Contains(WithClaim(ctx, 9, 1), dedup.IP, "192.0.2.1"); !seen {
		t.Fatal("the IP in another form is not seen")
	}
	if seen, _ := sb.Contains(WithClaim(ctx, 9, 1), dedup.IP, "192.0.2.1"); seen {
		t.Fatal("an IP is shared between workers")
	}
	// Disabled kinds are never seen.
	off := dedup.DefaultConfig()
	off.Attachments.Enabled = false
	sc, err := a.Seen(ctx, off)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if seen, _ := sc.SeenOrAdd(WithClaim(ctx, 10, 1), dedup.Attachment, "ff"); seen {
			t.Fatal("a disabled filter reports a key as seen")
		}
	}
}
