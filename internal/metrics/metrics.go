// Package metrics counts what the service does, for Prometheus: mails
// analysed and classified per front end, verdicts, the latency of each
// analysis stage and of each HTTP route, milter actions, sink queues and
// errors.
//
// Data flows one way: the front ends and the engine call the Registry's
// methods as mail passes (each is a lock-free counter or histogram
// update); WritePrometheus renders everything, with the process's own
// figures (CPU, memory, file descriptors, Go runtime), in the Prometheus
// text format that GET /metrics serves. Queues are read when scraped.
//
// The metric client is VictoriaMetrics/metrics: Prometheus exposition
// with classic "le" histograms, and none of client_golang's protobuf
// weight in a binary whose every command starts it.
package metrics

import (
	"fmt"
	"io"
	"strconv"
	"time"

	vm "github.com/VictoriaMetrics/metrics"
)

// latencyBuckets are the histograms' upper bounds in seconds, 100µs to
// about 26 s.
var latencyBuckets = vm.ExponentialBuckets(0.0001, 2, 19)

// Registry holds the service's metrics. Its methods are safe for
// concurrent use; a nil *Registry counts nothing.
type Registry struct {
	set *vm.Set
}

// New returns an empty Registry.
func New() *Registry {
	r := &Registry{set: vm.NewSet()}
	start := float64(time.Now().Unix())
	r.set.NewGauge("mailsift_start_time_seconds", func() float64 { return start })
	return r
}

// WritePrometheus writes every metric in the Prometheus text format,
// followed by the process's.
func (r *Registry) WritePrometheus(w io.Writer) {
	r.set.WritePrometheus(w)
	vm.WriteProcessMetrics(w)
}

// Mail counts one mail through front ("http", "milter", "worker").
func (r *Registry) Mail(front string) {
	if r == nil {
		return
	}
	r.set.GetOrCreateCounter(`mailsift_mails_total{front="` + front + `"}`).Inc()
}

// Verdict counts one verdict of kind ("spam" or "phishing"), whose value
// is "yes", "no" or "unknown".
func (r *Registry) Verdict(front, kind, verdict string) {
	if r == nil {
		return
	}
	r.set.GetOrCreateCounter(fmt.Sprintf(`mailsift_verdicts_total{front=%q,kind=%q,verdict=%q}`, front, kind, verdict)).Inc()
}

// Stage records how long one analysis stage took for one mail.
func (r *Registry) Stage(stage string, d time.Duration) {
	if r == nil {
		return
	}
	r.set.GetOrCreatePrometheusHistogramExt(`mailsift_stage_seconds{stage="`+stage+`"}`, latencyBuckets).Update(d.Seconds())
}

// Request records one HTTP request of route that answered code.
func (r *Registry) Request(route string, code int, d time.Duration) {
	if r == nil {
		return
	}
	r.set.GetOrCreateCounter(`mailsift_http_requests_total{route="` + route + `",code="` + strconv.Itoa(code) + `"}`).Inc()
	r.set.GetOrCreatePrometheusHistogramExt(`mailsift_http_request_seconds{route="`+route+`"}`, latencyBuckets).Update(d.Seconds())
}

// Milter records one message through the milter, with the action taken
// ("accept", "tag", "quarantine", "reject", "unchanged" when it failed
// open).
func (r *Registry) Milter(action string, d time.Duration) {
	if r == nil {
		return
	}
	r.set.GetOrCreateCounter(`mailsift_milter_messages_total{action="` + action + `"}`).Inc()
	r.set.GetOrCreatePrometheusHistogramExt(`mailsift_milter_seconds`, latencyBuckets).Update(d.Seconds())
}

// Error counts one error where it happened ("analyze", "classify",
// "train", "sink", "reload", "milter").
func (r *Registry) Error(where string) {
	if r == nil {
		return
	}
	r.set.GetOrCreateCounter(`mailsift_errors_total{where="` + where + `"}`).Inc()
}

// Reload counts one configuration reload, good or refused.
func (r *Registry) Reload(ok bool) {
	if r == nil {
		return
	}
	r.set.GetOrCreateCounter(`mailsift_config_reloads_total{result="` + map[bool]string{true: "ok", false: "refused"}[ok] + `"}`).Inc()
}

// QueueStats are what a sink queue reports when scraped.
type QueueStats struct {
	Queued                        int
	Sent, Retries, Rejected, Lost uint64
}

// Queue exposes a sink's queue under name; stats is called at each scrape.
func (r *Registry) Queue(name string, stats func() QueueStats) {
	if r == nil {
		return
	}
	label := `{sink="` + name + `"}`
	r.set.RegisterMetricsWriter(func(w io.Writer) {
		s := stats()
		vm.WriteGaugeUint64(w, "mailsift_sink_queue_depth"+label, uint64(max(s.Queued, 0)))
		vm.WriteCounterUint64(w, "mailsift_sink_sent_total"+label, s.Sent)
		vm.WriteCounterUint64(w, "mailsift_sink_retries_total"+label, s.Retries)
		vm.WriteCounterUint64(w, "mailsift_sink_rejected_total"+label, s.Rejected)
		vm.WriteCounterUint64(w, "mailsift_sink_lost_total"+label, s.Lost)
	})
}

// Gauge exposes a value read at each scrape, such as the token database's
// size.
func (r *Registry) Gauge(name string, f func() float64) {
	if r == nil {
		return
	}
	r.set.GetOrCreateGauge(name, f)
}
