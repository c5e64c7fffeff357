package mailq

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/mailsift/mailsift/internal/dedup"
)

// Seen is the "already seen" store that all workers share: one key per
// mail body, attachment and sender IP in a key-value bucket. The first
// worker to record a key owns it; a mail delivered again after its worker
// died finds its own keys and is not reported as seen because of them.
//
// Keys known to exist are remembered in memory, so that a first delivery
// that meets them asks the server nothing.
type Seen struct {
	kv      jetstream.KeyValue
	enabled func(dedup.Kind) bool

	mu    sync.Mutex
	known *dedup.Set
}

var _ dedup.Store = (*Seen)(nil)

// knownCapacity is how many existing keys a worker remembers.
const knownCapacity = 200_000

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
	return &Seen{kv: kv, enabled: cfg.Enabled, known: dedup.NewSet(knownCapacity, dedup.LRU)}, nil
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
	c, bk := claimOf(ctx), key(kind, k)
	if c.attempt == 1 && s.remembered(bk) {
		return true, nil
	}
	_, err := s.kv.Create(ctx, bk, []byte(c.owner))
	if err == nil {
		s.remember(bk)
		return false, nil
	}
	if !errors.Is(err, jetstream.ErrKeyExists) {
		return false, fmt.Errorf("mailq: seen %s: %w", kind, err)
	}
	return s.owned(ctx, kind, bk, c)
}

// Contains tells whether another mail recorded key.
func (s *Seen) Contains(ctx context.Context, kind dedup.Kind, k string) (bool, error) {
	if k == "" || !s.enabled(kind) {
		return false, nil
	}
	c, bk := claimOf(ctx), key(kind, k)
	if c.attempt == 1 && s.remembered(bk) {
		return true, nil
	}
	return s.owned(ctx, kind, bk, c)
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
