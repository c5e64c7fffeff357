package sink

import (
	"bufio"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mailsift/mailsift/report"
)

// fakeBatcher records what it was sent; fail decides each attempt.
type fakeBatcher struct {
	mu      sync.Mutex
	got     []string
	sends   int
	fail    func(attempt int, batch []string) ([]string, int, error)
	closed  bool
	maxSeen int
}

func (f *fakeBatcher) Encode(r *report.Report) (string, error) { return r.ID, nil }

func (f *fakeBatcher) Send(_ context.Context, batch []string) ([]string, int, error) {
	f.mu.Lock()
	f.sends++
	attempt := f.sends
	f.maxSeen = max(f.maxSeen, len(batch))
	f.mu.Unlock()
	if f.fail != nil {
		if retry, rejected, err := f.fail(attempt, batch); retry != nil || rejected > 0 || err != nil {
			return retry, rejected, err
		}
	}
	f.mu.Lock()
	f.got = append(f.got, batch...)
	f.mu.Unlock()
	return nil, 0, nil
}

func (f *fakeBatcher) Close() error { f.closed = true; return nil }

func fastOptions() QueueOptions {
	return QueueOptions{Size: 10, Batch: 4, FlushInterval: 5 * time.Millisecond,
		RetryMin: time.Millisecond, RetryMax: 5 * time.Millisecond, DrainTimeout: 2 * time.Second}
}

func rep(i int) *report.Report { return &report.Report{ID: "r" + strconv.Itoa(i)} }

func TestQueueDeliversInOrderInBatches(t *testing.T) {
	f := &fakeBatcher{}
	q := NewQueue("fake", f, fastOptions())
	for i := range 25 {
		if err := q.Write(context.Background(), rep(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	if len(f.got) != 25 || f.got[0] != "r0" || f.got[24] != "r24" {
		t.Fatalf("delivered %v", f.got)
	}
	if f.maxSeen > 4 || !f.closed {
		t.Fatalf("largest batch %d (max 4), closed %v", f.maxSeen, f.closed)
	}
	if st := q.Stats(); st.Sent != 25 || st.Queued != 0 || st.Lost != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestQueueRetriesUntilDelivered(t *testing.T) {
	var errs []error
	var mu sync.Mutex
	f := &fakeBatcher{fail: func(attempt int, batch []string) ([]string, int, error) {
		if attempt <= 3 {
			return batch, 0, errors.New("connection refused")
		}
		return nil, 0, nil
	}}
	o := fastOptions()
	o.OnError = func(err error) { mu.Lock(); errs = append(errs, err); mu.Unlock() }
	q := NewQueue("fake", f, o)
	for i := range 3 {
		if err := q.Write(context.Background(), rep(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	if len(f.got) != 3 {
		t.Fatalf("delivered %v", f.got)
	}
	if st := q.Stats(); st.Retries != 3 || st.Sent != 3 {
		t.Fatalf("stats %+v", st)
	}
	if len(errs) != 3 || !strings.Contains(errs[0].Error(), "connection refused") {
		t.Fatalf("errors heard: %v", errs)
	}
}

func TestQueuePartialRetryAndRejection(t *testing.T) {
	f := &fakeBatcher{fail: func(attempt int, batch []string) ([]string, int, error) {
		switch {
		case attempt == 1 && len(batch) == 3:
			// The first stored, the second refused, the third again.
			return batch[2:], 1, errors.New("throttled; mapping conflict")
		case attempt == 2:
			return nil, 1, errors.New("mapping conflict") // refused for good
		}
		return nil, 0, nil
	}}
	o := fastOptions()
	o.Batch = 3
	o.FlushInterval = time.Second
	q := NewQueue("fake", f, o)
	for i := range 3 {
		if err := q.Write(context.Background(), rep(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	if st := q.Stats(); st.Sent != 1 || st.Rejected != 2 || st.Retries != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestQueueBackPressure(t *testing.T) {
	block := make(chan struct{})
	f := &fakeBatcher{fail: func(int, []string) ([]string, int, error) {
		<-block
		return nil, 0, nil
	}}
	o := fastOptions()
	o.Size, o.Batch = 2, 1
	q := NewQueue("fake", f, o)
	// One in flight, two queued; the next waits for room.
	for i := range 3 {
		if err := q.Write(context.Background(), rep(i)); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	err := q.Write(ctx, rep(3))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("write to a full queue: %v, want a deadline error", err)
	}
	close(block)
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	if len(f.got) != 3 {
		t.Fatalf("delivered %v, want the 3 accepted", f.got)
	}
}

func TestQueueCloseCountsLost(t *testing.T) {
	f := &fakeBatcher{fail: func(_ int, batch []string) ([]string, int, error) { return batch, 0, errors.New("down") }}
	o := fastOptions()
	o.DrainTimeout = 30 * time.Millisecond
	q := NewQueue("fake", f, o)
	for i := range 5 {
		if err := q.Write(context.Background(), rep(i)); err != nil {
			t.Fatal(err)
		}
	}
	err := q.Close()
	if err == nil || !strings.Contains(err.Error(), "5 reports not delivered") {
		t.Fatalf("close: %v", err)
	}
	if st := q.Stats(); st.Lost != 5 || st.Queued != 0 {
		t.Fatalf("stats %+v", st)
	}
	if err := q.Write(context.Background(), rep(9)); !errors.Is(err, ErrClosed) {
		t.Fatalf("write after close: %v", err)
	}
	if err2 := q.Close(); err2 == nil || err2.Error() != err.Error() {
		t.Fatalf("second close: %v", err2)
	}
}

// A panic in Send refuses its batch, and the queue goes on.
func TestQueueSurvivesPanic(t *testing.T) {
	f := &fakeBatcher{fail: func(attempt int, _ []string) ([]string, int, error) {
		if attempt == 1 {
			panic("bug")
		}
		return nil, 0, nil
	}}
	o := fastOptions()
	o.Batch = 1
	q := NewQueue("fake", f, o)
	for i := range 2 {
		if err := q.Write(context.Background(), rep(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	if st := q.Stats(); len(f.got) != 1 || st.Rejected != 1 || st.Sent != 1 {
		t.Fatalf("delivered %v, stats %+v", f.got, st)
	}
}

// Writes racing with Close are either refused or delivered: none is
// accepted and then dropped.
func TestQueueCloseRace(t *testing.T) {
	for range 3000 {
		f := &fakeBatcher{}
		q := NewQueue("fake", f, fastOptions())
		var accepted atomic.Int64
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 5 {
					if q.Write(context.Background(), rep(w*10+i)) == nil {
						accepted.Add(1)
					}
					runtime.Gosched()
				}
			}()
		}
		runtime.Gosched()
		if err := q.Close(); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		if got := int64(len(f.got)); got != accepted.Load() {
			t.Fatalf("%d writes accepted, %d delivered, stats %+v", accepted.Load(), got, q.Stats())
		}
	}
}

func TestOpenQueuedFiles(t *testing.T) {
	dir := t.TempDir()
	for _, spec := range []string{"jsonl:" + filepath.Join(dir, "r.jsonl"), "dir:" + filepath.Join(dir, "tree")} {
		s, err := OpenQueued(spec, nil, fastOptions())
		if err != nil {
			t.Fatal(err)
		}
		for i := range 7 {
			r := richReport()
			r.ID = strings.Repeat("a", 63) + strconv.Itoa(i)
			if err := s.Write(context.Background(), r); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if st := s.(Stater).Stats(); st.Sent != 7 {
			t.Fatalf("%s: stats %+v", spec, st)
		}
	}
	f, err := os.Open(filepath.Join(dir, "r.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lines := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		lines++
	}
	if lines != 7 {
		t.Fatalf("%d lines, want 7", lines)
	}
	matches, err := filepath.Glob(filepath.Join(dir, "tree", "*", "*", "*", "*.json"))
	if err != nil || len(matches) != 7 {
		t.Fatalf("%d files (%v), want 7", len(matches), err)
	}
	if _, err := OpenQueued("redis://127.0.0.1:6379", nil, fastOptions()); err == nil {
		t.Fatal("a network destination was opened as a file")
	}
}

func TestQueueTracksSettledReports(t *testing.T) {
	var failing atomic.Bool
	failing.Store(true)
	f := &fakeBatcher{fail: func(_ int, batch []string) ([]string, int, error) {
		if failing.Load() {
			return batch, 0, errors.New("down")
		}
		return nil, 0, nil
	}}
	q := NewQueue("fake", f, fastOptions())
	var tickets []uint64
	for i := range 3 {
		tk, err := q.Put(context.Background(), rep(i))
		if err != nil {
			t.Fatal(err)
		}
		tickets = append(tickets, tk)
	}
	if tickets[0] != 1 || tickets[2] != 3 {
		t.Fatalf("tickets = %v, want 1, 2, 3", tickets)
	}
	time.Sleep(30 * time.Millisecond)
	if n, _ := q.Settled(); n != 0 {
		t.Fatalf("settled = %d while the destination fails", n)
	}
	failing.Store(false)
	waitSettled(t, q, 3, "after recovery")
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	n, changed := q.Settled()
	select {
	case <-changed:
	default:
		t.Fatal("the settled channel is still open after Close")
	}
	if n != 3 {
		t.Fatalf("settled = %d after Close, want 3", n)
	}
}

func TestQueueLostTicketsStayUnsettled(t *testing.T) {
	f := &fakeBatcher{fail: func(_ int, batch []string) ([]string, int, error) { return batch, 0, errors.New("down") }}
	o := fastOptions()
	o.DrainTimeout = 20 * time.Millisecond
	q := NewQueue("fake", f, o)
	tk, err := q.Put(context.Background(), rep(1))
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Close(); err == nil {
		t.Fatal("Close says nothing of the lost report")
	}
	if n, _ := q.Settled(); n >= tk {
		t.Fatalf("settled = %d covers the lost ticket %d", n, tk)
	}
}

// TestQueueFlushSendsAPartialBatch: with an hour's flush interval, three
// reports of a batch of four wait until Flush sends them.
func TestQueueFlushSendsAPartialBatch(t *testing.T) {
	f := &fakeBatcher{}
	o := fastOptions()
	o.FlushInterval = time.Hour
	q := NewQueue("fake", f, o)
	defer q.Close()
	for i := range 3 {
		if _, err := q.Put(context.Background(), rep(i)); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(30 * time.Millisecond)
	if n, _ := q.Settled(); n != 0 {
		t.Fatalf("settled = %d before Flush, want 0 (the batch is not full)", n)
	}
	q.Flush()
	waitSettled(t, q, 3, "after Flush")
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sends != 1 || strings.Join(f.got, ",") != "r0,r1,r2" {
		t.Errorf("%d sends of %v, want one of r0,r1,r2", f.sends, f.got)
	}
}

// TestQueueFlushSendsMoreThanABatch: ten reports queued behind a slow
// send, then one Flush: all of them go, in batches of four, without
// waiting for the flush interval.
func TestQueueFlushSendsMoreThanABatch(t *testing.T) {
	release := make(chan struct{})
	var first sync.Once
	f := &fakeBatcher{fail: func(int, []string) ([]string, int, error) {
		first.Do(func() { <-release })
		return nil, 0, nil
	}}
	o := fastOptions()
	o.FlushInterval = time.Hour
	q := NewQueue("fake", f, o)
	defer q.Close()
	put := func(i int) {
		if _, err := q.Put(context.Background(), rep(i)); err != nil {
			t.Fatal(err)
		}
	}
	put(0)
	q.Flush() // r0 goes alone, and its send hangs
	for i := 1; i < 10; i++ {
		put(i)
	}
	q.Flush()
	close(release)
	waitSettled(t, q, 10, "after one Flush")
	if f.maxSeen > o.Batch {
		t.Errorf("a batch of %d, above %d", f.maxSeen, o.Batch)
	}
}

// waitSettled waits up to 2 s for q to have settled want reports, and
// fails saying when (after what) it did not.
func waitSettled[T any](t *testing.T, q *Queue[T], want uint64, when string) {
	t.Helper()
	deadline := time.After(2 * time.Second)
	for {
		n, changed := q.Settled()
		if n == want {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("settled = %d %s, want %d", n, when, want)
		}
	}
}
