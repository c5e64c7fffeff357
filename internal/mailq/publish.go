package mailq

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Mail is a mail to submit, with where it came from.
type Mail struct {
	Raw      []byte
	Origin   string    // "path:N" for the N-th mail of an mbox, the path otherwise
	Path     string    // the file it was read from
	Received time.Time // zero: now
}

// ID is the de-duplication id of a raw mail: its SHA-256 in hex, the
// same as its report's id.
func ID(raw []byte) string {
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}

// Published is the outcome of one Publish.
type Published struct {
	ID        string
	Origin    string
	Path      string
	Duplicate bool  // the stream already held this mail
	Err       error // the mail is not in the stream
}

// publishAttempts is how many times a publication is tried before its
// mail is reported as not stored; a lost connection or a restarting
// server fails attempts, and the de-duplication id makes a repeat safe.
const publishAttempts = 8

// Publisher submits mails, many at a time: Publish returns once the mail
// is sent, and done hears, in order, when the server has stored it.
type Publisher struct {
	q       *Queue
	done    func(Published)
	pending chan inFlight
	wg      sync.WaitGroup
}

type inFlight struct {
	msg    *nats.Msg
	future jetstream.PubAckFuture
	res    Published
}

// NewPublisher starts a Publisher; done is called from one goroutine, for
// every mail, in the order they were published.
func (q *Queue) NewPublisher(done func(Published)) *Publisher {
	p := &Publisher{q: q, done: done, pending: make(chan inFlight, 512)}
	p.wg.Go(p.collect)
	return p
}

// Publish sends m, blocking while too many mails wait for the server.
func (p *Publisher) Publish(ctx context.Context, m Mail) error {
	msg, res, err := p.q.message(ctx, m)
	if err != nil {
		return err
	}
	f, err := p.q.js.PublishMsgAsync(msg, jetstream.WithMsgID(res.ID), jetstream.WithExpectStream(p.q.cfg.Stream))
	if err != nil {
		f = nil // collect publishes it again, synchronously
	}
	select {
	case p.pending <- inFlight{msg: msg, future: f, res: res}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("mailq: publish %s: %w", res.Origin, ctx.Err())
	}
}

// Close waits until the server has answered for every mail published.
func (p *Publisher) Close() {
	close(p.pending)
	p.wg.Wait()
}

func (p *Publisher) collect() {
	for f := range p.pending {
		var ack *jetstream.PubAck
		var err error
		if f.future != nil {
			select {
			case ack = <-f.future.Ok():
			case err = <-f.future.Err():
			}
		} else {
			err = errors.New("not sent")
		}
		for attempt := 1; err != nil && attempt < publishAttempts; attempt++ {
			time.Sleep(time.Duration(attempt) * 250 * time.Millisecond)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			ack, err = p.q.js.PublishMsg(ctx, f.msg, jetstream.WithMsgID(f.res.ID), jetstream.WithExpectStream(p.q.cfg.Stream))
			cancel()
		}
		if err != nil {
			f.res.Err = fmt.Errorf("mailq: publish %s: %w", f.res.Origin, err)
		} else {
			f.res.Duplicate = ack.Duplicate
		}
		p.done(f.res)
	}
}

// PublishSync publishes m and waits for the server.
func (q *Queue) PublishSync(ctx context.Context, m Mail) (Published, error) {
	msg, res, err := q.message(ctx, m)
	if err != nil {
		return res, err
	}
	ack, err := q.js.PublishMsg(ctx, msg, jetstream.WithMsgID(res.ID), jetstream.WithExpectStream(q.cfg.Stream))
	if err != nil {
		return res, fmt.Errorf("mailq: publish %s: %w", res.Origin, err)
	}
	res.Duplicate = ack.Duplicate
	return res, nil
}

// message builds the stream message of m; a mail too large for one
// message goes to the object store first.
func (q *Queue) message(ctx context.Context, m Mail) (*nats.Msg, Published, error) {
	id := ID(m.Raw)
	res := Published{ID: id, Origin: m.Origin, Path: m.Path}
	received := m.Received
	if received.IsZero() {
		received = time.Now()
	}
	msg := nats.NewMsg(q.cfg.Subject)
	msg.Header.Set(HeaderOrigin, m.Origin)
	msg.Header.Set(HeaderPath, m.Path)
	msg.Header.Set(HeaderReceived, received.UTC().Format(time.RFC3339Nano))
	msg.Header.Set(HeaderSize, strconv.Itoa(len(m.Raw)))
	if int64(len(m.Raw))+headerRoom <= q.MaxPayload() {
		msg.Data = m.Raw
		return msg, res, nil
	}
	store, err := q.largeStore(ctx)
	if err != nil {
		return nil, res, err
	}
	// One object per submission: each copy of the mail in the stream
	// deletes its own once acknowledged.
	name := id + "-" + strconv.FormatInt(received.UnixNano(), 36)
	meta := jetstream.ObjectMeta{Name: name, Opts: &jetstream.ObjectMetaOptions{
		ChunkSize: uint32(min(q.MaxPayload()-headerRoom, 128<<10))}}
	if _, err := store.Put(ctx, meta, bytes.NewReader(m.Raw)); err != nil {
		return nil, res, fmt.Errorf("mailq: store large mail %s: %w", m.Origin, err)
	}
	msg.Header.Set(HeaderObject, name)
	return msg, res, nil
}

// headerRoom is what a message's headers may take beside the mail.
const headerRoom = 8 << 10
