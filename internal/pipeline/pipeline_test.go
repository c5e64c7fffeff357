package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mailsift/mailsift/internal/sink"
	"github.com/mailsift/mailsift/report"
)

// item is a fake delivery that records how it was settled.
type item struct {
	id       string
	attempt  int
	mu       sync.Mutex
	outcome  string
	delay    time.Duration
	progress int
	cause    error
}

func (it *item) ID() string   { return it.id }
func (it *item) Data() []byte { return []byte(it.id) }
func (it *item) Attempt() int { return it.attempt }
func (it *item) Ack() error   { return it.settle("ack", 0, nil) }
func (it *item) Progress() error {
	it.mu.Lock()
	defer it.mu.Unlock()
	it.progress++
	return nil
}
func (it *item) Nak(d time.Duration) error    { return it.settle("nak", d, nil) }
func (it *item) DeadLetter(cause error) error { return it.settle("dead", 0, cause) }
func (it *item) settle(how string, d time.Duration, cause error) error {
	it.mu.Lock()
	defer it.mu.Unlock()
	if it.outcome != "" {
		return fmt.Errorf("%s settled twice (%s, then %s)", it.id, it.outcome, how)
	}
	it.outcome, it.delay, it.cause = how, d, cause
	return nil
}
func (it *item) state() (string, int) {
	it.mu.Lock()
	defer it.mu.Unlock()
	return it.outcome, it.progress
}

// source hands out its items, then blocks until ctx is done.
type source struct{ items chan *item }

func newSource(items ...*item) *source {
	s := &source{items: make(chan *item, len(items))}
	for _, it := range items {
		s.items <- it
	}
	return s
}

func (s *source) Next(ctx context.Context) (Delivery, error) {
	select {
	case it := <-s.items:
		return it, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// batcher is a sink destination that is down while down is set.
type batcher struct {
	down atomic.Bool
	mu   sync.Mutex
	got  []string
}

func (b *batcher) Encode(r *report.Report) (string, error) { return r.ID, nil }
func (b *batcher) Send(_ context.Context, batch []string) ([]string, int, error) {
	if b.down.Load() {
		return batch, 0, errors.New("down")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.got = append(b.got, batch...)
	return nil, 0, nil
}
func (b *batcher) Close() error { return nil }

func queueOptions() sink.QueueOptions {
	return sink.QueueOptions{Size: 4, Batch: 2, FlushInterval: time.Millisecond,
		RetryMin: time.Millisecond, RetryMax: 5 * time.Millisecond, DrainTimeout: 100 * time.Millisecond}
}

func echo(_ context.Context, d Delivery) (*report.Report, error) {
	return &report.Report{ID: string(d.Data())}, nil
}

func waitOutcome(t *testing.T, it *item, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, _ := it.state()
		if got == want {
			return
		}
		if got != "" || time.Now().After(deadline) {
			t.Fatalf("%s settled %q, want %q", it.id, got, want)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestAckOnlyOnceEverySinkSettled(t *testing.T) {
	up, flaky := &batcher{}, &batcher{}
	flaky.down.Store(true)
	a, b := sink.NewQueue("up", up, queueOptions()), sink.NewQueue("flaky", flaky, queueOptions())
	it := &item{id: "m1", attempt: 1}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan Stats)
	go func() {
		done <- Run(ctx, newSource(it), echo, []sink.Tracker{a, b}, Options{ProgressEvery: 20 * time.Millisecond})
	}()
	time.Sleep(100 * time.Millisecond)
	if got, progress := it.state(); got != "" || progress == 0 {
		t.Fatalf("while a sink is down: settled %q, %d progress reports; want unsettled and kept in progress", got, progress)
	}
	flaky.down.Store(false)
	waitOutcome(t, it, "ack")
	cancel()
	if st := <-done; st.Acked != 1 {
		t.Fatalf("stats %+v", st)
	}
	for _, q := range []*sink.Queue[string]{a, b} {
		if err := q.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if len(up.got) != 1 || len(flaky.got) != 1 {
		t.Fatalf("sinks got %v and %v, want the report once each", up.got, flaky.got)
	}
}

func TestFailuresRetryThenDeadLetter(t *testing.T) {
	q := sink.NewQueue("up", &batcher{}, queueOptions())
	defer q.Close()
	first := &item{id: "first", attempt: 1}
	last := &item{id: "last", attempt: 3}
	looping := &item{id: "looping", attempt: 4} // delivered past MaxDeliver: it killed its workers
	panics := &item{id: "panics", attempt: 3}
	fail := func(_ context.Context, d Delivery) (*report.Report, error) {
		if d.ID() == "panics" {
			panic("boom")
		}
		return nil, errors.New("cannot")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan Stats)
	o := Options{Workers: 2, MaxDeliver: 3, RetryMin: 10 * time.Millisecond, RetryMax: time.Second}
	go func() { done <- Run(ctx, newSource(first, last, looping, panics), fail, []sink.Tracker{q}, o) }()
	waitOutcome(t, first, "nak")
	waitOutcome(t, last, "dead")
	waitOutcome(t, looping, "dead")
	waitOutcome(t, panics, "dead")
	cancel()
	st := <-done
	if st.Failed != 1 || st.Dead != 3 {
		t.Fatalf("stats %+v, want 1 failed and 3 dead", st)
	}
	if first.delay != 10*time.Millisecond {
		t.Fatalf("first retry after %s, want RetryMin", first.delay)
	}
	if panics.cause == nil || panics.cause.Error() != "internal error: boom" {
		t.Fatalf("panic recorded as %v", panics.cause)
	}
	if looping.cause == nil || looping.cause.Error() != "delivered 3 times without a result" {
		t.Fatalf("looping item's cause %v", looping.cause)
	}
}

func TestRetryDelayDoubles(t *testing.T) {
	o := Options{RetryMin: time.Second, RetryMax: 5 * time.Second}
	for attempt, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 5 * time.Second, 9: 5 * time.Second} {
		if got := o.RetryDelay(attempt); got != want {
			t.Errorf("RetryDelay(%d) = %s, want %s", attempt, got, want)
		}
	}
}

func TestShutdownHandsBackWhatSinksDidNotSettle(t *testing.T) {
	down := &batcher{}
	down.down.Store(true)
	q := sink.NewQueue("down", down, queueOptions())
	it := &item{id: "m", attempt: 1}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan Stats)
	go func() {
		done <- Run(ctx, newSource(it), echo, []sink.Tracker{q}, Options{Drain: 50 * time.Millisecond})
	}()
	time.Sleep(30 * time.Millisecond)
	cancel()
	st := <-done
	if got, _ := it.state(); got != "nak" || st.Naked != 1 {
		t.Fatalf("settled %q with stats %+v, want handed back", got, st)
	}
	if err := q.Close(); err == nil {
		t.Fatal("the queue does not report the report it could not deliver")
	}
}

// TestIdleWorkersFlushTheSinks: the sink waits an hour for a full batch,
// but once the source has nothing more the workers flush it, and the
// items are acknowledged at once.
func TestIdleWorkersFlushTheSinks(t *testing.T) {
	dst := &batcher{}
	o := queueOptions()
	o.Batch, o.FlushInterval = 4, time.Hour
	q := sink.NewQueue("slow", dst, o)
	defer q.Close()
	items := []*item{{id: "a", attempt: 1}, {id: "b", attempt: 1}, {id: "c", attempt: 1}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan Stats, 1)
	go func() { done <- Run(ctx, newSource(items...), echo, []sink.Tracker{q}, Options{Workers: 2}) }()
	for _, it := range items {
		waitOutcome(t, it, "ack")
	}
	cancel()
	if st := <-done; st.Acked != 3 {
		t.Errorf("acked %d, want 3", st.Acked)
	}
}
