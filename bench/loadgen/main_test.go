package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i + 1)
	}
	for _, tc := range []struct {
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{[]time.Duration{7}, 50, 7},
		{[]time.Duration{7}, 99, 7},
		{[]time.Duration{1, 2}, 50, 1},
		{[]time.Duration{1, 2}, 51, 2},
		{[]time.Duration{1, 2, 3, 4}, 90, 4},
		{hundred, 50, 50},
		{hundred, 90, 90},
		{hundred, 99, 99},
		{hundred, 99.5, 100},
		{hundred, 100, 100},
		{hundred, 0, 1},
	} {
		if got := percentile(tc.sorted, tc.p); got != tc.want {
			t.Errorf("percentile(%d samples, %v) = %v, want %v", len(tc.sorted), tc.p, got, tc.want)
		}
	}
}

// writeMails writes each body to its own file in a fresh directory and
// returns a list file naming them.
func writeMails(t *testing.T, bodies ...string) string {
	t.Helper()
	dir := t.TempDir()
	var list strings.Builder
	for i, b := range bodies {
		p := filepath.Join(dir, "mail"+strconv.Itoa(i))
		if err := os.WriteFile(p, []byte(b), 0o600); err != nil {
			t.Fatal(err)
		}
		list.WriteString(p + "\n\n") // blank lines are skipped
	}
	l := filepath.Join(dir, "list.txt")
	if err := os.WriteFile(l, []byte(list.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return l
}

// TestRunCounts: three mails answered 200, 418 and not at all, 8 clients,
// 6 warm-up and 30 measured requests: each mail is sent 12 times, and the
// report counts only the last 30.
func TestRunCounts(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	badHeaders := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("server: read body: %v", err)
		}
		mu.Lock()
		seen[string(body)]++
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "message/rfc822" || r.Header.Get("X-Pass") != "a: b" {
			badHeaders++
		}
		mu.Unlock()
		switch string(body) {
		case "ok":
			io.WriteString(w, `{"score": 1}`)
		case "teapot":
			w.WriteHeader(http.StatusTeapot)
		case "drop":
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Errorf("server: hijack: %v", err)
				return
			}
			conn.Close()
		}
	}))
	defer srv.Close()
	list := writeMails(t, "ok", "teapot", "drop")

	var stdout, stderr bytes.Buffer
	code := run([]string{"-url", srv.URL, "-c", "8", "-list", list, "-n", "30", "-warmup", "6",
		"-header", "X-Pass: a: b", "-json"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d, stderr: %s", code, stderr.String())
	}
	var res Result
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("JSON output: %v\n%s", err, stdout.String())
	}
	if res.Requests != 30 || res.Errors != 20 || res.Mails != 3 || res.Warmup != 6 || res.Concurrency != 8 {
		t.Errorf("requests %d errors %d mails %d warmup %d c %d, want 30 20 3 6 8",
			res.Requests, res.Errors, res.Mails, res.Warmup, res.Concurrency)
	}
	if want := map[string]int{"200": 10, "418": 10, "transport": 10}; !reflect.DeepEqual(res.Status, want) {
		t.Errorf("status %v, want %v", res.Status, want)
	}
	if want := int64(10*len("ok") + 10*len("teapot")); res.Bytes != want {
		t.Errorf("bytes %d, want %d", res.Bytes, want)
	}
	if res.FirstError == "" {
		t.Errorf("no first error reported")
	}
	if res.LatencyMS.P50 > res.LatencyMS.P90 || res.LatencyMS.P90 > res.LatencyMS.P99 || res.LatencyMS.P99 > res.LatencyMS.Max {
		t.Errorf("percentiles out of order: %+v", res.LatencyMS)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := map[string]int{"ok": 12, "teapot": 12, "drop": 12}; !reflect.DeepEqual(seen, want) {
		t.Errorf("server saw %v, want %v", seen, want)
	}
	if badHeaders > 0 {
		t.Errorf("%d requests without POST, Content-Type message/rfc822 and X-Pass", badHeaders)
	}
	if !strings.Contains(stderr.String(), "30 requests, 20 errors [200:10 418:10 transport:10]") {
		t.Errorf("summary line: %s", stderr.String())
	}
}

// fakeClock only moves when the test server says so.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// slowServer takes as many fake milliseconds per request as the body says.
func slowServer(t *testing.T, clock *fakeClock) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ms, err := strconv.Atoi(string(body))
		if err != nil {
			t.Errorf("server: body %q", body)
		}
		clock.advance(time.Duration(ms) * time.Millisecond)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func approx(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// TestMeasureLatency: one client, mails taking 1 to 10 ms on the fake
// clock, 100 requests: each latency ten times, whatever the warm-up did.
func TestMeasureLatency(t *testing.T) {
	clock := &fakeClock{t: time.Unix(0, 0)}
	srv := slowServer(t, clock)
	var mails [][]byte
	for ms := 1; ms <= 10; ms++ {
		mails = append(mails, []byte(strconv.Itoa(ms)))
	}
	cfg := config{url: srv.URL, concurrency: 1, n: 100, warmup: 7, header: http.Header{}, timeout: time.Minute}
	res, err := measure(context.Background(), cfg, mails, clock.now, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 100 || res.Errors != 0 || res.Status["200"] != 100 {
		t.Errorf("requests %d errors %d status %v", res.Requests, res.Errors, res.Status)
	}
	if want := (Latency{Mean: 5.5, P50: 5, P90: 9, P99: 10, Max: 10}); res.LatencyMS != want {
		t.Errorf("latency %+v, want %+v", res.LatencyMS, want)
	}
	// 10 rounds of 1+...+10 ms, the warm-up's 28 ms not included.
	if !approx(res.Seconds, 0.55) || !approx(res.RequestsPerSec, 100/0.55) {
		t.Errorf("%v s, %v req/s, want 0.55 s, %v req/s", res.Seconds, res.RequestsPerSec, 100/0.55)
	}
	if want := int64(9*10 + 2*10); res.Bytes != want || !approx(res.MBPerSec, float64(want)/1e6/0.55) {
		t.Errorf("bytes %d, %v MB/s", res.Bytes, res.MBPerSec)
	}
	if res.Connections != 1 {
		t.Errorf("%d connections for one client, want 1 (keep-alive)", res.Connections)
	}
}

// TestMeasureDuration: 10 ms a request for 95 ms is ten requests, the last
// one started before the end and counted.
func TestMeasureDuration(t *testing.T) {
	clock := &fakeClock{t: time.Unix(0, 0)}
	srv := slowServer(t, clock)
	cfg := config{url: srv.URL, concurrency: 1, duration: 95 * time.Millisecond, header: http.Header{}, timeout: time.Minute}
	res, err := measure(context.Background(), cfg, [][]byte{[]byte("10")}, clock.now, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 10 || !approx(res.Seconds, 0.1) || !approx(res.RequestsPerSec, 100) {
		t.Errorf("%d requests in %v s (%v req/s), want 10 in 0.1 s", res.Requests, res.Seconds, res.RequestsPerSec)
	}
}

func TestRunUsage(t *testing.T) {
	list := writeMails(t, "x")
	for _, args := range [][]string{
		{"-list", list},
		{"-url", "http://127.0.0.1:1/"},
		{"-url", "http://127.0.0.1:1/", "-list", list, "-c", "0"},
		{"-url", "http://127.0.0.1:1/", "-list", list, "-n", "5", "-duration", "1s"},
		{"-url", "http://127.0.0.1:1/", "-list", list, "-header", "no colon"},
		{"-url", "http://127.0.0.1:1/", "-list", list, "-header", "Host: other"},
		{"-url", "http://127.0.0.1:1/", "-list", list, "-header", "content-length: 5"},
		{"-url", "https://127.0.0.1:1/", "-list", list},
		{"-url", "http://127.0.0.1:1/", "-list", filepath.Join(t.TempDir(), "missing")},
		{"-url", "http://127.0.0.1:1/", "-dir", t.TempDir()},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
}

// TestRunAllFail: every request refused is exit status 1, with the error
// in the report.
func TestRunAllFail(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens any more
	dir := filepath.Dir(writeMails(t, "a", "b"))
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-url", url, "-c", "2", "-dir", dir, "-n", "4"}, &stdout, &stderr); code != 1 {
		t.Errorf("exit %d, want 1; stderr: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "4 requests, 4 errors [transport:4]") {
		t.Errorf("summary: %s", stdout.String())
	}
}
