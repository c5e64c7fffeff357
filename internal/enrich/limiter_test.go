package enrich

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestLimiterDecisions(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := newLimiter(4, 2) // a token every 15s, two at most
	clock.use(l)
	steps := []struct {
		advance time.Duration
		want    time.Duration
	}{
		{0, 0},                              // a full bucket: two at once
		{0, 0},                              // the second
		{0, 15 * time.Second},               // empty: the next token in 15s
		{10 * time.Second, 5 * time.Second}, // 5s to go
		{5 * time.Second, 0},                // earned
		{0, 15 * time.Second},               // empty again
		{time.Hour, 0},                      // refilled, but to two only
		{0, 0},                              // the second
		{0, 15 * time.Second},               // no third
	}
	for i, s := range steps {
		clock.now = clock.now.Add(s.advance)
		if got := l.reserve(); got != s.want {
			t.Errorf("step %d: reserve = %s, want %s", i, got, s.want)
		}
	}
}

func TestLimiterWait(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := newLimiter(60, 1)
	clock.use(l)
	for range 3 {
		if err := l.wait(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	want := []time.Duration{time.Second, time.Second}
	if len(clock.sleeps) != 2 || clock.sleeps[0] != want[0] || clock.sleeps[1] != want[1] {
		t.Errorf("sleeps = %v, want %v", clock.sleeps, want)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := l.wait(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("wait canceled: %v", err)
	}
}

func TestLimiterRealClock(t *testing.T) {
	l := newLimiter(60*1000, 1) // a token every millisecond
	start := time.Now()
	for range 5 {
		if err := l.wait(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if time.Since(start) < 4*time.Millisecond {
		t.Errorf("five requests in %s at one a millisecond", time.Since(start))
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	l = newLimiter(1, 1) // a token a minute
	if err := l.wait(ctx); err != nil {
		t.Fatal(err)
	}
	if err := l.wait(ctx); !errors.Is(err, ErrRateLimited) {
		t.Errorf("wait past the deadline: %v, want ErrRateLimited", err)
	}
}
