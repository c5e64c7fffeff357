// Package metrics counts what the service does, for Prometheus: mails
// analysed and classified per front end, verdicts, the latency of each
// analysis stage and of each HTTP route, milter actions, sink queues,
// reloads and errors.
//
// Data flows one way: the front ends and the engine call the Registry's
// methods as mail passes (each is an atomic update once its series
// exists); WritePrometheus renders every series, with the process's own
// figures (CPU, memory, descriptors, goroutines), in the Prometheus text
// exposition format 0.0.4 that GET /metrics serves. Queues and gauges are
// read when scraped.
//
// The exposition is written here rather than with a client library on
// purpose: mailsift is one binary whose every command (mark included,
// which procmail starts once per mail) runs the package initialisers of
// everything linked in. prometheus/client_golang costs milliseconds of
// start-up (protobuf descriptors, procfs, runtime metrics), and
// VictoriaMetrics/metrics reads cgroup files and logs to stderr from its
// initialisers. Counters and fixed-bucket histograms are all the service
// needs; nothing here runs before the service starts.
package metrics

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// latencyBuckets are the histograms' upper bounds in seconds, 100µs to
// about 26 s, doubling.
var latencyBuckets = func() []float64 {
	b := make([]float64, 19)
	for i := range b {
		b[i] = 0.0001 * math.Pow(2, float64(i))
	}
	return b
}()

// Registry holds the service's metrics. Its methods are safe for
// concurrent use; a nil *Registry counts nothing.
type Registry struct {
	start time.Time

	mu         sync.RWMutex
	counters   map[string]*atomic.Uint64 // by series: name{labels}
	histograms map[string]*histogram     // by series
	help       map[string]string         // by family name
	gauges     map[string]func() float64 // by series
	writers    []func(w io.Writer)

	// known holds the counters and histograms by seriesKey, for the
	// updates: a copy replaced whole when a series is added, read
	// without a lock and without rendering the series' name.
	known atomic.Pointer[map[seriesKey]any]
}

// seriesKey names a series without rendering it: its family and up to
// maxLabels label pairs.
type seriesKey struct {
	name string
	kv   [2 * maxLabels]string
}

const maxLabels = 3

// keyOf returns the key of a series, and false when it has more labels
// than a key holds.
func keyOf(name string, kv []string) (seriesKey, bool) {
	k := seriesKey{name: name}
	return k, copy(k.kv[:], kv) == len(kv)
}

// New returns an empty Registry.
func New() *Registry {
	return &Registry{start: time.Now(), counters: map[string]*atomic.Uint64{},
		histograms: map[string]*histogram{}, help: map[string]string{}, gauges: map[string]func() float64{}}
}

// Mail counts one mail through front ("http", "http-classify", "milter",
// "worker").
func (r *Registry) Mail(front string) {
	r.count("mailsift_mails_total", "Mails analysed or classified, by front end.", "front", front)
}

// Verdict counts one verdict of kind ("spam" or "phishing"), whose value
// is "yes", "no" or "unknown".
func (r *Registry) Verdict(front, kind, verdict string) {
	r.count("mailsift_verdicts_total", "Verdicts given, by front end, kind and value.", "front", front, "kind", kind, "verdict", verdict)
}

// Stage records how long one analysis stage took for one mail.
func (r *Registry) Stage(stage string, d time.Duration) {
	r.observe("mailsift_stage_seconds", "Time spent in each analysis stage per mail.", d, "stage", stage)
}

// Request records one HTTP request of route that answered code.
func (r *Registry) Request(route string, code int, d time.Duration) {
	r.count("mailsift_http_requests_total", "HTTP requests, by route and status code.", "route", route, "code", strconv.Itoa(code))
	r.observe("mailsift_http_request_seconds", "HTTP request latency, by route.", d, "route", route)
}

// Milter records one message through the milter, with the action taken
// ("accept", "tag", "quarantine", "reject", or "unchanged" when it
// failed open).
func (r *Registry) Milter(action string, d time.Duration) {
	r.count("mailsift_milter_messages_total", "Messages through the milter, by action.", "action", action)
	r.observe("mailsift_milter_seconds", "Time the milter took per message.", d)
}

// Work counts one outcome of a queued mail in a worker: "acked",
// "failed" (an attempt to be tried again), "dead" (set aside), "nak"
// (handed back at shutdown) or "source_error".
func (r *Registry) Work(outcome string) {
	r.count("mailsift_worker_mails_total", "Queued mails through the workers, by outcome.", "outcome", outcome)
}

// Error counts one error where it happened ("analyze", "classify",
// "train", "sink", "reload", "milter", "http").
func (r *Registry) Error(where string) {
	r.count("mailsift_errors_total", "Errors, by where they happened.", "where", where)
}

// Reload counts one configuration reload, applied or refused.
func (r *Registry) Reload(ok bool) {
	result := "refused"
	if ok {
		result = "ok"
	}
	r.count("mailsift_config_reloads_total", "Configuration reloads, by result.", "result", result)
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
	label := labels("sink", name)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.writers = append(r.writers, func(w io.Writer) {
		s := stats()
		fmt.Fprintf(w, "mailsift_sink_queue_depth%s %d\n", label, max(s.Queued, 0))
		fmt.Fprintf(w, "mailsift_sink_sent_total%s %d\n", label, s.Sent)
		fmt.Fprintf(w, "mailsift_sink_retries_total%s %d\n", label, s.Retries)
		fmt.Fprintf(w, "mailsift_sink_rejected_total%s %d\n", label, s.Rejected)
		fmt.Fprintf(w, "mailsift_sink_lost_total%s %d\n", label, s.Lost)
	})
}

// Gauge exposes a value read at each scrape, such as the token
// database's size; name may carry labels.
func (r *Registry) Gauge(name, help string, f func() float64) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.gauges[name] = f
	r.help[family(name)] = help
}

// WritePrometheus writes every series in the Prometheus text format,
// then the process's figures.
func (r *Registry) WritePrometheus(w io.Writer) {
	bw := bufio.NewWriter(w)
	defer bw.Flush()
	// Take the series under the lock, render them outside it: counters
	// and histograms are atomic, gauges and queues are callbacks.
	r.mu.RLock()
	counters, hists, gauges := maps.Clone(r.counters), maps.Clone(r.histograms), maps.Clone(r.gauges)
	help := maps.Clone(r.help)
	writers := slices.Clone(r.writers)
	r.mu.RUnlock()

	last := ""
	header := func(series, kind string) {
		if f := family(series); f != last {
			last = f
			fmt.Fprintf(bw, "# HELP %s %s\n# TYPE %s %s\n", f, help[f], f, kind)
		}
	}
	for _, s := range slices.Sorted(maps.Keys(counters)) {
		header(s, "counter")
		fmt.Fprintf(bw, "%s %d\n", s, counters[s].Load())
	}
	for _, s := range slices.Sorted(maps.Keys(gauges)) {
		header(s, "gauge")
		fmt.Fprintf(bw, "%s %s\n", s, formatFloat(gauges[s]()))
	}
	for _, s := range slices.Sorted(maps.Keys(hists)) {
		header(s, "histogram")
		hists[s].write(bw, s)
	}
	if len(writers) > 0 {
		fmt.Fprint(bw, "# TYPE mailsift_sink_queue_depth gauge\n")
		for _, wr := range writers {
			wr(bw)
		}
	}
	r.writeProcess(bw)
}

func (r *Registry) count(name, help string, kv ...string) {
	if r == nil {
		return
	}
	series(r, r.counters, name, help, kv, func() *atomic.Uint64 { return new(atomic.Uint64) }).Add(1)
}

func (r *Registry) observe(name, help string, d time.Duration, kv ...string) {
	if r == nil {
		return
	}
	series(r, r.histograms, name, help, kv, func() *histogram {
		return &histogram{buckets: make([]atomic.Uint64, len(latencyBuckets))}
	}).observe(d.Seconds())
}

// series returns the metric of a series from all (r.counters or
// r.histograms), made by create the first time.
func series[M any](r *Registry, all map[string]*M, name, help string, kv []string, create func() *M) *M {
	key, keyed := keyOf(name, kv)
	if keyed {
		if known := r.known.Load(); known != nil {
			if m, ok := (*known)[key]; ok {
				return m.(*M)
			}
		}
	}
	s := name + labels(kv...)
	r.mu.Lock()
	defer r.mu.Unlock()
	m := all[s]
	if m == nil {
		m = create()
		all[s] = m
		r.help[name] = help
	}
	if keyed {
		known := map[seriesKey]any{}
		if k := r.known.Load(); k != nil {
			known = maps.Clone(*k)
		}
		known[key] = m
		r.known.Store(&known)
	}
	return m
}

// histogram counts observations per bucket (not cumulative until
// written), with their sum in nanoseconds.
type histogram struct {
	buckets []atomic.Uint64
	count   atomic.Uint64
	sumNS   atomic.Int64
}

func (h *histogram) observe(secs float64) {
	i, _ := slices.BinarySearch(latencyBuckets, secs)
	if i < len(h.buckets) {
		h.buckets[i].Add(1)
	}
	h.count.Add(1)
	h.sumNS.Add(int64(secs * 1e9))
}

// write renders the histogram as series name{labels}: the cumulative
// buckets, +Inf, the sum and the count.
func (h *histogram) write(w io.Writer, series string) {
	name, lbl := series, ""
	if i := strings.IndexByte(series, '{'); i >= 0 {
		name, lbl = series[:i], series[i+1:len(series)-1]+","
	}
	count := h.count.Load()
	var cum uint64
	for i, ub := range latencyBuckets {
		cum += h.buckets[i].Load()
		fmt.Fprintf(w, "%s_bucket{%sle=%q} %d\n", name, lbl, formatFloat(ub), min(cum, count))
	}
	fmt.Fprintf(w, "%s_bucket{%sle=\"+Inf\"} %d\n", name, lbl, count)
	tail := ""
	if lbl != "" {
		tail = "{" + strings.TrimSuffix(lbl, ",") + "}"
	}
	fmt.Fprintf(w, "%s_sum%s %s\n", name, tail, formatFloat(float64(h.sumNS.Load())/1e9))
	fmt.Fprintf(w, "%s_count%s %d\n", name, tail, count)
}

// writeProcess writes the standard process_ and go_ figures.
func (r *Registry) writeProcess(w io.Writer) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		fmt.Fprintf(w, "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total %s\n", formatFloat(cpu.Seconds()))
	}
	if rss, ok := residentBytes(); ok {
		fmt.Fprintf(w, "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes %d\n", rss)
	}
	if fds, err := os.ReadDir("/proc/self/fd"); err == nil {
		fmt.Fprintf(w, "# TYPE process_open_fds gauge\nprocess_open_fds %d\n", len(fds))
	}
	fmt.Fprintf(w, "# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds %d\n", r.start.Unix())
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Fprintf(w, "# TYPE go_goroutines gauge\ngo_goroutines %d\n", runtime.NumGoroutine())
	fmt.Fprintf(w, "# TYPE go_memstats_heap_inuse_bytes gauge\ngo_memstats_heap_inuse_bytes %d\n", ms.HeapInuse)
	fmt.Fprintf(w, "# TYPE go_gc_cycles_total counter\ngo_gc_cycles_total %d\n", ms.NumGC)
}

// residentBytes reads the resident set size from /proc (Linux).
func residentBytes() (int64, bool) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0, false
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return 0, false
	}
	return pages * int64(os.Getpagesize()), true
}

// labelEscaper escapes label values as the exposition format wants.
var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// labels renders label pairs as {k="v",...}, escaping the values as the
// format wants.
func labels(kv ...string) string {
	if len(kv) == 0 {
		return ""
	}
	var sb strings.Builder
	sb.WriteByte('{')
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(kv[i])
		sb.WriteString(`="`)
		sb.WriteString(labelEscaper.Replace(kv[i+1]))
		sb.WriteByte('"')
	}
	sb.WriteByte('}')
	return sb.String()
}

// family is a series' metric name, without labels.
func family(series string) string {
	name, _, _ := strings.Cut(series, "{")
	return name
}

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
