package mailq

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/mailsift/mailsift/internal/pipeline"
)

// Source hands out the mails of the stream to the workers of this process
// through the shared durable consumer. It fetches up to prefetch mails at
// a time and keeps those it holds in progress, so that a mail waiting in
// this process while the workers are busy (a slow sink holds them back)
// is not handed to another worker meanwhile.
type Source struct {
	q        *Queue
	prefetch int
	cons     jetstream.Consumer

	fetch     sync.Mutex // one fetch at a time
	refilling atomic.Bool
	mu        sync.Mutex // guards buf
	buf       []jetstream.Msg
	stop      chan struct{}
	once      sync.Once
}

var _ pipeline.Source = (*Source)(nil)

// Source creates or updates the durable consumer and returns a Source
// that fetches up to prefetch mails at a time (at least 1). Stop it when
// done.
func (q *Queue) Source(ctx context.Context, prefetch int) (*Source, error) {
	cfg := q.cfg
	cons, err := q.js.CreateOrUpdateConsumer(ctx, cfg.Stream, jetstream.ConsumerConfig{
		Durable:       cfg.Consumer,
		Description:   "mailsift workers",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       cfg.AckWait,
		MaxDeliver:    -1, // the workers set a mail aside after max_deliver attempts
		MaxAckPending: cfg.MaxAckPending,
		FilterSubject: cfg.Subject,
	})
	if err != nil {
		return nil, fmt.Errorf("mailq: consumer %s: %w", cfg.Consumer, err)
	}
	s := &Source{q: q, prefetch: max(prefetch, 1), cons: cons, stop: make(chan struct{})}
	go s.keepAlive(max(cfg.AckWait/4, 100*time.Millisecond))
	return s, nil
}

// fetchWait is how long one pull waits for a mail to arrive.
const fetchWait = time.Second

// Next returns the next mail. A mail too large for the stream is fetched
// from the object store; when that fails the mail is handed back and the
// error returned.
func (s *Source) Next(ctx context.Context) (pipeline.Delivery, error) {
	msg, err := s.take(ctx)
	if err != nil {
		return nil, err
	}
	d := &Delivery{q: s.q, msg: msg, data: msg.Data()}
	if meta, err := msg.Metadata(); err == nil {
		d.seq, d.attempt = meta.Sequence.Stream, int(meta.NumDelivered)
	} else {
		d.attempt = 1
	}
	if name := msg.Headers().Get(HeaderObject); name != "" {
		store, err := s.q.largeStore(ctx)
		if err == nil {
			d.data, err = store.GetBytes(ctx, name)
		}
		if err != nil {
			if nerr := msg.NakWithDelay(s.q.cfg.RetryMin); nerr != nil {
				err = errors.Join(err, nerr)
			}
			return nil, fmt.Errorf("mailq: fetch large mail %s: %w", d.ID(), err)
		}
	}
	return d, nil
}

// take pops a fetched mail, fetching more when none is left: what the
// stream has now, up to prefetch, or else the first mail to arrive. When
// the buffer runs below half, the next mails are fetched in the
// background, so that a worker seldom waits for a round trip.
func (s *Source) take(ctx context.Context) (jetstream.Msg, error) {
	for {
		if msg, left := s.pop(); msg != nil {
			if left < s.prefetch/2 && s.refilling.CompareAndSwap(false, true) {
				go func() {
					defer s.refilling.Store(false)
					s.fetch.Lock()
					defer s.fetch.Unlock()
					if n := s.buffered(); n < s.prefetch {
						_, _ = s.collect(s.cons.FetchNoWait(s.prefetch - n))
					}
				}()
			}
			return msg, nil
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("mailq: next: %w", err)
		}
		if err := s.fill(ctx); err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("mailq: next: %w", ctx.Err())
			}
			return nil, fmt.Errorf("mailq: next: %w", err)
		}
	}
}

// fill fetches when the buffer is empty: what the stream has now, or
// else the first mail to arrive within fetchWait.
func (s *Source) fill(ctx context.Context) error {
	s.fetch.Lock()
	defer s.fetch.Unlock()
	if s.buffered() > 0 {
		return nil
	}
	n, err := s.collect(s.cons.FetchNoWait(s.prefetch))
	if err == nil && n == 0 {
		wctx, cancel := context.WithTimeout(ctx, fetchWait)
		_, err = s.collect(s.cons.Fetch(1, jetstream.FetchContext(wctx)))
		cancel()
	}
	return err
}

func (s *Source) buffered() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.buf)
}

// collect buffers the mails of a fetch and says how many came. A fetch
// that ends because its wait is over, with or without mails, is no
// error.
func (s *Source) collect(batch jetstream.MessageBatch, err error) (int, error) {
	if err != nil {
		return 0, err
	}
	n := 0
	for msg := range batch.Messages() {
		s.mu.Lock()
		s.buf = append(s.buf, msg)
		s.mu.Unlock()
		n++
	}
	if err := batch.Error(); err != nil && !errors.Is(err, context.DeadlineExceeded) &&
		!errors.Is(err, jetstream.ErrNoMessages) {
		return n, err
	}
	return n, nil
}

// pop takes the first fetched mail and says how many are left.
func (s *Source) pop() (jetstream.Msg, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.buf) == 0 {
		return nil, 0
	}
	msg := s.buf[0]
	s.buf = s.buf[1:]
	return msg, len(s.buf)
}

// keepAlive reports the fetched mails in progress until Stop.
func (s *Source) keepAlive(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		s.mu.Lock()
		held := append([]jetstream.Msg(nil), s.buf...)
		s.mu.Unlock()
		for _, msg := range held {
			_ = msg.InProgress()
		}
	}
}

// Stop stops fetching and hands back the mails fetched and not handed
// out, for another worker to take at once.
func (s *Source) Stop() {
	s.once.Do(func() { close(s.stop) })
	s.mu.Lock()
	held := s.buf
	s.buf = nil
	s.mu.Unlock()
	for _, msg := range held {
		_ = msg.Nak()
	}
}

// Delivery is one mail handed to this worker.
type Delivery struct {
	q       *Queue
	msg     jetstream.Msg
	data    []byte
	seq     uint64
	attempt int
}

var _ pipeline.Delivery = (*Delivery)(nil)

// ID is the mail's sequence in the stream and its origin.
func (d *Delivery) ID() string {
	return "#" + strconv.FormatUint(d.seq, 10) + " " + d.Origin()
}

// Data is the raw mail.
func (d *Delivery) Data() []byte { return d.data }

// Attempt counts the deliveries of the mail, 1 the first time.
func (d *Delivery) Attempt() int { return d.attempt }

// Sequence is the mail's place in the stream: the same on every delivery
// of this copy of the mail, and different for a copy submitted again.
func (d *Delivery) Sequence() uint64 { return d.seq }

// Origin is where the mail was found when it was submitted.
func (d *Delivery) Origin() string { return d.msg.Headers().Get(HeaderOrigin) }

// Ack removes the mail from the stream, and a large mail's object from
// the object store.
func (d *Delivery) Ack() error {
	if err := d.msg.Ack(); err != nil {
		return fmt.Errorf("mailq: ack %s: %w", d.ID(), err)
	}
	return d.dropObject()
}

func (d *Delivery) dropObject() error {
	name := d.msg.Headers().Get(HeaderObject)
	if name == "" {
		return nil
	}
	store, err := d.q.largeStore(context.Background())
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err = store.Delete(ctx, name)
	}
	if err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
		return fmt.Errorf("mailq: delete large mail %s: %w", name, err)
	}
	return nil
}

// Nak hands the mail back, to be delivered again after delay.
func (d *Delivery) Nak(delay time.Duration) error {
	var err error
	if delay > 0 {
		err = d.msg.NakWithDelay(delay)
	} else {
		err = d.msg.Nak()
	}
	if err != nil {
		return fmt.Errorf("mailq: nak %s: %w", d.ID(), err)
	}
	return nil
}

// Progress resets the mail's acknowledgement time.
func (d *Delivery) Progress() error {
	if err := d.msg.InProgress(); err != nil {
		return fmt.Errorf("mailq: in progress %s: %w", d.ID(), err)
	}
	return nil
}

// DeadLetter copies the mail, its metadata and the cause into the
// dead-letter stream and then removes it from the mail stream. A large
// mail stays in the object store, referenced from the dead letter, until
// it expires.
func (d *Delivery) DeadLetter(cause error) error {
	msg := nats.NewMsg(d.q.cfg.DeadSubject)
	for k, v := range d.msg.Headers() {
		if !strings.HasPrefix(k, "Nats-") {
			msg.Header[k] = v
		}
	}
	msg.Header.Set(HeaderError, cause.Error())
	msg.Header.Set(HeaderAttempts, strconv.Itoa(d.attempt))
	msg.Header.Set(HeaderSequence, strconv.FormatUint(d.seq, 10))
	if d.msg.Headers().Get(HeaderObject) == "" {
		msg.Data = d.msg.Data()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	id := d.q.cfg.Stream + "-" + strconv.FormatUint(d.seq, 10)
	if _, err := d.q.js.PublishMsg(ctx, msg, jetstream.WithMsgID(id)); err != nil {
		return fmt.Errorf("mailq: dead letter %s: %w", d.ID(), err)
	}
	if err := d.msg.Ack(); err != nil {
		return fmt.Errorf("mailq: ack dead letter %s: %w", d.ID(), err)
	}
	return nil
}

// Header returns a metadata header of the mail.
func (d *Delivery) Header(name string) string { return d.msg.Headers().Get(name) }
