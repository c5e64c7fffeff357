package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	stderrors "errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mailsift/mailsift/internal/mailbox"
	"github.com/mailsift/mailsift/internal/mailq"
)

// writeMbox writes n distinct mails into an mbox and returns its path and
// the ids their reports will carry.
func writeQueueMbox(t *testing.T, dir string, n int) (string, map[string]bool) {
	t.Helper()
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, "From sender%d@example.org Sat Nov 21 10:00:00 2026\n", i)
		fmt.Fprintf(&b, "From: Sender %d <sender%d@example.org>\nTo: desk@example.com\nSubject: report %d\n"+
			"Message-ID: <%d@example.org>\nReceived: from mx%d.example.org (mx%d.example.org [192.0.2.%d]) by mx.example.com\n\n"+
			"Hello desk, this is mail number %d. Please see https://host%d.example.net/path?q=%d for details.\n\n",
			i, i, i, i, i%7, i%7, i%250+1, i, i%97, i)
	}
	path := filepath.Join(dir, "queue.mbox")
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	rd := mailbox.Open([]string{path}, nil)
	for {
		m, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ids[mailq.ID(m.Raw)] = true
	}
	if err := rd.Close(); err != nil {
		t.Fatal(err)
	}
	if len(ids) != n {
		t.Fatalf("the mbox holds %d distinct mails, want %d", len(ids), n)
	}
	return path, ids
}

// queueFixture is a real NATS server with JetStream on file storage, in
// the test process, and a configuration file that points at it.
type queueFixture struct {
	t      *testing.T
	dir    string
	addr   string
	store  string
	srv    *mailq.Server
	cfg    string // configuration file
	client *mailq.Queue
}

func newQueueFixture(t *testing.T, extra string) *queueFixture {
	t.Helper()
	f := &queueFixture{t: t, dir: t.TempDir(), addr: freeAddr(t)}
	f.store = filepath.Join(f.dir, "nats")
	f.start()
	t.Cleanup(func() {
		if f.srv != nil {
			f.srv.Shutdown()
		}
	})
	f.cfg = filepath.Join(f.dir, "config.yml")
	yml := fmt.Sprintf(`nats:
  url: nats://%s
  ack_wait: 5s
  retry_min: 100ms
  retry_max: 1s
  results: mailsift.reports
analysis:
  seen:
    dir: ""
serve:
  log_level: warn
  shutdown_timeout: 10s
  queue:
    size: 200
    batch: 50
    flush_interval: 50ms
    retry_min: 50ms
    retry_max: 500ms
%s`, f.addr, extra)
	if err := os.WriteFile(f.cfg, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	c := mailq.DefaultConfig()
	c.URL = "nats://" + f.addr
	c.Results = "mailsift.reports"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	q, err := mailq.Connect(ctx, c, mailq.Options{Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	f.client = q
	t.Cleanup(func() { _ = q.Close() })
	return f
}

func (f *queueFixture) start() {
	f.t.Helper()
	srv, err := mailq.StartEmbedded(mailq.Embedded{Listen: f.addr, Dir: f.store, MaxPayload: 1 << 20}, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	f.srv = srv
}

func (f *queueFixture) restart() {
	f.t.Helper()
	f.srv.Shutdown()
	f.srv = nil
	time.Sleep(time.Second)
	f.start()
}

// worker starts mailsift worker as a separate process.
func (f *queueFixture) worker(name string, args ...string) *exec.Cmd {
	f.t.Helper()
	cmd := mailsiftCmd(f.t, append([]string{"--config", f.cfg, "--db", filepath.Join(f.dir, "none.db"), "worker"}, args...)...)
	log, err := os.Create(filepath.Join(f.dir, name+".log"))
	if err != nil {
		f.t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Env = append(cmd.Env, "GOMAXPROCS=1")
	if err := cmd.Start(); err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
		_ = log.Close()
	})
	return cmd
}

func (f *queueFixture) log(name string) string {
	b, _ := os.ReadFile(filepath.Join(f.dir, name+".log"))
	return string(b)
}

// drained tells whether every mail is acknowledged and n reports are in
// the results stream.
func (f *queueFixture) drained(n uint64) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	waiting, pending, err := f.client.Depth(ctx)
	if err != nil || waiting != 0 || pending != 0 {
		return false
	}
	got, err := f.client.Stored(ctx, "MAILSIFT_REPORTS")
	return err == nil && got >= n
}

// within polls cond until it holds or d passes.
func within(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// reportIDs reads the ids of the JSON lines files; a line cut short by a
// killed process is skipped (its mail was not acknowledged).
func reportIDs(t *testing.T, paths ...string) (ids map[string]int, lines int) {
	t.Helper()
	ids = map[string]int{}
	for _, p := range paths {
		fh, err := os.Open(p)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			var r struct {
				ID string `json:"id"`
			}
			if json.Unmarshal(sc.Bytes(), &r) != nil || r.ID == "" {
				continue
			}
			ids[r.ID]++
			lines++
		}
		if err := stderrors.Join(sc.Err(), fh.Close()); err != nil {
			t.Fatal(err)
		}
	}
	return ids, lines
}

func lineCount(path string) int {
	b, _ := os.ReadFile(path)
	return bytes.Count(b, []byte("\n"))
}

func checkEveryMailOnce(t *testing.T, want map[string]bool, got map[string]int) {
	t.Helper()
	missing := 0
	for id := range want {
		if got[id] == 0 {
			missing++
		}
	}
	extra := 0
	for id := range got {
		if !want[id] {
			extra++
		}
	}
	if missing > 0 || extra > 0 {
		t.Fatalf("%d mails have no report, %d reports belong to no mail", missing, extra)
	}
}

func TestWorkerKilledMidRunLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("5,000 mails through two worker processes; skipped with -short")
	}
	f := newQueueFixture(t, "")
	const n = 5000
	mbox, want := writeQueueMbox(t, f.dir, n)
	r := mailsift(t, "", "--config", f.cfg, "submit", mbox)
	if r.code != 0 || !strings.Contains(r.stderr, "submitted 5000 mails") {
		t.Fatalf("submit: exit %d, %s", r.code, r.stderr)
	}
	out1, out2 := filepath.Join(f.dir, "w1.jsonl"), filepath.Join(f.dir, "w2.jsonl")
	w1 := f.worker("w1", "--out", "jsonl:"+out1, "--workers", "2")
	w2 := f.worker("w2", "--out", "jsonl:"+out2, "--workers", "2")

	within(t, time.Minute, "the first worker to write 1,000 reports", func() bool { return lineCount(out1) >= 1000 })
	if err := w1.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_, _ = w1.Process.Wait()
	within(t, 2*time.Minute, "every mail acknowledged", func() bool { return f.drained(n) })
	if err := w2.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := w2.Wait(); err != nil {
		t.Fatalf("worker 2: %v\n%s", err, f.log("w2"))
	}

	got, lines := reportIDs(t, out1, out2)
	checkEveryMailOnce(t, want, got)
	// Reports the killed worker had written but not yet acknowledged are
	// written again by the other: at most what it held, its sink queue
	// and fetched mails.
	if dup := lines - n; dup > 200+50+4 {
		t.Fatalf("%d duplicate report lines, more than the killed worker could hold", dup)
	} else {
		t.Logf("%d report lines for %d mails: %d written again after the kill", lines, n, dup)
	}
	// The results stream keeps one copy of each report.
	ctx := context.Background()
	if stored, err := f.client.Stored(ctx, "MAILSIFT_REPORTS"); err != nil || stored != n {
		t.Fatalf("results stream holds %d reports (err %v), want exactly %d", stored, err, n)
	}
	if dead, err := f.client.Stored(ctx, "MAILSIFT_DEAD"); err != nil || dead != 0 {
		t.Fatalf("%d dead letters (err %v)", dead, err)
	}
}

func TestWorkerSurvivesServerRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("restarts the NATS server; skipped with -short")
	}
	f := newQueueFixture(t, "")
	const n = 2000
	mbox, want := writeQueueMbox(t, f.dir, n)
	out := filepath.Join(f.dir, "w.jsonl")
	w := f.worker("w", "--out", "jsonl:"+out, "--workers", "2")
	submit := mailsiftCmd(t, "--config", f.cfg, "submit", mbox)
	var submitLog bytes.Buffer
	submit.Stderr = &submitLog
	if err := submit.Start(); err != nil {
		t.Fatal(err)
	}
	within(t, time.Minute, "some reports before the restart", func() bool { return lineCount(out) >= 200 })
	f.restart()
	if err := submit.Wait(); err != nil {
		t.Fatalf("submit across the restart: %v\n%s", err, submitLog.String())
	}
	within(t, 2*time.Minute, "every mail acknowledged after the restart", func() bool { return f.drained(n) })
	if err := w.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := w.Wait(); err != nil {
		t.Fatalf("worker: %v\n%s", err, f.log("w"))
	}
	got, lines := reportIDs(t, out)
	checkEveryMailOnce(t, want, got)
	t.Logf("%d report lines for %d mails across the restart", lines, n)
	if stored, err := f.client.Stored(context.Background(), "MAILSIFT_REPORTS"); err != nil || stored != n {
		t.Fatalf("results stream holds %d reports (err %v), want exactly %d", stored, err, n)
	}
}

// fakeElastic answers the index template and _bulk requests of the
// Elasticsearch sink, refusing _bulk with 503 while down is set.
type fakeElastic struct {
	down  atomic.Bool
	mu    sync.Mutex
	mails map[string]int
}

func (e *fakeElastic) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if r.Method == http.MethodPut {
		_, _ = io.WriteString(w, `{"acknowledged":true}`)
		return
	}
	if e.down.Load() {
		http.Error(w, `{"error":"unavailable"}`, http.StatusServiceUnavailable)
		return
	}
	var items []string
	lines := bytes.Split(bytes.TrimSpace(body), []byte("\n"))
	e.mu.Lock()
	for i := 0; i < len(lines); i += 2 {
		var a struct {
			Index struct {
				Index string `json:"_index"`
				ID    string `json:"_id"`
			} `json:"index"`
		}
		_ = json.Unmarshal(lines[i], &a)
		if strings.Contains(a.Index.Index, "mails") {
			e.mails[a.Index.ID]++
		}
		items = append(items, fmt.Sprintf(`{"index":{"_index":%q,"_id":%q,"status":201}}`, a.Index.Index, a.Index.ID))
	}
	e.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"errors":false,"items":[%s]}`, strings.Join(items, ","))
}

func (e *fakeElastic) count() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.mails)
}

func TestWorkerHoldsBackWhileSinkFails(t *testing.T) {
	es := &fakeElastic{mails: map[string]int{}}
	es.down.Store(true)
	hs := httptest.NewServer(es)
	defer hs.Close()
	f := newQueueFixture(t, "")
	const n = 1500
	mbox, want := writeQueueMbox(t, f.dir, n)
	if r := mailsift(t, "", "--config", f.cfg, "submit", mbox); r.code != 0 {
		t.Fatalf("submit: exit %d, %s", r.code, r.stderr)
	}
	metricsAddr := freeAddr(t)
	w := f.worker("w", "--out", "es+"+hs.URL, "--workers", "2", "--metrics", metricsAddr)

	// While the sink is down the worker holds at most its sink queue, a
	// batch in the making and the mails fetched ahead; the rest waits in
	// the stream, and nothing is acknowledged.
	time.Sleep(3 * time.Second)
	ctx := context.Background()
	waiting, pending, err := f.client.Depth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bound := 200 + 50 + 2 + prefetch(2)
	if pending > bound || waiting < uint64(n-bound) {
		t.Fatalf("sink down: %d mails handed out, %d waiting; want at most %d handed out", pending, waiting, bound)
	}
	depth := scrape(t, metricsAddr, "mailsift_sink_queue_depth")
	if depth > 250 {
		t.Fatalf("sink queue depth %d above its size and a batch", depth)
	}
	if es.count() != 0 {
		t.Fatal("reports stored while the sink was down")
	}
	es.down.Store(false)
	within(t, 2*time.Minute, "every mail delivered after the sink recovered", func() bool { return f.drained(n) && es.count() == n })
	if err := w.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := w.Wait(); err != nil {
		t.Fatalf("worker: %v\n%s", err, f.log("w"))
	}
	es.mu.Lock()
	defer es.mu.Unlock()
	got := map[string]int{}
	for id, c := range es.mails {
		got[id] = c
		if c != 1 {
			t.Fatalf("report %s indexed %d times", id, c)
		}
	}
	checkEveryMailOnce(t, want, got)
}

// scrape reads one metric's value (summed over its series) from /metrics.
func scrape(t *testing.T, addr, name string) int {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	total := 0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name) {
			continue
		}
		var v int
		if _, err := fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &v); err == nil {
			total += v
		}
	}
	return total
}

func TestSubmitMovesDeletesAndWatches(t *testing.T) {
	f := newQueueFixture(t, "")
	ctx := context.Background()
	in, done := filepath.Join(f.dir, "in"), filepath.Join(f.dir, "done")
	maildir := filepath.Join(in, "box")
	for _, d := range []string{filepath.Join(maildir, "cur"), filepath.Join(maildir, "new"), filepath.Join(maildir, "tmp"), done} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		msg := fmt.Sprintf("Subject: maildir %d\n\nbody %d\n", i, i)
		if err := os.WriteFile(filepath.Join(maildir, "new", fmt.Sprintf("%d.host", i)), []byte(msg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	mbox, _ := writeQueueMbox(t, in, 5)

	r := mailsift(t, "", "--config", f.cfg, "submit", "--move", done, maildir, mbox)
	if r.code != 0 || !strings.Contains(r.stderr, "submitted 8 mails (0 already queued), 0 failed") {
		t.Fatalf("submit --move: exit %d, %s", r.code, r.stderr)
	}
	moved, _ := filepath.Glob(filepath.Join(done, "*"))
	left, _ := filepath.Glob(filepath.Join(maildir, "new", "*"))
	if len(moved) != 4 || len(left) != 0 {
		t.Fatalf("moved %v, left %v; want the 3 Maildir files and the mbox moved", moved, left)
	}
	if waiting, _, err := f.client.Depth(ctx); err != nil || waiting != 8 {
		t.Fatalf("stream holds %d mails (err %v), want 8", waiting, err)
	}

	// The same mails again, deleted once stored: the stream knows them.
	copyFile(t, filepath.Join(done, "queue.mbox"), filepath.Join(in, "again.mbox"))
	r = mailsift(t, "", "--config", f.cfg, "submit", "--delete", filepath.Join(in, "again.mbox"))
	if r.code != 0 || !strings.Contains(r.stderr, "submitted 0 mails (5 already queued)") {
		t.Fatalf("submit --delete: exit %d, %s", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(in, "again.mbox")); !os.IsNotExist(err) {
		t.Fatalf("the submitted mbox is still there (%v)", err)
	}
	if r := mailsift(t, "", "--config", f.cfg, "submit", "--move", done, "--delete", mbox); r.code != 2 {
		t.Fatalf("--move with --delete: exit %d", r.code)
	}

	// --watch feeds the files that appear, once they keep their size.
	watched := filepath.Join(f.dir, "spool")
	if err := os.MkdirAll(watched, 0o700); err != nil {
		t.Fatal(err)
	}
	cmd := mailsiftCmd(t, "--config", f.cfg, "submit", "--watch", "--interval", "100ms", "--delete", watched)
	var log bytes.Buffer
	cmd.Stderr = &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(watched, "late.eml"), []byte("Subject: late\n\narrived later\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	within(t, 20*time.Second, "the watched file submitted and deleted", func() bool {
		_, err := os.Stat(filepath.Join(watched, "late.eml"))
		waiting, _, derr := f.client.Depth(ctx)
		return os.IsNotExist(err) && derr == nil && waiting == 9
	})
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("submit --watch: %v\n%s", err, log.String())
	}
	if !strings.Contains(log.String(), "submitted 1 mails") {
		t.Fatalf("submit --watch said: %s", log.String())
	}
}

func TestServeEmbeddedNATS(t *testing.T) {
	dir := t.TempDir()
	natsAddr, httpAddr := freeAddr(t), freeAddr(t)
	out := filepath.Join(dir, "reports.jsonl")
	cfg := filepath.Join(dir, "config.yml")
	yml := fmt.Sprintf(`nats:
  url: nats://%s
  embedded:
    listen: %s
    dir: %s
analysis:
  seen:
    dir: ""
serve:
  http:
    listen: %s
  milter:
    listen: ""
  sinks: ["jsonl:%s"]
`, natsAddr, natsAddr, filepath.Join(dir, "nats"), httpAddr, out)
	if err := os.WriteFile(cfg, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := mailsiftCmd(t, "--config", cfg, "--db", filepath.Join(dir, "none.db"), "serve", "--embedded-nats")
	var log syncBuffer
	srv.Stderr = &log
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Process.Kill(); _, _ = srv.Process.Wait() }()
	waitFor(t, "the embedded NATS server", func() bool { return strings.Contains(log.String(), "NATS server running") })
	mbox, want := writeQueueMbox(t, dir, 50)
	if r := mailsift(t, "", "--config", cfg, "submit", mbox); r.code != 0 {
		t.Fatalf("submit to the embedded server: exit %d, %s", r.code, r.stderr)
	}
	waitFor(t, "50 reports from the embedded workers", func() bool { return lineCount(out) >= 50 })
	if err := srv.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := srv.Wait(); err != nil {
		t.Fatalf("serve: %v\n%s", err, log.String())
	}
	got, lines := reportIDs(t, out)
	checkEveryMailOnce(t, want, got)
	if lines != 50 {
		t.Fatalf("%d report lines for 50 mails", lines)
	}
	if !strings.Contains(log.String(), "acked=50") {
		t.Fatalf("serve's log does not count 50 acknowledged mails:\n%s", log.String())
	}
}
