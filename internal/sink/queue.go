package sink

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/mailsift/mailsift/report"
)

// Batcher is a destination that takes reports in batches: a server such
// as Redis or Elasticsearch, or a file. A Queue drives it.
//
// Encode turns one report into the item that Send later delivers; it is
// called from Write, by any number of goroutines at once, and must not
// keep r. Send delivers a batch and is only ever called from the Queue's
// one goroutine. It sorts the batch's items three ways: stored, to be
// tried again (retry: all of batch after a failure that may pass, or the
// ones the server throttled), and refused for good (rejected counts the
// items the destination will never take). err says why anything was not
// stored. The Queue counts the stored and the refused, reports err, and
// backs off and sends retry again while it is not empty.
//
// Close releases the connection or file after the last Send.
type Batcher[T any] interface {
	Encode(r *report.Report) (T, error)
	Send(ctx context.Context, batch []T) (retry []T, rejected int, err error)
	Close() error
}

// QueueOptions shape a Queue. Zero fields take the defaults.
type QueueOptions struct {
	// Size is how many encoded reports wait at most; Write blocks while
	// the queue is full. Default 1000.
	Size int `yaml:"size"`
	// Batch is how many reports one Send carries at most. Default 100.
	Batch int `yaml:"batch"`
	// FlushInterval is how long a report waits at most for its batch to
	// fill. Default 1s.
	FlushInterval time.Duration `yaml:"flush_interval"`
	// RetryMin and RetryMax bound the back-off between attempts at a
	// failing batch, which doubles from RetryMin up to RetryMax, each wait
	// varied by up to a fifth either way. A batch is retried for as long
	// as the sink is open. Defaults 200ms and 30s.
	RetryMin time.Duration `yaml:"retry_min"`
	RetryMax time.Duration `yaml:"retry_max"`
	// DrainTimeout is how long Close keeps trying to deliver what is
	// still queued; what is left after it is counted as lost, and Close
	// says how many. Default 30s.
	DrainTimeout time.Duration `yaml:"drain_timeout"`
	// OnError, when set, hears of every failed attempt and rejection (for
	// logs); it must not block.
	OnError func(err error) `yaml:"-"`
}

// DefaultQueueOptions returns the defaults of QueueOptions.
func DefaultQueueOptions() QueueOptions {
	return QueueOptions{Size: 1000, Batch: 100, FlushInterval: time.Second,
		RetryMin: 200 * time.Millisecond, RetryMax: 30 * time.Second, DrainTimeout: 30 * time.Second}
}

// Check reports the first unusable option.
func (o QueueOptions) Check() error {
	switch {
	case o.Size < 0 || o.Batch < 0:
		return errors.New("queue size and batch cannot be negative")
	case o.FlushInterval < 0 || o.RetryMin < 0 || o.RetryMax < 0 || o.DrainTimeout < 0:
		return errors.New("queue durations cannot be negative")
	case o.RetryMax > 0 && o.RetryMin > o.RetryMax:
		return errors.New("queue retry_min is above retry_max")
	}
	return nil
}

func (o QueueOptions) withDefaults() QueueOptions {
	d := DefaultQueueOptions()
	if o.Size > 0 {
		d.Size = o.Size
	}
	if o.Batch > 0 {
		d.Batch = o.Batch
	}
	if d.Batch > d.Size {
		d.Batch = d.Size
	}
	if o.FlushInterval > 0 {
		d.FlushInterval = o.FlushInterval
	}
	if o.RetryMin > 0 {
		d.RetryMin = o.RetryMin
	}
	if o.RetryMax > 0 {
		d.RetryMax = o.RetryMax
	}
	if d.RetryMin > d.RetryMax {
		d.RetryMin = d.RetryMax
	}
	if o.DrainTimeout > 0 {
		d.DrainTimeout = o.DrainTimeout
	}
	d.OnError = o.OnError
	return d
}

// QueueStats are a Queue's counters since it opened.
type QueueStats struct {
	Name     string
	Queued   int    // reports waiting, including the batch being sent
	Sent     uint64 // reports delivered
	Batches  uint64 // batches delivered whole
	Retries  uint64 // failed attempts that were tried again
	Rejected uint64 // reports the destination refused for good
	Lost     uint64 // reports still queued when Close gave up
}

// Queue is the Sink in front of a Batcher: Write encodes the report and
// puts it in a bounded queue, blocking while the queue is full (so a
// slow or absent destination slows the producers down instead of losing
// reports); one goroutine takes batches off the queue and sends them,
// backing off and retrying while they fail. Close stops taking reports,
// delivers what is queued within DrainTimeout, and closes the Batcher.
type Queue[T any] struct {
	name string
	b    Batcher[T]
	o    QueueOptions

	items chan T
	flush chan struct{} // Flush's request, taken by the sender
	// closing is closed by Close: Write refuses from then on. sealed is
	// closed once no Write can add to items any more: the sender then
	// drains and stops. stop is cancelled when the drain time is over.
	closing   chan struct{}
	sealed    chan struct{}
	closeOnce sync.Once
	stop      context.CancelFunc
	stopCtx   context.Context
	done      chan struct{}
	closeErr  error
	writers   sync.WaitGroup
	mu        sync.RWMutex // Write holds it shared while it may add to items; Close exclusively
	isClosing bool

	// enq orders the sends on items, so that a report's ticket is its
	// place in the queue; put counts the reports queued. settled counts
	// the reports stored or refused, and settledCh is closed and replaced
	// each time it moves, and closed for good when the sender stops.
	enq       sync.Mutex
	put       uint64
	settleMu  sync.Mutex
	settled   uint64
	settledCh chan struct{}

	inFlight atomic.Int64
	sent     atomic.Uint64
	batches  atomic.Uint64
	retries  atomic.Uint64
	rejected atomic.Uint64
	lost     atomic.Uint64
}

var (
	_ Sink    = (*Queue[[]byte])(nil)
	_ Tracker = (*Queue[[]byte])(nil)
)

// Tracker is a Sink that tells when the reports it took are settled:
// stored by the destination, or refused by it for good. A caller that
// must not let go of a report's source before then (a worker that
// acknowledges a queued mail) uses it.
//
// Put queues r as Write does and returns its ticket; tickets count up
// from 1 in the order the reports are delivered. Settled returns how many
// reports are settled so far (every ticket up to n is) and a channel that
// is closed when n next moves or the sink stops for good; after Close,
// the tickets above n were lost.
//
// Flush sends what is queued now without waiting for a full batch or the
// flush interval, for a caller that knows nothing more will come soon; it
// does not wait for the delivery.
type Tracker interface {
	Sink
	Put(ctx context.Context, r *report.Report) (ticket uint64, err error)
	Settled() (n uint64, changed <-chan struct{})
	Flush()
}

// NewQueue starts a Queue named name (for errors and metrics) that
// delivers to b.
func NewQueue[T any](name string, b Batcher[T], o QueueOptions) *Queue[T] {
	o = o.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	q := &Queue[T]{name: name, b: b, o: o, items: make(chan T, o.Size), flush: make(chan struct{}, 1),
		closing: make(chan struct{}), sealed: make(chan struct{}), stop: cancel, stopCtx: ctx, done: make(chan struct{}),
		settledCh: make(chan struct{})}
	go q.run()
	return q
}

// Write encodes r and queues it, waiting while the queue is full until
// ctx is done.
func (q *Queue[T]) Write(ctx context.Context, r *report.Report) error {
	_, err := q.Put(ctx, r)
	return err
}

// Put is Write that also returns the report's ticket (see Tracker).
func (q *Queue[T]) Put(ctx context.Context, r *report.Report) (uint64, error) {
	if r == nil {
		return 0, fmt.Errorf("sink: %s: write: nil report", q.name)
	}
	item, err := q.b.Encode(r)
	if err != nil {
		return 0, fmt.Errorf("sink: %s: encode report %s: %w", q.name, r.ID, err)
	}
	q.mu.RLock()
	if q.isClosing {
		q.mu.RUnlock()
		return 0, fmt.Errorf("sink: %s: write: %w", q.name, ErrClosed)
	}
	q.writers.Add(1)
	q.mu.RUnlock()
	defer q.writers.Done()
	q.enq.Lock()
	defer q.enq.Unlock()
	select {
	case q.items <- item:
		q.put++
		return q.put, nil
	case <-ctx.Done():
		return 0, fmt.Errorf("sink: %s: write: queue full: %w", q.name, ctx.Err())
	case <-q.closing:
		return 0, fmt.Errorf("sink: %s: write: %w", q.name, ErrClosed)
	}
}

// Flush ends the batch being gathered, if any, with the reports queued
// so far (see Tracker). A Flush while the queue is empty makes the next
// batch go with what is queued when it starts.
func (q *Queue[T]) Flush() {
	select {
	case q.flush <- struct{}{}:
	default: // one request is pending already
	}
}

// Settled returns how many reports are settled and a channel closed at
// the next change (see Tracker).
func (q *Queue[T]) Settled() (uint64, <-chan struct{}) {
	q.settleMu.Lock()
	defer q.settleMu.Unlock()
	return q.settled, q.settledCh
}

// settle counts n more reports as settled and wakes the waiters; n == 0
// with final set closes the channel for good.
func (q *Queue[T]) settle(n int, final bool) {
	q.settleMu.Lock()
	defer q.settleMu.Unlock()
	q.settled += uint64(n)
	close(q.settledCh)
	if final {
		return
	}
	q.settledCh = make(chan struct{})
}

// Stats returns the counters.
func (q *Queue[T]) Stats() QueueStats {
	return QueueStats{Name: q.name, Queued: len(q.items) + int(q.inFlight.Load()),
		Sent: q.sent.Load(), Batches: q.batches.Load(), Retries: q.retries.Load(),
		Rejected: q.rejected.Load(), Lost: q.lost.Load()}
}

// Close delivers what is queued, giving up after DrainTimeout, and closes
// the Batcher. It returns an error when reports were lost or the Batcher
// failed to close; a second Close returns the same.
func (q *Queue[T]) Close() error {
	q.closeOnce.Do(func() {
		q.mu.Lock()
		q.isClosing = true
		q.mu.Unlock()
		close(q.closing)
		q.writers.Wait() // no Write sends on items after this
		close(q.sealed)
		timer := time.AfterFunc(q.o.DrainTimeout, q.stop)
		<-q.done
		timer.Stop()
		q.stop()
		var errs []error
		if n := q.lost.Load(); n > 0 {
			errs = append(errs, fmt.Errorf("sink: %s: close: %d reports not delivered within %s", q.name, n, q.o.DrainTimeout))
		}
		if err := q.b.Close(); err != nil {
			errs = append(errs, fmt.Errorf("sink: %s: close: %w", q.name, err))
		}
		q.closeErr = errors.Join(errs...)
	})
	return q.closeErr
}

// run is the sender: it gathers batches and delivers them until the
// queue is closed and empty, or the drain time is over.
func (q *Queue[T]) run() {
	defer close(q.done)
	defer q.settle(0, true)
	batch := make([]T, 0, q.o.Batch)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		batch = batch[:0]
		// Wait for the first report of a batch.
		select {
		case it := <-q.items:
			batch = append(batch, it)
		case <-q.sealed:
			select {
			case it := <-q.items:
				batch = append(batch, it)
			default:
				return
			}
		}
		q.inFlight.Store(1)
		// Fill the batch until it is full, the interval is up, or the
		// queue is closing and empty.
		timer.Reset(q.o.FlushInterval)
	fill:
		for len(batch) < q.o.Batch {
			select {
			case it := <-q.items:
				batch = append(batch, it)
				q.inFlight.Add(1)
			case <-timer.C:
				break fill
			case <-q.flush:
				batch = q.takeQueued(batch)
				if len(q.items) > 0 {
					q.Flush() // the rest of what was queued goes in the next batch
				}
				break fill
			case <-q.sealed:
				batch = q.takeQueued(batch)
				break fill
			}
		}
		timer.Stop()
		if !q.deliver(batch) {
			q.lost.Add(uint64(len(q.items)))
			for len(q.items) > 0 {
				<-q.items
			}
			q.inFlight.Store(0)
			return
		}
		q.inFlight.Store(0)
		q.settle(len(batch), false)
	}
}

// takeQueued adds to batch, up to a full one, the reports queued now.
func (q *Queue[T]) takeQueued(batch []T) []T {
	for len(batch) < q.o.Batch {
		select {
		case it := <-q.items:
			batch = append(batch, it)
			q.inFlight.Add(1)
		default:
			return batch
		}
	}
	return batch
}

// deliver sends batch until it is stored or refused, backing off between
// attempts. It returns false when the drain time ran out first; the
// reports not delivered are then counted as lost.
func (q *Queue[T]) deliver(batch []T) bool {
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval = q.o.RetryMin
	bo.MaxInterval = q.o.RetryMax
	bo.Multiplier = 2
	bo.RandomizationFactor = 0.2
	bo.Reset()
	pending := batch
	for {
		retry, rejected, err := q.send(pending)
		rejected = min(max(rejected, 0), len(pending)-len(retry))
		q.sent.Add(uint64(len(pending) - len(retry) - rejected))
		q.rejected.Add(uint64(rejected))
		if len(retry) == 0 {
			if err != nil || rejected > 0 {
				q.report(fmt.Errorf("sink: %s: %d of %d reports refused: %w", q.name, rejected, len(pending), err))
			}
			q.batches.Add(1)
			return true
		}
		if err == nil {
			err = errors.New("destination asked to send again")
		}
		q.report(fmt.Errorf("sink: %s: %d reports to send again: %w", q.name, len(retry), err))
		pending = retry
		wait := time.NewTimer(min(bo.NextBackOff(), q.o.RetryMax))
		select {
		case <-wait.C:
			q.retries.Add(1)
		case <-q.stopCtx.Done():
			wait.Stop()
			q.lost.Add(uint64(len(pending)))
			return false
		}
	}
}

// send calls the Batcher. A panic refuses the batch: a bug that fires on
// every attempt must not hold the queue up for good.
func (q *Queue[T]) send(batch []T) (retry []T, rejected int, err error) {
	defer func() {
		if p := recover(); p != nil {
			retry, rejected, err = nil, len(batch), fmt.Errorf("internal error: %v", p)
		}
	}()
	if q.stopCtx.Err() != nil {
		return batch, 0, q.stopCtx.Err()
	}
	return q.b.Send(q.stopCtx, batch)
}

func (q *Queue[T]) report(err error) {
	if q.o.OnError != nil {
		q.o.OnError(err)
	}
}
