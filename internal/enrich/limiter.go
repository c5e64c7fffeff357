package enrich

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrRateLimited is returned when waiting for the rate limit would outlast
// the context's deadline.
var ErrRateLimited = errors.New("rate limit")

// limiter is a token bucket holding up to burst tokens, one earned every
// interval. It keeps the bucket as the time at which it will next be full
// (the generic cell rate algorithm), which needs no floating point: a
// request may go when full-now <= (burst-1)*interval.
type limiter struct {
	interval time.Duration
	burst    int
	now      func() time.Time
	sleep    func(context.Context, time.Duration) error

	mu   sync.Mutex
	full time.Time // when the bucket will hold burst tokens again
}

// newLimiter allows perMinute requests a minute, burst of them at once.
func newLimiter(perMinute, burst int) *limiter {
	if burst < 1 {
		burst = 1
	}
	return &limiter{
		interval: time.Minute / time.Duration(perMinute),
		burst:    burst,
		now:      time.Now,
		sleep:    sleepContext,
	}
}

// reserve takes a token and returns 0, or, when there is none, returns
// how long until there will be one and takes nothing.
func (l *limiter) reserve() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	full := l.full
	if full.Before(now) {
		full = now
	}
	if at := full.Add(-time.Duration(l.burst-1) * l.interval); now.Before(at) {
		return at.Sub(now)
	}
	l.full = full.Add(l.interval)
	return 0
}

// wait takes a token, waiting for one while ctx allows. It fails at once,
// with ErrRateLimited, when the wait would end after ctx's deadline.
func (l *limiter) wait(ctx context.Context) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		d := l.reserve()
		if d == 0 {
			return nil
		}
		if dl, ok := ctx.Deadline(); ok && l.now().Add(d).After(dl) {
			return fmt.Errorf("%w: next request in %s, after the deadline", ErrRateLimited, d.Round(time.Millisecond))
		}
		if err := l.sleep(ctx, d); err != nil {
			return err
		}
	}
}

// sleepContext waits for d or the end of ctx.
func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
