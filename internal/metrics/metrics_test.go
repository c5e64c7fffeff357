package metrics

import (
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestExposition(t *testing.T) {
	r := New()
	r.Mail("http")
	r.Mail("http")
	r.Verdict("milter", "spam", "yes")
	r.Error(`we"ird`)
	r.Stage("parse", 150*time.Microsecond)
	r.Stage("parse", 3*time.Millisecond)
	r.Stage("parse", time.Minute)
	r.Request("classify", 200, time.Millisecond)
	r.Queue("redis", func() QueueStats { return QueueStats{Queued: 3, Sent: 7, Retries: 2} })
	r.Gauge("mailsift_token_database_bytes", "Size of the token database file.", func() float64 { return 4096 })

	var sb strings.Builder
	r.WritePrometheus(&sb)
	out := sb.String()
	for _, want := range []string{
		"# TYPE mailsift_mails_total counter\n",
		`mailsift_mails_total{front="http"} 2` + "\n",
		`mailsift_verdicts_total{front="milter",kind="spam",verdict="yes"} 1` + "\n",
		`mailsift_errors_total{where="we\"ird"} 1` + "\n",
		`mailsift_stage_seconds_bucket{stage="parse",le="0.0001"} 0` + "\n",
		`mailsift_stage_seconds_bucket{stage="parse",le="0.0002"} 1` + "\n",
		`mailsift_stage_seconds_bucket{stage="parse",le="0.0032"} 2` + "\n",
		`mailsift_stage_seconds_bucket{stage="parse",le="+Inf"} 3` + "\n",
		`mailsift_stage_seconds_count{stage="parse"} 3` + "\n",
		`mailsift_sink_queue_depth{sink="redis"} 3` + "\n",
		`mailsift_sink_retries_total{sink="redis"} 2` + "\n",
		"mailsift_token_database_bytes 4096\n",
		"# TYPE mailsift_stage_seconds histogram\n",
		"process_resident_memory_bytes ",
		"go_goroutines ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("exposition lacks %q", want)
		}
	}
	if n := strings.Count(out, "# TYPE mailsift_stage_seconds "); n != 1 {
		t.Errorf("TYPE of a family written %d times", n)
	}
	sum := regexp.MustCompile(`mailsift_stage_seconds_sum\{stage="parse"\} ([0-9.]+)`).FindStringSubmatch(out)
	if sum == nil || !strings.HasPrefix(sum[1], "60.003") {
		t.Errorf("sum %v, want 60.00315", sum)
	}
	line := regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? [-+0-9.eE]+(Inf)?$`)
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if !strings.HasPrefix(l, "#") && !line.MatchString(l) {
			t.Errorf("not an exposition line: %q", l)
		}
	}
}

func TestNilRegistryCountsNothing(t *testing.T) {
	var r *Registry
	r.Mail("http")
	r.Stage("parse", time.Second)
	r.Request("x", 200, time.Second)
	r.Queue("q", func() QueueStats { return QueueStats{} })
	r.Gauge("g", "", func() float64 { return 1 })
}

// Updates from many goroutines all count, on series known before and
// made while they run, and on a series with more labels than a key holds.
func TestConcurrentUpdates(t *testing.T) {
	r := New()
	r.Mail("http")
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				r.Mail("http")
				r.Verdict("http", "spam", []string{"yes", "no", "unknown"}[i%3])
				r.Request("classify", 200+g%2, time.Millisecond)
				r.count("mailsift_test_total", "Four labels.", "a", "1", "b", "2", "c", "3", "d", "4")
			}
		})
	}
	wg.Wait()
	var sb strings.Builder
	r.WritePrometheus(&sb)
	out := sb.String()
	for _, want := range []string{
		`mailsift_mails_total{front="http"} 8001` + "\n",
		`mailsift_verdicts_total{front="http",kind="spam",verdict="yes"} 2672` + "\n",
		`mailsift_verdicts_total{front="http",kind="spam",verdict="unknown"} 2664` + "\n",
		`mailsift_http_requests_total{route="classify",code="200"} 4000` + "\n",
		`mailsift_http_requests_total{route="classify",code="201"} 4000` + "\n",
		`mailsift_http_request_seconds_count{route="classify"} 8000` + "\n",
		`mailsift_test_total{a="1",b="2",c="3",d="4"} 8000` + "\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("exposition lacks %q", want)
		}
	}
}

// BenchmarkClassifyRequest records what a /v1/classify request records.
func BenchmarkClassifyRequest(b *testing.B) {
	r := New()
	b.ReportAllocs()
	for b.Loop() {
		r.Mail("http-classify")
		r.Verdict("http", "spam", "no")
		r.Request("classify", 200, time.Millisecond)
	}
}
