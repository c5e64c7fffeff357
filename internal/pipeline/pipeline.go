// Package pipeline runs work from a Source through a processing function
// into sinks, and lets go of each item only once every sink has settled
// its result.
//
// Data flows one way: Run's workers take Deliveries from the Source, turn
// each into a report with the Process function (a panic or a timeout is a
// failure of that item, not of the run), and Put the report into every
// sink.Tracker. The acknowledger holds each delivery until all sinks have
// settled its report, then Acks it; meanwhile it tells the Source that
// held deliveries are still in progress, so a slow item or a slow sink is
// not handed to another worker. A failed item is Nak'd with a growing
// delay, and after MaxDeliver attempts it goes to the dead letters with
// its error. A worker that finds the Source dry flushes the sinks, so the
// last items are acknowledged without waiting out the sinks' flush
// interval.
//
// Back-pressure comes from the sinks: when one is slow or down its queue
// fills, Put blocks, the workers stop taking work and the items stay with
// the Source. Memory is bounded by the sinks' queues and the Source's own
// prefetch. A report a sink has queued is retried by the sink until it is
// stored, so the item is held rather than handed back (which would give
// the sinks that did take it a second copy); an item whose report a sink
// cannot even queue, within the drain time, is Nak'd with the retry
// delay.
//
// The package knows nothing of mail or of the transport; internal/mailq
// provides the NATS JetStream Source.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mailsift/mailsift/internal/sink"
	"github.com/mailsift/mailsift/report"
)

// Delivery is one item handed out by a Source. It is settled exactly once,
// by Ack, Nak or DeadLetter; Progress may be called any number of times
// before. All of them may block on the network briefly.
type Delivery interface {
	// ID names the item in logs and errors.
	ID() string
	// Data is the item's payload.
	Data() []byte
	// Attempt counts the deliveries of this item, 1 the first time.
	Attempt() int
	// Ack says the item is done and may be forgotten.
	Ack() error
	// Nak hands the item back, to be delivered again after delay.
	Nak(delay time.Duration) error
	// Progress says the item is still being worked on.
	Progress() error
	// DeadLetter sets the item aside for good, with the cause.
	DeadLetter(cause error) error
}

// Source hands out deliveries. Next blocks until one is ready or ctx is
// done (it then returns an error wrapping ctx.Err()); other errors are
// passing failures, such as a lost connection, and Next may be called
// again. Next is safe for concurrent use.
type Source interface {
	Next(ctx context.Context) (Delivery, error)
}

// Process turns a delivery into its report. An error fails the attempt:
// the item is tried again later, or set aside after MaxDeliver attempts.
type Process func(ctx context.Context, d Delivery) (*report.Report, error)

// Options shape a Run. Zero fields take the defaults.
type Options struct {
	// Workers is how many items are processed at once. Default 1.
	Workers int
	// MaxDeliver is how many attempts an item gets before it goes to the
	// dead letters. Default 5.
	MaxDeliver int
	// Timeout bounds the processing of one item. Default 60s.
	Timeout time.Duration
	// RetryMin and RetryMax bound the delay before a failed item is
	// delivered again; it doubles with each attempt. Defaults 1s and 1m.
	RetryMin, RetryMax time.Duration
	// ProgressEvery is how often held items are reported in progress;
	// it must be well under the Source's acknowledgement deadline.
	// Default 10s.
	ProgressEvery time.Duration
	// Drain is how long Run waits, once ctx is done, for the sinks to
	// settle what the workers finished; the items still unsettled then
	// are Nak'd. Default 30s.
	Drain time.Duration
	// Logger hears of failures. Default: discard.
	Logger *slog.Logger
	// Observe, when set, hears of every outcome: "acked", "failed",
	// "dead", "nak" (handed back unfinished at shutdown) and
	// "source_error". It must not block.
	Observe func(outcome string)
}

func (o Options) withDefaults() Options {
	if o.Workers <= 0 {
		o.Workers = 1
	}
	if o.MaxDeliver <= 0 {
		o.MaxDeliver = 5
	}
	if o.Timeout <= 0 {
		o.Timeout = time.Minute
	}
	if o.RetryMin <= 0 {
		o.RetryMin = time.Second
	}
	if o.RetryMax <= 0 {
		o.RetryMax = time.Minute
	}
	o.RetryMin = min(o.RetryMin, o.RetryMax)
	if o.ProgressEvery <= 0 {
		o.ProgressEvery = 10 * time.Second
	}
	if o.Drain <= 0 {
		o.Drain = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Stats count what a Run did.
type Stats struct {
	Acked  uint64 // items whose reports every sink settled
	Failed uint64 // failed attempts handed back for another try
	Dead   uint64 // items set aside after their last attempt
	Naked  uint64 // finished or not, handed back unsettled at shutdown
}

// RetryDelay is the wait before attempt+1 of an item whose attempt
// failed: RetryMin doubled per earlier attempt, at most RetryMax.
func (o Options) RetryDelay(attempt int) time.Duration {
	o = o.withDefaults()
	d := o.RetryMin
	for i := 1; i < attempt && d < o.RetryMax; i++ {
		d *= 2
	}
	return min(d, o.RetryMax)
}

// held is a delivery between Next and its settlement.
type held struct {
	d        Delivery
	tickets  []uint64 // per sink; nil until the report is queued
	progress time.Time
}

// run is the state of one Run.
type run struct {
	o       Options
	src     Source
	process Process
	sinks   []sink.Tracker

	mu    sync.Mutex
	held  map[*held]struct{}
	ready chan struct{} // signalled when tickets are set

	acked, failed, dead, naked atomic.Uint64
}

// Run processes deliveries from src until ctx is done, then finishes the
// items in hand, waits up to Options.Drain for the sinks to settle them,
// hands back the rest and returns. It does not close the sinks.
func Run(ctx context.Context, src Source, process Process, sinks []sink.Tracker, o Options) Stats {
	r := &run{o: o.withDefaults(), src: src, process: process, sinks: sinks,
		held: make(map[*held]struct{}), ready: make(chan struct{}, 1)}

	var workers sync.WaitGroup
	for range r.o.Workers {
		workers.Go(func() { r.work(ctx) })
	}
	workersDone := make(chan struct{})
	go func() { workers.Wait(); close(workersDone) }()
	r.acknowledge(workersDone)
	return Stats{Acked: r.acked.Load(), Failed: r.failed.Load(), Dead: r.dead.Load(), Naked: r.naked.Load()}
}

func (r *run) observe(outcome string) {
	if r.o.Observe != nil {
		r.o.Observe(outcome)
	}
}

// idleFlush is how long a worker waits for its next item before it tells
// the sinks to send what they hold: the source has run dry, and the items
// whose reports sit in a half-full batch would otherwise wait out the
// sinks' flush interval before they are acknowledged.
const idleFlush = 10 * time.Millisecond

func (r *run) flush() {
	for _, s := range r.sinks {
		s.Flush()
	}
}

// work is one worker: take, process, queue the report, repeat.
func (r *run) work(ctx context.Context) {
	idle := time.AfterFunc(time.Hour, r.flush)
	idle.Stop()
	defer idle.Stop()
	for ctx.Err() == nil {
		idle.Reset(idleFlush)
		d, err := r.src.Next(ctx)
		idle.Stop()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			r.observe("source_error")
			r.o.Logger.Warn("source", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		h := &held{d: d, progress: time.Now()}
		r.mu.Lock()
		r.held[h] = struct{}{}
		r.mu.Unlock()
		r.handle(ctx, h)
	}
}

// handle takes one delivery to the point where only the sinks are left.
func (r *run) handle(ctx context.Context, h *held) {
	d := h.d
	if n := d.Attempt(); n > r.o.MaxDeliver {
		r.deadLetter(h, fmt.Errorf("delivered %d times without a result", n-1))
		return
	}
	rep, err := r.processOne(ctx, d)
	if err != nil {
		if d.Attempt() >= r.o.MaxDeliver {
			r.deadLetter(h, err)
			return
		}
		r.failed.Add(1)
		r.observe("failed")
		r.o.Logger.Warn("attempt failed", "item", d.ID(), "attempt", d.Attempt(), "err", err)
		r.settle(h, func() error { return d.Nak(r.o.RetryDelay(d.Attempt())) })
		return
	}
	// The report goes to the sinks even when ctx is done: the work is
	// finished, and the drain gives the sinks time to take it.
	putCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.o.Drain)
	defer cancel()
	tickets := make([]uint64, len(r.sinks))
	for i, s := range r.sinks {
		t, err := s.Put(putCtx, rep)
		if err != nil {
			// The sink is closed or stayed full for the whole drain
			// time: the item goes back, to be tried again later. Sinks
			// before this one may then get a second copy of the
			// report, which beats losing it.
			r.naked.Add(1)
			r.observe("nak")
			r.o.Logger.Warn("sink did not take the report", "item", d.ID(), "err", err)
			r.settle(h, func() error { return d.Nak(r.o.RetryDelay(d.Attempt())) })
			return
		}
		tickets[i] = t
	}
	r.mu.Lock()
	h.tickets = tickets
	r.mu.Unlock()
	select {
	case r.ready <- struct{}{}:
	default:
	}
}

// processOne calls Process with the timeout, turning a panic into an
// error.
func (r *run) processOne(ctx context.Context, d Delivery) (rep *report.Report, err error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.o.Timeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			rep, err = nil, fmt.Errorf("internal error: %v", p)
			r.o.Logger.Error("panic", "item", d.ID(), "panic", p, "stack", string(debug.Stack()))
		}
	}()
	rep, err = r.process(ctx, d)
	if err == nil && rep == nil {
		err = errors.New("no report")
	}
	return rep, err
}

func (r *run) deadLetter(h *held, cause error) {
	r.dead.Add(1)
	r.observe("dead")
	r.o.Logger.Error("dead letter", "item", h.d.ID(), "attempt", h.d.Attempt(), "err", cause)
	r.settle(h, func() error { return h.d.DeadLetter(cause) })
}

// settle forgets h after calling how (Ack, Nak or DeadLetter). A failure
// to settle is logged: the Source delivers the item again in time.
func (r *run) settle(h *held, how func() error) {
	if err := how(); err != nil {
		r.o.Logger.Warn("settle", "item", h.d.ID(), "err", err)
	}
	r.mu.Lock()
	delete(r.held, h)
	r.mu.Unlock()
}

// acknowledge acks each held item once all sinks have settled its report,
// and keeps the others alive, until the workers are done and the held
// items are settled or the drain time is over.
func (r *run) acknowledge(workersDone <-chan struct{}) {
	wake := make(chan struct{}, 1)
	stop := make(chan struct{})
	defer close(stop)
	for _, s := range r.sinks {
		go func() {
			for {
				_, changed := s.Settled()
				select {
				case <-changed:
				case <-stop:
					return
				}
				select {
				case wake <- struct{}{}:
				default:
				}
				select {
				case <-stop:
					return
				default:
				}
			}
		}()
	}
	tick := time.NewTicker(r.o.ProgressEvery / 2)
	defer tick.Stop()
	var drainEnd <-chan time.Time
	for {
		select {
		case <-wake:
		case <-r.ready:
		case <-tick.C:
			r.keepAlive()
		case <-workersDone:
			workersDone = nil
			timer := time.NewTimer(r.o.Drain)
			defer timer.Stop()
			drainEnd = timer.C
		case <-drainEnd:
			r.handBack()
			return
		}
		r.ackSettled()
		if workersDone == nil && r.heldCount() == 0 {
			return
		}
	}
}

func (r *run) heldCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.held)
}

// ackSettled acks the held items whose reports every sink has settled.
func (r *run) ackSettled() {
	settled := make([]uint64, len(r.sinks))
	for i, s := range r.sinks {
		settled[i], _ = s.Settled()
	}
	var done []*held
	r.mu.Lock()
	for h := range r.held {
		if h.tickets == nil {
			continue
		}
		ok := true
		for i, t := range h.tickets {
			if t > settled[i] {
				ok = false
				break
			}
		}
		if ok {
			done = append(done, h)
			delete(r.held, h)
		}
	}
	r.mu.Unlock()
	for _, h := range done {
		if err := h.d.Ack(); err != nil {
			r.o.Logger.Warn("ack", "item", h.d.ID(), "err", err)
		}
		r.acked.Add(1)
		r.observe("acked")
	}
}

// keepAlive reports in progress the held items not reported for
// ProgressEvery.
func (r *run) keepAlive() {
	now := time.Now()
	var due []Delivery
	r.mu.Lock()
	for h := range r.held {
		if now.Sub(h.progress) >= r.o.ProgressEvery {
			h.progress = now
			due = append(due, h.d)
		}
	}
	r.mu.Unlock()
	for _, d := range due {
		if err := d.Progress(); err != nil {
			r.o.Logger.Warn("progress", "item", d.ID(), "err", err)
		}
	}
}

// handBack Naks the items still held when the drain time is over, so
// that another worker takes them at once.
func (r *run) handBack() {
	r.mu.Lock()
	var left []*held
	for h := range r.held {
		if h.tickets != nil {
			left = append(left, h)
			delete(r.held, h)
		}
	}
	r.mu.Unlock()
	for _, h := range left {
		if err := h.d.Nak(0); err != nil {
			r.o.Logger.Warn("nak", "item", h.d.ID(), "err", err)
		}
		r.naked.Add(1)
		r.observe("nak")
	}
}
