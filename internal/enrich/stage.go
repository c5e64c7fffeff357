package enrich

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/mailsift/mailsift/report"
)

// File is one attachment or archive member handed to file enrichers.
type File struct {
	// Name is the file name as the mail or the archive gave it.
	Name string
	// SHA256, SHA1 and MD5 are lower-case hex digests; SHA256 keys the
	// cache and is computed from Data when empty.
	SHA256, SHA1, MD5 string
	// Size is the length of the content in bytes.
	Size int64
	// Data is the content; it may be nil when it was not read.
	Data []byte
}

// FileEnricher looks at files. File may block until ctx ends; it returns a
// result (a definitive answer, cached by the Stage) or an error (not
// cached). It must be safe for concurrent use.
type FileEnricher interface {
	// Name is the key of the result in the report, such as "clamav".
	Name() string
	File(ctx context.Context, f File) (map[string]any, error)
}

// IPEnricher looks at the sender IP, under the same rules as FileEnricher.
type IPEnricher interface {
	// Name is the key of the result in the report, such as "virustotal".
	Name() string
	IP(ctx context.Context, ip netip.Addr) (map[string]any, error)
}

// Stage wraps an enricher with its timeout and a bounded cache. It is safe
// for concurrent use. Its methods never fail: errors, timeouts and panics
// of the enricher come back as report.Enriched{Error: ...}.
type Stage struct {
	name    string
	file    FileEnricher
	ip      IPEnricher
	timeout time.Duration
	now     func() time.Time

	mu       sync.Mutex
	cache    *lru
	inflight map[string]*call
}

// call is one enricher call that other lookups of the same key wait for.
type call struct {
	done chan struct{}
	res  map[string]any
	err  error
}

// NewFileStage wraps e. Each call gets at most timeout (none when zero or
// less); up to cacheSize results are kept, by SHA-256 (none when zero or
// less), for as long as they are among the most recently used.
func NewFileStage(e FileEnricher, timeout time.Duration, cacheSize int) *Stage {
	return newStage(e.Name(), timeout, cacheSize, 0, e, nil)
}

// NewIPStage wraps e as NewFileStage does, keyed by IP address.
func NewIPStage(e IPEnricher, timeout time.Duration, cacheSize int) *Stage {
	return newStage(e.Name(), timeout, cacheSize, 0, nil, e)
}

func newStage(name string, timeout time.Duration, cacheSize int, ttl time.Duration, f FileEnricher, ip IPEnricher) *Stage {
	s := &Stage{
		name:     name,
		file:     f,
		ip:       ip,
		timeout:  timeout,
		now:      time.Now,
		inflight: make(map[string]*call),
	}
	if cacheSize > 0 {
		s.cache = newLRU(cacheSize, ttl)
	}
	return s
}

// Name is the enricher's name, the key of its result in the report.
func (s *Stage) Name() string { return s.name }

// File enriches f. On a stage built for IPs it returns an error.
func (s *Stage) File(ctx context.Context, f File) report.Enriched {
	if s.file == nil {
		return report.Enriched{Error: fmt.Sprintf("enrich: %s: not a file enricher", s.name)}
	}
	f.SHA256 = strings.ToLower(f.SHA256)
	if f.SHA256 == "" && f.Data != nil {
		sum := sha256.Sum256(f.Data)
		f.SHA256 = hex.EncodeToString(sum[:])
	}
	return s.run(ctx, f.SHA256, func(ctx context.Context) (map[string]any, error) {
		return s.file.File(ctx, f)
	})
}

// IP enriches ip. On a stage built for files it returns an error.
func (s *Stage) IP(ctx context.Context, ip netip.Addr) report.Enriched {
	if s.ip == nil {
		return report.Enriched{Error: fmt.Sprintf("enrich: %s: not an ip enricher", s.name)}
	}
	if !ip.IsValid() {
		return report.Enriched{Error: fmt.Sprintf("enrich: %s: invalid ip address", s.name)}
	}
	ip = ip.Unmap()
	return s.run(ctx, ip.String(), func(ctx context.Context) (map[string]any, error) {
		return s.ip.IP(ctx, ip)
	})
}

// run answers from the cache, waits for a running call of the same key,
// or calls fn. An empty key is never cached.
func (s *Stage) run(ctx context.Context, key string, fn func(context.Context) (map[string]any, error)) report.Enriched {
	for {
		s.mu.Lock()
		if key == "" {
			s.mu.Unlock()
			res, err := s.call(ctx, fn)
			return s.enriched(res, err)
		}
		if s.cache != nil {
			if res, ok := s.cache.get(key, s.now()); ok {
				s.mu.Unlock()
				return report.Enriched{Result: res}
			}
		}
		if c, ok := s.inflight[key]; ok {
			s.mu.Unlock()
			select {
			case <-c.done:
				// Another caller's cancellation is not an answer for this one.
				if errors.Is(c.err, context.Canceled) && ctx.Err() == nil {
					continue
				}
				return s.enriched(c.res, c.err)
			case <-ctx.Done():
				return s.enriched(nil, s.describe(ctx, ctx.Err()))
			}
		}
		c := &call{done: make(chan struct{})}
		s.inflight[key] = c
		s.mu.Unlock()

		c.res, c.err = s.call(ctx, fn)

		s.mu.Lock()
		delete(s.inflight, key)
		if c.err == nil && s.cache != nil {
			s.cache.add(key, c.res, s.now())
		}
		s.mu.Unlock()
		close(c.done)
		return s.enriched(c.res, c.err)
	}
}

func (s *Stage) enriched(res map[string]any, err error) report.Enriched {
	if err != nil {
		return report.Enriched{Error: err.Error()}
	}
	return report.Enriched{Result: res}
}

// call runs fn under the stage's timeout in a goroutine that recovers from
// panics, and stops waiting for it when ctx ends.
func (s *Stage) call(ctx context.Context, fn func(context.Context) (map[string]any, error)) (map[string]any, error) {
	if s.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.timeout)
		defer cancel()
	}
	type outcome struct {
		res map[string]any
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- outcome{err: fmt.Errorf("enrich: %s: panic: %v", s.name, r)}
			}
		}()
		res, err := fn(ctx)
		done <- outcome{res, err}
	}()
	select {
	case o := <-done:
		if o.err != nil {
			return nil, s.describe(ctx, o.err)
		}
		return o.res, nil
	case <-ctx.Done():
		return nil, s.describe(ctx, ctx.Err())
	}
}

// describe gives err the stage's prefix, and calls it a timeout when it is
// one, in whichever way the deadline showed up.
func (s *Stage) describe(ctx context.Context, err error) error {
	prefix := "enrich: " + s.name + ": "
	msg := strings.TrimPrefix(err.Error(), prefix)
	if isTimeout(err) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
		timeout := "timeout"
		if s.timeout > 0 {
			timeout += " after " + s.timeout.String()
		}
		if msg == context.DeadlineExceeded.Error() {
			msg = timeout
		} else {
			msg = timeout + ": " + msg
		}
	}
	return &stageError{msg: prefix + msg, err: err}
}

// stageError is an enricher's error under the stage's message.
type stageError struct {
	msg string
	err error
}

func (e *stageError) Error() string { return e.msg }
func (e *stageError) Unwrap() error { return e.err }

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// lru is a bounded map from key to result that forgets the least recently
// used entry first, and entries older than ttl when ttl is positive. It is
// not safe for concurrent use.
type lru struct {
	max     int
	ttl     time.Duration
	order   *list.List // front: most recently used
	entries map[string]*list.Element
}

type lruEntry struct {
	key   string
	res   map[string]any
	added time.Time
}

func newLRU(max int, ttl time.Duration) *lru {
	return &lru{max: max, ttl: ttl, order: list.New(), entries: make(map[string]*list.Element)}
}

func (c *lru) get(key string, now time.Time) (map[string]any, bool) {
	el, ok := c.entries[key]
	if !ok {
		return nil, false
	}
	e := el.Value.(*lruEntry)
	if c.ttl > 0 && now.Sub(e.added) >= c.ttl {
		c.order.Remove(el)
		delete(c.entries, key)
		return nil, false
	}
	c.order.MoveToFront(el)
	return e.res, true
}

func (c *lru) add(key string, res map[string]any, now time.Time) {
	if el, ok := c.entries[key]; ok {
		el.Value = &lruEntry{key: key, res: res, added: now}
		c.order.MoveToFront(el)
		return
	}
	c.entries[key] = c.order.PushFront(&lruEntry{key: key, res: res, added: now})
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.entries, last.Value.(*lruEntry).key)
	}
}

func (c *lru) len() int { return c.order.Len() }
