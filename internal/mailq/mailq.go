// Package mailq is the distributed mail queue of mailsift, on NATS
// JetStream: submitters publish raw mails into a work-queue stream, any
// number of workers on any hosts pull them through one durable consumer,
// and a mail leaves the stream only when a worker acknowledges it, after
// every sink has taken its report.
//
// The pieces, all over one connection (Queue):
//
//   - Publish puts a mail in the stream with its metadata (origin, path,
//     time received) and the SHA-256 of its bytes as the de-duplication
//     id; a mail over the server's max_payload goes into an object store
//     bucket and the stream carries a reference to it.
//   - Source is the pipeline.Source of the workers. Its deliveries fetch
//     large mails from the object store, report progress, Nak with a
//     delay, and set a mail aside in the dead-letter stream with its
//     error.
//   - OpenResults is the sink that publishes every report to a subject,
//     kept in a stream with the report id as de-duplication id, so that a
//     report written twice (after a worker died) is stored once.
//   - Seen is a dedup.Store in a key-value bucket: the "already seen"
//     filters shared by all workers.
//   - StartEmbedded runs a NATS server in the process, with file storage,
//     for a single machine.
//
// The NATS client libraries are imported here only.
package mailq

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Header names of the metadata a mail carries in the stream.
const (
	HeaderOrigin   = "Mailsift-Origin"   // where the mail was found ("path:N" for an mbox)
	HeaderPath     = "Mailsift-Path"     // the file it was read from
	HeaderReceived = "Mailsift-Received" // when it was submitted, RFC 3339
	HeaderObject   = "Mailsift-Object"   // the object store name of a large mail
	HeaderSize     = "Mailsift-Size"     // the mail's size in bytes
	HeaderError    = "Mailsift-Error"    // in the dead letters: why it was set aside
	HeaderAttempts = "Mailsift-Attempts" // in the dead letters: attempts made
	HeaderSequence = "Mailsift-Sequence" // in the dead letters: its sequence in the mail stream
)

// Queue is a connection to the mail queue, with its streams in place.
type Queue struct {
	cfg Config
	nc  *nats.Conn
	js  jetstream.JetStream
	log *slog.Logger

	largeMu sync.Mutex
	large   jetstream.ObjectStore // opened on first use
}

// Options tune Connect.
type Options struct {
	// Name identifies the connection in the server's monitoring.
	Name string
	// InProcess connects to a server of this process (StartEmbedded)
	// without a socket, when set.
	InProcess nats.InProcessConnProvider
	// Logger hears of disconnections and reconnections.
	Logger *slog.Logger
}

// Connect connects to cfg.URL, reconnecting for as long as the Queue is
// open, and creates or updates the mail and dead-letter streams (and the
// results stream when cfg.Results is set).
func Connect(ctx context.Context, cfg Config, o Options) (*Queue, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	opts := []nats.Option{
		nats.Name(o.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.RetryOnFailedConnect(false),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				o.Logger.Warn("nats disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { o.Logger.Info("nats reconnected", "server", nc.ConnectedUrlRedacted()) }),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { o.Logger.Warn("nats", "err", err) }),
	}
	if cfg.CredsFile != "" {
		if _, err := os.Stat(cfg.CredsFile); err != nil {
			return nil, fmt.Errorf("mailq: creds_file: %w", err)
		}
		opts = append(opts, nats.UserCredentials(cfg.CredsFile))
	}
	if o.InProcess != nil {
		opts = append(opts, nats.InProcessServer(o.InProcess))
	}
	nc, err := nats.Connect(cfg.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("mailq: connect %s: %w", redactURLs(cfg.URL), err)
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(256))
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("mailq: jetstream: %w", err)
	}
	q := &Queue{cfg: cfg, nc: nc, js: js, log: o.Logger}
	if err := q.ensureStreams(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	return q, nil
}

// redactURLs hides the passwords of a URL list.
func redactURLs(list string) string {
	parts := strings.Split(list, ",")
	for i, p := range parts {
		if at := strings.LastIndex(p, "@"); at >= 0 {
			if scheme := strings.Index(p, "://"); scheme >= 0 && scheme < at {
				parts[i] = p[:scheme+3] + "xxxxx" + p[at:]
			}
		}
	}
	return strings.Join(parts, ",")
}

func (q *Queue) ensureStreams(ctx context.Context) error {
	streams := []jetstream.StreamConfig{{
		Name:        q.cfg.Stream,
		Description: "mailsift: raw mails waiting for analysis",
		Subjects:    []string{q.cfg.Subject},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		Duplicates:  q.cfg.DuplicateWindow,
		Replicas:    q.cfg.Replicas,
	}, {
		Name:        q.cfg.DeadStream,
		Description: "mailsift: mails set aside after their last attempt, with the error",
		Subjects:    []string{q.cfg.DeadSubject},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		Duplicates:  q.cfg.DuplicateWindow,
		Replicas:    q.cfg.Replicas,
	}}
	if q.cfg.Results != "" {
		streams = append(streams, jetstream.StreamConfig{
			Name:        q.cfg.ResultsStream,
			Description: "mailsift: analysis reports",
			Subjects:    []string{q.cfg.Results},
			Retention:   jetstream.LimitsPolicy,
			Storage:     jetstream.FileStorage,
			MaxAge:      q.cfg.ResultsMaxAge,
			Duplicates:  min(q.cfg.DuplicateWindow, q.cfg.ResultsMaxAge),
			Replicas:    q.cfg.Replicas,
		})
	}
	for _, sc := range streams {
		if _, err := q.js.CreateOrUpdateStream(ctx, sc); err != nil {
			return fmt.Errorf("mailq: stream %s: %w", sc.Name, err)
		}
	}
	return nil
}

// MaxPayload is the largest message the server takes.
func (q *Queue) MaxPayload() int64 { return q.nc.MaxPayload() }

// Close drains the connection: the acknowledgements and publications
// under way are sent before it closes.
func (q *Queue) Close() error {
	if q.nc.IsClosed() {
		return nil
	}
	err := q.nc.Drain()
	deadline := time.Now().Add(5 * time.Second)
	for !q.nc.IsClosed() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	q.nc.Close()
	if err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		return fmt.Errorf("mailq: close: %w", err)
	}
	return nil
}

// largeStore opens (creating it on first use) the object store bucket of
// large mails.
func (q *Queue) largeStore(ctx context.Context) (jetstream.ObjectStore, error) {
	q.largeMu.Lock()
	defer q.largeMu.Unlock()
	if q.large != nil {
		return q.large, nil
	}
	store, err := q.js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket:      q.cfg.LargeBucket,
		Description: "mailsift: mails larger than the server's max_payload",
		TTL:         q.cfg.LargeMaxAge,
		Storage:     jetstream.FileStorage,
		Replicas:    q.cfg.Replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("mailq: object store %s: %w", q.cfg.LargeBucket, err)
	}
	q.large = store
	return store, nil
}

// Depth returns how many mails wait in the stream and how many are
// handed out and not yet acknowledged.
func (q *Queue) Depth(ctx context.Context) (waiting uint64, pending int, err error) {
	c, err := q.js.Consumer(ctx, q.cfg.Stream, q.cfg.Consumer)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		s, err := q.js.Stream(ctx, q.cfg.Stream)
		if err != nil {
			return 0, 0, fmt.Errorf("mailq: stream %s: %w", q.cfg.Stream, err)
		}
		return s.CachedInfo().State.Msgs, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("mailq: consumer %s: %w", q.cfg.Consumer, err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("mailq: consumer %s: %w", q.cfg.Consumer, err)
	}
	return info.NumPending, info.NumAckPending, nil
}

// Stored returns how many messages the named stream holds.
func (q *Queue) Stored(ctx context.Context, stream string) (uint64, error) {
	s, err := q.js.Stream(ctx, stream)
	if err != nil {
		return 0, fmt.Errorf("mailq: stream %s: %w", stream, err)
	}
	return s.CachedInfo().State.Msgs, nil
}
