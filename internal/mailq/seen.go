package mailq

import (
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

	"github.com/mailsift/mailsift/internal/dedup"
)

// Seen is the "already seen" store that all workers share: one key per
// mail body and attachment in a key-value bucket. Sender IPs stay in each
// worker's memory: their filter only spares a worker repeated IP lookups,
// and sharing it would cost a round trip per mail for little. The first
// worker to record a key owns it; a mail delivered again after its worker
// died finds its own keys and is not reported as seen because of them.
//
// Each worker mirrors the bucket's keys in memory, loaded when it starts
// and kept current by watching the bucket, so that a first delivery asks
// the server nothing: a lookup is local, and a new key is published
// without waiting. Two workers that meet the same new key at the same
// moment may both count it as new; the first to publish owns it. Only a
// mail delivered again reads its keys' owners from the server.
type Seen struct {
	q       *Queue
	kv      jetstream.KeyValue
	watch   jetstream.KeyWatcher
	enabled func(dedup.Kind) bool

	mu    sync.Mutex
	known *dedup.Set
	ips   *dedup.Set // nil when the IP filter is off
}

var _ dedup.Store = (*Seen)(nil)

// knownCapacity is how many of the bucket's keys a worker mirrors at
// most (about 32 bytes each); past it the least recently met are
// forgotten, and meeting them again costs a lookup on the server.
const knownCapacity = 4_000_000

// loadTimeout bounds the wait for the bucket's keys at start.
const loadTimeout = time.Minute

// Seen creates or opens the bucket. The kinds that cfg disables are never
// seen.
func (q *Queue) Seen(ctx context.Context, cfg dedup.Config) (*Seen, error) {
	kv, err := q.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      q.cfg.SeenBucket,
		Description: "mailsift: mails, attachments and sender IPs already seen",
		TTL:         q.cfg.SeenMaxAge,
		Storage:     jetstream.FileStorage,
		Replicas:    q.cfg.Replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("mailq: seen bucket %s: %w", q.cfg.SeenBucket, err)
	}
	s := &Seen{q: q, kv: kv, enabled: cfg.Enabled, known: dedup.NewSet(knownCapacity, dedup.LRU)}
	if cfg.IPs.Enabled {
		p, err := dedup.ParsePolicy(cfg.IPs.Policy)
		if err != nil {
			return nil, fmt.Errorf("mailq: seen: %w", err)
		}
		s.ips = dedup.NewSet(cfg.IPs.Capacity, p)
	}
	if err := s.mirror(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// mirror loads the bucket's keys and keeps following it.
func (s *Seen) mirror(ctx context.Context) error {
	w, err := s.kv.WatchAll(context.Background(), jetstream.IgnoreDeletes(), jetstream.MetaOnly())
	if err != nil {
		return fmt.Errorf("mailq: seen bucket %s: watch: %w", s.q.cfg.SeenBucket, err)
	}
	s.watch = w
	loaded := make(chan struct{})
	go func() {
		once := sync.Once{}
		for e := range w.Updates() {
			if e == nil {
				once.Do(func() { close(loaded) })
				continue
			}
			s.remember(e.Key())
		}
		once.Do(func() { close(loaded) })
	}()
	timer := time.NewTimer(loadTimeout)
	defer timer.Stop()
	select {
	case <-loaded:
		return nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-timer.C:
		err = errors.New("timed out")
	}
	return errors.Join(fmt.Errorf("mailq: seen bucket %s: load: %w", s.q.cfg.SeenBucket, err), w.Stop())
}

// Close stops following the bucket.
func (s *Seen) Close() error {
	// The watcher's consumer is gone when the server restarted since.
	err := s.watch.Stop()
	if errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, nats.ErrConsumerNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("mailq: seen: %w", err)
	}
	return nil
}

type claimKey struct{}

type claim struct {
	owner   string
	attempt int
}

// WithClaim marks ctx as the processing of the mail at stream sequence
// seq, on its attempt-th delivery: the keys it records are its own.
func WithClaim(ctx context.Context, seq uint64, attempt int) context.Context {
	return context.WithValue(ctx, claimKey{}, claim{owner: strconv.FormatUint(seq, 10), attempt: attempt})
}

func claimOf(ctx context.Context) claim {
	c, _ := ctx.Value(claimKey{}).(claim)
	if c.attempt == 0 {
		c.attempt = 1
	}
	return c
}

// key is the bucket key of a filter key: the kind and a hash, as bucket
// keys take few characters.
func key(kind dedup.Kind, k string) string {
	sum := sha256.Sum256([]byte(dedup.Normalize(kind, k)))
	return kind.String() + "." + hex.EncodeToString(sum[:16])
}

// SeenOrAdd records key and tells whether another mail recorded it first.
func (s *Seen) SeenOrAdd(ctx context.Context, kind dedup.Kind, k string) (bool, error) {
	if k == "" || !s.enabled(kind) {
		return false, nil
	}
	if kind == dedup.IP {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.ips.SeenOrAdd(dedup.Normalize(kind, k)), nil
	}
	c, bk := claimOf(ctx), key(kind, k)
	if c.attempt > 1 {
		// Delivered again: the key may be this mail's own.
		seen, err := s.owned(ctx, kind, bk, c)
		if err != nil || seen {
			return seen, err
		}
	} else if s.remembered(bk) {
		return true, nil
	}
	s.remember(bk)
	return false, s.create(bk, c.owner)
}

// create publishes a new key without waiting for the answer; a key that
// exists by then keeps its first owner.
func (s *Seen) create(bk, owner string) error {
	msg := nats.NewMsg("$KV." + s.q.cfg.SeenBucket + "." + bk)
	msg.Data = []byte(owner)
	msg.Header.Set(jetstream.ExpectedLastSubjSeqHeader, "0")
	if _, err := s.q.js.PublishMsgAsync(msg); err != nil {
		return fmt.Errorf("mailq: seen: record: %w", err)
	}
	return nil
}

// Contains tells whether another mail recorded key.
func (s *Seen) Contains(ctx context.Context, kind dedup.Kind, k string) (bool, error) {
	if k == "" || !s.enabled(kind) {
		return false, nil
	}
	if kind == dedup.IP {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.ips.Contains(dedup.Normalize(kind, k)), nil
	}
	c, bk := claimOf(ctx), key(kind, k)
	if c.attempt > 1 {
		return s.owned(ctx, kind, bk, c)
	}
	return s.remembered(bk), nil
}

// owned reads the key: seen unless it is absent or the mail's own.
func (s *Seen) owned(ctx context.Context, kind dedup.Kind, bk string, c claim) (bool, error) {
	e, err := s.kv.Get(ctx, bk)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("mailq: seen %s: %w", kind, err)
	}
	s.remember(bk)
	return c.owner == "" || string(e.Value()) != c.owner, nil
}

func (s *Seen) remembered(bk string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.known.Contains(bk)
}

func (s *Seen) remember(bk string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.known.SeenOrAdd(bk)
}
