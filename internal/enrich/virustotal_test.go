package enrich

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	testKey       = "0123456789abcdef-test-key"
	eicarSHA256   = "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"
	unknownSHA256 = "0000000000000000000000000000000000000000000000000000000000000000"
	quotaSHA256   = "1111111111111111111111111111111111111111111111111111111111111111"
	brokenSHA256  = "5555555555555555555555555555555555555555555555555555555555555555"
	proxySHA256   = "4444444444444444444444444444444444444444444444444444444444444444"
	slowSHA256    = "7777777777777777777777777777777777777777777777777777777777777777"
	knownIP       = "198.51.100.23"
)

// answer is one recorded VirusTotal exchange: status and fixture.
type answer struct {
	status  int
	fixture string // under testdata/virustotal; empty for a non-JSON body
	body    string
}

// recorded maps request paths to the recorded answers.
var recorded = map[string]answer{
	"/api/v3/files/" + eicarSHA256:    {http.StatusOK, "file_eicar.json", ""},
	"/api/v3/files/" + unknownSHA256:  {http.StatusNotFound, "file_not_found.json", ""},
	"/api/v3/files/" + quotaSHA256:    {http.StatusTooManyRequests, "quota_exceeded.json", ""},
	"/api/v3/files/" + brokenSHA256:   {http.StatusServiceUnavailable, "server_error.json", ""},
	"/api/v3/files/" + proxySHA256:    {http.StatusNotFound, "", "<html><body>404 Not Found</body></html>"},
	"/api/v3/ip_addresses/" + knownIP: {http.StatusOK, "ip_address.json", ""},
}

// vtServer replays the recorded exchanges and checks every request.
type vtServer struct {
	*httptest.Server
	t        *testing.T
	requests atomic.Int64
	// slow requests block until released or canceled.
	release chan struct{}
	mu      sync.Mutex
	paths   []string
}

func newVTServer(t *testing.T) *vtServer {
	s := &vtServer{t: t, release: make(chan struct{})}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(func() {
		close(s.release)
		s.Close()
	})
	return s
}

func (s *vtServer) serve(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	s.mu.Lock()
	s.paths = append(s.paths, r.URL.Path)
	s.mu.Unlock()
	if r.Method != http.MethodGet {
		s.t.Errorf("method %s, want GET", r.Method)
	}
	if got := r.Header.Get("x-apikey"); got != testKey {
		s.t.Errorf("x-apikey = %q, want %q", got, testKey)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if r.URL.Path == "/api/v3/files/"+slowSHA256 {
		select {
		case <-s.release:
		case <-r.Context().Done():
		}
		return
	}
	a, ok := recorded[r.URL.Path]
	if !ok {
		s.t.Errorf("unexpected request %s", r.URL.Path)
		a = answer{http.StatusNotFound, "file_not_found.json", ""}
	}
	body := []byte(a.body)
	if a.fixture != "" {
		var err error
		if body, err = os.ReadFile(filepath.Join("testdata", "virustotal", a.fixture)); err != nil {
			s.t.Error(err)
		}
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(a.status)
	if _, err := w.Write(body); err != nil {
		s.t.Error(err)
	}
}

// newTestVT returns a client for srv without a rate limit worth noticing.
func newTestVT(t *testing.T, srv *vtServer) *VirusTotal {
	t.Helper()
	v, err := NewVirusTotal(VirusTotalConfig{APIKey: testKey, BaseURL: srv.URL + "/api/v3/", RequestsPerMinute: 60000})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestVirusTotalFileFound(t *testing.T) {
	srv := newVTServer(t)
	v := newTestVT(t, srv)
	got, err := v.File(t.Context(), File{Name: "eicar.com", SHA256: eicarSHA256})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"found":               true,
		"last_analysis_stats": map[string]any{"malicious": 62, "suspicious": 0, "harmless": 0, "undetected": 3},
		"reputation":          3575,
		"names":               []string{"eicar.com", "eicar.com.txt", "eicar_com.zip", "EICAR.COM", "test.txt"},
		"meaningful_name":     "eicar.com",
		"type_description":    "Text",
		"last_analysis_date":  "2025-12-31T22:00:00Z",
		"permalink":           "https://www.virustotal.com/gui/file/" + eicarSHA256,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("File =\n%v\nwant\n%v", got, want)
	}
}

func TestVirusTotalFileByOtherHashes(t *testing.T) {
	srv := newVTServer(t)
	v := newTestVT(t, srv)
	if _, err := v.File(t.Context(), File{Name: "x"}); !errors.Is(err, ErrNoHash) {
		t.Errorf("no hash: err = %v, want ErrNoHash", err)
	}
	if _, err := v.File(t.Context(), File{Name: "x", SHA256: "../../users/me"}); !errors.Is(err, ErrNoHash) {
		t.Errorf("bad hash: err = %v, want ErrNoHash", err)
	}
	if srv.requests.Load() != 0 {
		t.Errorf("a file without a hash was sent")
	}
}

func TestVirusTotalNotFound(t *testing.T) {
	srv := newVTServer(t)
	s := NewFileStage(newTestVT(t, srv), 5*time.Second, 10)
	for range 2 {
		got := s.File(t.Context(), File{Name: "new.exe", SHA256: unknownSHA256})
		if got.Error != "" || fmt.Sprint(got.Result) != "map[found:false]" {
			t.Fatalf("File = %+v, want {found: false}", got)
		}
	}
	if n := srv.requests.Load(); n != 1 {
		t.Errorf("server saw %d requests, want 1: not found is a cached answer", n)
	}
}

func TestVirusTotalErrors(t *testing.T) {
	tests := []struct {
		hash   string
		status int
		code   string
	}{
		{quotaSHA256, 429, "QuotaExceededError"},
		{brokenSHA256, 503, "TransientError"},
		{proxySHA256, 404, ""}, // not VirusTotal's NotFoundError: not an answer
	}
	for _, tt := range tests {
		srv := newVTServer(t)
		v := newTestVT(t, srv)
		_, err := v.File(t.Context(), File{SHA256: tt.hash})
		var apiErr *APIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != tt.status || apiErr.Code != tt.code {
			t.Errorf("%d %s: err = %v", tt.status, tt.code, err)
			continue
		}
		if !strings.HasPrefix(err.Error(), "enrich: virustotal: get files/"+tt.hash+": ") {
			t.Errorf("error message %q", err)
		}

		s := NewFileStage(v, 5*time.Second, 10)
		for range 2 {
			if got := s.File(t.Context(), File{SHA256: tt.hash}); got.Error == "" || got.Result != nil {
				t.Errorf("%d: Stage.File = %+v, want an error", tt.status, got)
			}
		}
		if n := srv.requests.Load(); n != 3 {
			t.Errorf("%d: server saw %d requests, want 3: errors are not cached", tt.status, n)
		}
	}
}

func TestVirusTotalQuotaMessage(t *testing.T) {
	srv := newVTServer(t)
	got := NewFileStage(newTestVT(t, srv), 5*time.Second, 10).File(t.Context(), File{SHA256: quotaSHA256})
	want := "enrich: virustotal: get files/" + quotaSHA256 + ": 429 QuotaExceededError: Quota exceeded"
	if got.Error != want {
		t.Errorf("Error = %q\nwant    %q", got.Error, want)
	}
}

func TestVirusTotalWrongKey(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := os.ReadFile("testdata/virustotal/wrong_credentials.json")
		if err != nil {
			t.Error(err)
		}
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	v, err := NewVirusTotal(VirusTotalConfig{APIKey: "wrong", BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.File(t.Context(), File{SHA256: eicarSHA256})
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Code != "WrongCredentialsError" {
		t.Errorf("err = %v", err)
	}
}

func TestVirusTotalCacheHit(t *testing.T) {
	srv := newVTServer(t)
	s := NewFileStage(newTestVT(t, srv), 5*time.Second, 10)
	a := s.File(t.Context(), File{Name: "a.com", SHA256: eicarSHA256})
	b := s.File(t.Context(), File{Name: "b.com", SHA256: strings.ToUpper(eicarSHA256)})
	if a.Error != "" || b.Error != "" || fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("lookups differ: %+v, %+v", a, b)
	}
	if n := srv.requests.Load(); n != 1 {
		t.Errorf("server saw %d requests for two lookups, want 1", n)
	}
}

func TestVirusTotalTimeout(t *testing.T) {
	srv := newVTServer(t)
	s := NewFileStage(newTestVT(t, srv), 50*time.Millisecond, 10)
	got := s.File(t.Context(), File{SHA256: slowSHA256})
	if got.Result != nil || !strings.HasPrefix(got.Error, "enrich: virustotal: timeout after 50ms") {
		t.Errorf("File = %+v, want a timeout", got)
	}
}

func TestVirusTotalCancel(t *testing.T) {
	srv := newVTServer(t)
	v := newTestVT(t, srv)

	// Canceled during the request.
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(20*time.Millisecond, cancel)
	if _, err := v.File(ctx, File{SHA256: slowSHA256}); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled request: err = %v, want Canceled", err)
	}

	// Canceled while waiting for the rate limit.
	v.limit = newLimiter(1, 1)
	if _, err := v.File(t.Context(), File{SHA256: eicarSHA256}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel = context.WithCancel(t.Context())
	time.AfterFunc(20*time.Millisecond, cancel)
	if _, err := v.File(ctx, File{SHA256: eicarSHA256}); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled wait: err = %v, want Canceled", err)
	}
	if n := srv.requests.Load(); n != 2 {
		t.Errorf("server saw %d requests, want 2", n)
	}
}

// fakeClock is a clock that moves only when the limiter sleeps.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	return ctx.Err()
}

func (c *fakeClock) use(l *limiter) {
	l.now, l.sleep = c.Now, c.Sleep
}

func TestVirusTotalRateLimit(t *testing.T) {
	srv := newVTServer(t)
	v, err := NewVirusTotal(VirusTotalConfig{APIKey: testKey, BaseURL: srv.URL + "/api/v3", RequestsPerMinute: 4})
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{now: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	clock.use(v.limit)

	ctx := t.Context()
	if _, err := v.File(ctx, File{SHA256: eicarSHA256}); err != nil {
		t.Fatal(err)
	}
	if _, err := v.IP(ctx, netip.MustParseAddr(knownIP)); err != nil {
		t.Fatal(err)
	}
	if _, err := v.File(ctx, File{SHA256: unknownSHA256}); err != nil {
		t.Fatal(err)
	}
	want := []time.Duration{15 * time.Second, 15 * time.Second}
	if fmt.Sprint(clock.sleeps) != fmt.Sprint(want) {
		t.Errorf("limiter slept %v, want %v (4 a minute, files and IPs together)", clock.sleeps, want)
	}
	if n := srv.requests.Load(); n != 3 {
		t.Errorf("server saw %d requests, want 3", n)
	}

	// A wait that would end after the deadline fails at once, unsent.
	ctx, cancel := context.WithDeadline(t.Context(), time.Now().Add(time.Hour))
	defer cancel()
	clock.now = time.Now() // the deadline is on the real clock
	v.limit.full = clock.now.Add(2 * time.Hour)
	_, err = v.File(ctx, File{SHA256: eicarSHA256})
	if !errors.Is(err, ErrRateLimited) {
		t.Errorf("err = %v, want ErrRateLimited", err)
	}
	if len(clock.sleeps) != 2 || srv.requests.Load() != 3 {
		t.Errorf("limiter slept %v and server saw %d requests; want no more", clock.sleeps, srv.requests.Load())
	}
}

func TestVirusTotalIP(t *testing.T) {
	srv := newVTServer(t)
	v := newTestVT(t, srv)
	got, err := v.IP(t.Context(), netip.MustParseAddr(knownIP))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"found":               true,
		"last_analysis_stats": map[string]any{"malicious": 7, "suspicious": 2, "harmless": 58, "undetected": 27},
		"reputation":          -12,
		"country":             "NL",
		"as_owner":            "Example Hosting B.V.",
		"asn":                 64501,
		"network":             "198.51.100.0/24",
		"permalink":           "https://www.virustotal.com/gui/ip-address/" + knownIP,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("IP =\n%v\nwant\n%v", got, want)
	}

	for _, ip := range []string{"10.1.2.3", "192.168.0.1", "127.0.0.1", "::1", "fe80::1", "fd00::1", "0.0.0.0", "224.0.0.1"} {
		got, err := v.IP(t.Context(), netip.MustParseAddr(ip))
		if err != nil || got["found"] != false || got["skipped"] == nil {
			t.Errorf("IP(%s) = %v, %v; want skipped", ip, got, err)
		}
	}
	if n := srv.requests.Load(); n != 1 {
		t.Errorf("server saw %d requests, want 1: non-public addresses are not sent", n)
	}
}

func TestVirusTotalAPIKey(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "vt.key")
	writeFile(t, keyFile, "  from-file\n")
	t.Setenv(APIKeyEnv, "from-env")
	tests := []struct {
		c    VirusTotalConfig
		want string
	}{
		{VirusTotalConfig{APIKey: "inline"}, "inline"},
		{VirusTotalConfig{APIKeyFile: keyFile}, "from-file"},
		{VirusTotalConfig{}, "from-env"},
	}
	for _, tt := range tests {
		v, err := NewVirusTotal(tt.c)
		if err != nil || v.key != tt.want {
			t.Errorf("%+v: key %q, %v; want %q", tt.c, v.key, err, tt.want)
		}
	}
	if _, err := NewVirusTotal(VirusTotalConfig{APIKeyFile: filepath.Join(t.TempDir(), "missing")}); err == nil {
		t.Errorf("missing key file: no error")
	}
	t.Setenv(APIKeyEnv, "")
	if _, err := NewVirusTotal(VirusTotalConfig{}); err == nil {
		t.Errorf("no key anywhere: no error")
	}
}
