package tokendb

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mailsift/mailsift/internal/bayes"
	bolt "go.etcd.io/bbolt"
)

const (
	defaultHold = 100 * time.Millisecond
	// releaseGap is how long the Cache keeps the file closed after releasing
	// it before opening it again, so that a writer polling the lock (every
	// lockPoll) finds it free.
	releaseGap = 25 * time.Millisecond
	// maxCached bounds the map: past it the cache starts afresh (unknown
	// words are cached too, and junk tokens are endless).
	maxCached = 1 << 21
)

var errCacheClosed = errors.New("cache closed")

// Cache answers lookups for long runs without holding the file for long: it
// opens the DB read-only when needed, keeps the words it has read in memory
// (unknown words too), and releases the file (closes it) at most hold after
// opening it, whether or not it is busy, so that a writer waits at most about
// that long. Lookups of words already cached do not touch the file (but
// see revalidation below). The map holds up to 2M words; past that it starts
// afresh.
//
// Generations: every count in the map and the totals were read while the
// file was open under its shared lock, and no writer can commit while that
// lock is held, so everything read during one open belongs to one
// generation. On each reopen the cache reads the file's identity and
// generation first; when they changed it drops the map and reloads the
// totals, replacing both under one lock. Thus the map and the totals always
// belong to the same generation, and one Lookup never mixes generations (if
// the cache moved on while a Lookup was half answered from the map, the whole
// call is read again from the file). Totals returns the totals of the
// generation the cache holds, which is that of the latest Lookup unless
// another goroutine's Lookup moved the cache on in between; callers that
// score a message call Lookup and then Totals.
//
// A cache whose lookups all hit would never see new training; so when the
// generation was last checked more than 10×hold ago, a Lookup tries to
// reopen the file without waiting, and if the file is busy it answers from
// memory and tries again later.
type Cache struct {
	path        string
	hold        time.Duration
	revalidate  time.Duration
	checkedAt   atomic.Int64 // unix nanoseconds of the last generation check
	rechecking  atomic.Bool  // one goroutine at a time revalidates
	openTimeout time.Duration

	mu     sync.RWMutex // guards the fields below; lock order: fileMu, then mu
	words  map[string]bayes.Counts
	totals bayes.Totals
	state  state // of words and totals
	closed bool  // written under both fileMu and mu

	fileMu   sync.Mutex // guards the fields below and all file access
	db       *DB
	epoch    uint64 // counts opens, so that a stale timer closes nothing
	timer    *time.Timer
	released time.Time
	closeErr error // of a release by the timer, reported by Close
}

// OpenCache opens the database read-only once to check it and load the
// totals; it fails like Open (ErrNotExist, ErrCorrupt, ErrLocked). hold 0
// means 100ms.
func OpenCache(path string, hold time.Duration) (*Cache, error) {
	if hold <= 0 {
		hold = defaultHold
	}
	c := &Cache{
		path:        path,
		hold:        hold,
		revalidate:  10 * hold,
		openTimeout: defaultTimeout,
		words:       make(map[string]bayes.Counts),
	}
	c.fileMu.Lock()
	defer c.fileMu.Unlock()
	if err := c.openLocked(c.openTimeout); err != nil {
		return nil, err
	}
	err := c.db.view(func(tx *bolt.Tx) error {
		st, err := readState(tx)
		if err != nil {
			return err
		}
		t, err := readTotals(tx)
		if err != nil {
			return err
		}
		c.state, c.totals = st, t
		return nil
	})
	if err != nil {
		c.timer.Stop()
		if cerr := c.db.Close(); cerr != nil {
			err = fmt.Errorf("%w (close: %v)", err, cerr)
		}
		return nil, fmt.Errorf("tokendb: open cache %s: %w", path, err)
	}
	c.checkedAt.Store(time.Now().UnixNano())
	return c, nil
}

// Lookup fills out[i] with the counts of words[i], like DB.Lookup, from
// memory when it can. It is safe for concurrent use.
func (c *Cache) Lookup(words []string, out []bayes.Counts) error {
	if len(out) < len(words) {
		return fmt.Errorf("tokendb: cache lookup: %d results for %d words", len(out), len(words))
	}
	var miss []int
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return fmt.Errorf("tokendb: cache lookup: %w", errCacheClosed)
	}
	st := c.state
	for i, w := range words {
		if n, ok := c.words[w]; ok {
			out[i] = n
		} else {
			miss = append(miss, i)
		}
	}
	c.mu.RUnlock()
	if len(miss) > 0 {
		return c.fetch(words, out, miss, st, false)
	}
	if time.Now().UnixNano()-c.checkedAt.Load() > int64(c.revalidate) && c.rechecking.CompareAndSwap(false, true) {
		defer c.rechecking.Store(false)
		return c.fetch(words, out, nil, st, true)
	}
	return nil
}

// fetch reads words[i] for i in miss from the file, or all of words if the
// generation is no longer st (the one the hits in out came from). With
// opportunistic set it gives up silently when the file cannot be had at
// once, leaving out as it is (answered from the map, of generation st).
// Errors are complete: Open's as they are, others wrapped.
func (c *Cache) fetch(words []string, out []bayes.Counts, miss []int, st state, opportunistic bool) error {
	c.fileMu.Lock()
	defer c.fileMu.Unlock()
	if c.closed {
		return fmt.Errorf("tokendb: cache lookup: %w", errCacheClosed)
	}
	if c.db == nil {
		if opportunistic && time.Since(c.released) < releaseGap {
			return nil
		}
		timeout := c.openTimeout
		if opportunistic {
			timeout = time.Nanosecond // one try at the lock
		}
		if err := c.openLocked(timeout); err != nil {
			if opportunistic && errors.Is(err, ErrLocked) {
				return nil
			}
			return err
		}
	}
	var (
		cur    state
		totals bayes.Totals
		all    bool
	)
	err := c.db.view(func(tx *bolt.Tx) error {
		var err error
		if cur, err = readState(tx); err != nil {
			return err
		}
		if cur != c.state {
			if totals, err = readTotals(tx); err != nil {
				return err
			}
		}
		b := tx.Bucket(bucketWords)
		if b == nil {
			return fmt.Errorf("%w: no words bucket", ErrCorrupt)
		}
		if all = cur != st; all {
			return lookupBucket(b, words, nil, out)
		}
		if len(miss) == 0 {
			return nil
		}
		return lookupBucket(b, words, miss, out)
	})
	if err != nil {
		return fmt.Errorf("tokendb: cache lookup: %w", err)
	}
	c.checkedAt.Store(time.Now().UnixNano())

	c.mu.Lock()
	defer c.mu.Unlock()
	if cur != c.state {
		c.words = make(map[string]bayes.Counts, len(c.words))
		c.state, c.totals = cur, totals
	}
	if len(c.words)+len(words) > maxCached {
		c.words = make(map[string]bayes.Counts)
	}
	if all {
		for i, w := range words {
			c.words[strings.Clone(w)] = out[i]
		}
	} else {
		for _, i := range miss {
			c.words[strings.Clone(words[i])] = out[i]
		}
	}
	return nil
}

// openLocked opens the file and arms the release timer. fileMu is held.
func (c *Cache) openLocked(timeout time.Duration) error {
	if wait := releaseGap - time.Since(c.released); !c.released.IsZero() && wait > 0 {
		time.Sleep(wait)
	}
	db, err := Open(c.path, Options{ReadOnly: true, Timeout: timeout})
	if err != nil {
		return err
	}
	c.db = db
	c.epoch++
	epoch := c.epoch
	c.timer = time.AfterFunc(c.hold, func() { c.release(epoch) })
	return nil
}

// release closes the file opened at epoch, if it is still open.
func (c *Cache) release(epoch uint64) {
	c.fileMu.Lock()
	defer c.fileMu.Unlock()
	if c.db == nil || c.epoch != epoch {
		return
	}
	if err := c.db.Close(); err != nil && c.closeErr == nil {
		c.closeErr = err
	}
	c.db = nil
	c.released = time.Now()
}

// Totals returns the totals of the generation the cache holds. It does not
// touch the file.
func (c *Cache) Totals() (bayes.Totals, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return bayes.Totals{}, fmt.Errorf("tokendb: cache totals: %w", errCacheClosed)
	}
	return c.totals, nil
}

// Close releases the file if it is open and drops the cache. It reports an
// error of an earlier release too. Closing twice is a no-op.
func (c *Cache) Close() error {
	c.fileMu.Lock()
	defer c.fileMu.Unlock()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.words = nil
	c.mu.Unlock()
	if c.timer != nil {
		c.timer.Stop()
	}
	err := c.closeErr
	if c.db != nil {
		if cerr := c.db.Close(); cerr != nil && err == nil {
			err = cerr
		}
		c.db = nil
	}
	return err
}
