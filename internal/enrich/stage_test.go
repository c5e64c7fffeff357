package enrich

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeFiles is a FileEnricher whose answer the test chooses.
type fakeFiles struct {
	name  string
	calls atomic.Int64
	fn    func(ctx context.Context, f File) (map[string]any, error)
}

func (e *fakeFiles) Name() string { return e.name }

func (e *fakeFiles) File(ctx context.Context, f File) (map[string]any, error) {
	e.calls.Add(1)
	return e.fn(ctx, f)
}

type fakeIPs struct {
	calls atomic.Int64
}

func (e *fakeIPs) Name() string { return "fakeip" }

func (e *fakeIPs) IP(ctx context.Context, ip netip.Addr) (map[string]any, error) {
	e.calls.Add(1)
	return map[string]any{"ip": ip.String()}, nil
}

func echoName(ctx context.Context, f File) (map[string]any, error) {
	return map[string]any{"name": f.Name, "sha256": f.SHA256}, nil
}

func file(key string) File { return File{Name: key, SHA256: key} }

func TestStageCachesResults(t *testing.T) {
	e := &fakeFiles{name: "fake", fn: echoName}
	s := NewFileStage(e, time.Second, 10)
	for range 3 {
		got := s.File(t.Context(), file("aa"))
		if got.Error != "" || got.Result["name"] != "aa" {
			t.Fatalf("File = %+v", got)
		}
	}
	if n := e.calls.Load(); n != 1 {
		t.Errorf("enricher called %d times for one key, want 1", n)
	}
	if s.Name() != "fake" {
		t.Errorf("Name = %q", s.Name())
	}
}

func TestStageCachesNegativeAnswers(t *testing.T) {
	e := &fakeFiles{name: "fake", fn: func(context.Context, File) (map[string]any, error) {
		return map[string]any{"found": false}, nil
	}}
	s := NewFileStage(e, time.Second, 10)
	s.File(t.Context(), file("aa"))
	got := s.File(t.Context(), file("aa"))
	if got.Result["found"] != false || e.calls.Load() != 1 {
		t.Errorf("got %+v after %d calls, want a cached {found: false}", got, e.calls.Load())
	}
}

func TestStageDoesNotCacheErrors(t *testing.T) {
	fail := true
	e := &fakeFiles{name: "fake", fn: func(ctx context.Context, f File) (map[string]any, error) {
		if fail {
			return nil, errors.New("enrich: fake: service unavailable")
		}
		return echoName(ctx, f)
	}}
	s := NewFileStage(e, time.Second, 10)
	got := s.File(t.Context(), file("aa"))
	if got.Error != "enrich: fake: service unavailable" || got.Result != nil {
		t.Fatalf("first File = %+v", got)
	}
	fail = false
	if got := s.File(t.Context(), file("aa")); got.Error != "" {
		t.Fatalf("second File = %+v", got)
	}
	if n := e.calls.Load(); n != 2 {
		t.Errorf("enricher called %d times, want 2 (errors are not cached)", n)
	}
}

func TestStagePrefixesForeignErrors(t *testing.T) {
	e := &fakeFiles{name: "fake", fn: func(context.Context, File) (map[string]any, error) {
		return nil, errors.New("boom")
	}}
	got := NewFileStage(e, time.Second, 0).File(t.Context(), file("aa"))
	if got.Error != "enrich: fake: boom" {
		t.Errorf("Error = %q", got.Error)
	}
}

func TestStageTimeout(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	tests := []struct {
		name string
		fn   func(ctx context.Context, f File) (map[string]any, error)
	}{
		{"honours ctx", func(ctx context.Context, f File) (map[string]any, error) {
			<-ctx.Done()
			return nil, fmt.Errorf("enrich: fake: lookup: %w", ctx.Err())
		}},
		{"ignores ctx", func(ctx context.Context, f File) (map[string]any, error) {
			<-release
			return map[string]any{"late": true}, nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &fakeFiles{name: "fake", fn: tt.fn}
			s := NewFileStage(e, 20*time.Millisecond, 10)
			got := s.File(t.Context(), file("aa"))
			if got.Result != nil || !strings.HasPrefix(got.Error, "enrich: fake: timeout after 20ms") {
				t.Errorf("File = %+v, want a timeout error", got)
			}
			if s.cache.len() != 0 {
				t.Errorf("a timeout was cached")
			}
		})
	}
}

func TestStageParentCancel(t *testing.T) {
	e := &fakeFiles{name: "fake", fn: func(ctx context.Context, f File) (map[string]any, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	got := NewFileStage(e, time.Minute, 10).File(ctx, file("aa"))
	if got.Error != "enrich: fake: context canceled" {
		t.Errorf("Error = %q", got.Error)
	}
}

func TestStagePanic(t *testing.T) {
	e := &fakeFiles{name: "fake", fn: func(context.Context, File) (map[string]any, error) {
		panic("enricher bug")
	}}
	got := NewFileStage(e, time.Second, 10).File(t.Context(), file("aa"))
	if got.Result != nil || got.Error != "enrich: fake: panic: enricher bug" {
		t.Errorf("File = %+v, want a panic error", got)
	}
}

func TestStageLRUEviction(t *testing.T) {
	e := &fakeFiles{name: "fake", fn: echoName}
	s := NewFileStage(e, time.Second, 2)
	ctx := t.Context()
	s.File(ctx, file("a"))
	s.File(ctx, file("b"))
	s.File(ctx, file("a")) // a is now the most recently used
	s.File(ctx, file("c")) // evicts b
	if n := e.calls.Load(); n != 3 {
		t.Fatalf("calls = %d, want 3", n)
	}
	if s.cache.len() != 2 {
		t.Errorf("cache holds %d entries, want 2", s.cache.len())
	}
	s.File(ctx, file("a"))
	s.File(ctx, file("c"))
	if n := e.calls.Load(); n != 3 {
		t.Errorf("a or c was evicted: calls = %d, want 3", n)
	}
	s.File(ctx, file("b"))
	if n := e.calls.Load(); n != 4 {
		t.Errorf("b was not evicted: calls = %d, want 4", n)
	}
}

func TestStageCacheTTL(t *testing.T) {
	e := &fakeFiles{name: "fake", fn: echoName}
	s := newStage("fake", time.Second, 10, time.Hour, e, nil)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }
	s.File(t.Context(), file("a"))
	now = now.Add(59 * time.Minute)
	s.File(t.Context(), file("a"))
	if n := e.calls.Load(); n != 1 {
		t.Fatalf("calls = %d within the ttl, want 1", n)
	}
	now = now.Add(time.Minute)
	s.File(t.Context(), file("a"))
	if n := e.calls.Load(); n != 2 {
		t.Errorf("calls = %d after the ttl, want 2", n)
	}
}

func TestStageNoCache(t *testing.T) {
	e := &fakeFiles{name: "fake", fn: echoName}
	s := NewFileStage(e, time.Second, 0)
	s.File(t.Context(), file("a"))
	s.File(t.Context(), file("a"))
	if n := e.calls.Load(); n != 2 {
		t.Errorf("calls = %d with cache size 0, want 2", n)
	}
}

func TestStageOneCallPerKey(t *testing.T) {
	release := make(chan struct{})
	e := &fakeFiles{name: "fake", fn: func(ctx context.Context, f File) (map[string]any, error) {
		<-release
		return echoName(ctx, f)
	}}
	s := NewFileStage(e, 10*time.Second, 10)
	var wg sync.WaitGroup
	results := make([]string, 8)
	for i := range results {
		wg.Go(func() {
			got := s.File(t.Context(), file("a"))
			results[i] = fmt.Sprint(got.Result["name"], got.Error)
		})
	}
	time.Sleep(20 * time.Millisecond)
	close(release)
	wg.Wait()
	if n := e.calls.Load(); n != 1 {
		t.Errorf("calls = %d for concurrent lookups of one key, want 1", n)
	}
	for i, r := range results {
		if r != "a" {
			t.Errorf("lookup %d got %q", i, r)
		}
	}
}

func TestStageComputesSHA256(t *testing.T) {
	e := &fakeFiles{name: "fake", fn: echoName}
	s := NewFileStage(e, time.Second, 10)
	got := s.File(t.Context(), File{Name: "x", Data: []byte("abc")})
	const want = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	if got.Result["sha256"] != want {
		t.Errorf("sha256 = %v, want %s", got.Result["sha256"], want)
	}
	s.File(t.Context(), File{Name: "y", SHA256: strings.ToUpper(want)})
	if n := e.calls.Load(); n != 1 {
		t.Errorf("calls = %d, want 1 (same content, upper-case hash)", n)
	}
	// Without a hash or content there is no key: no caching.
	s.File(t.Context(), File{Name: "z"})
	s.File(t.Context(), File{Name: "z"})
	if n := e.calls.Load(); n != 3 {
		t.Errorf("calls = %d, want 3", n)
	}
}

func TestStageIP(t *testing.T) {
	e := &fakeIPs{}
	s := NewIPStage(e, time.Second, 10)
	a := s.IP(t.Context(), netip.MustParseAddr("198.51.100.23"))
	b := s.IP(t.Context(), netip.MustParseAddr("::ffff:198.51.100.23"))
	if a.Result["ip"] != "198.51.100.23" || b.Result["ip"] != "198.51.100.23" || e.calls.Load() != 1 {
		t.Errorf("IP = %+v, %+v after %d calls", a, b, e.calls.Load())
	}
	if got := s.IP(t.Context(), netip.Addr{}); !strings.Contains(got.Error, "invalid ip") {
		t.Errorf("IP(zero) = %+v", got)
	}
	if got := s.File(t.Context(), file("a")); got.Error != "enrich: fakeip: not a file enricher" {
		t.Errorf("File on an IP stage = %+v", got)
	}
	fs := NewFileStage(&fakeFiles{name: "fake", fn: echoName}, time.Second, 10)
	if got := fs.IP(t.Context(), netip.MustParseAddr("198.51.100.23")); got.Error != "enrich: fake: not an ip enricher" {
		t.Errorf("IP on a file stage = %+v", got)
	}
}
