// Command loadgen measures an HTTP mail-scanning service the way an MTA
// would load it: many clients at once, each posting one raw mail per
// request over a kept-alive connection.
//
// Data flow: the mail files (named in list files, one path a line, or all
// files under directories) are read into memory first, so the disk is out of
// the measurement. A shared counter then hands out mail i mod len(mails) to C
// workers; each POSTs it as the raw RFC 822 body (Content-Type
// message/rfc822 unless a -header says otherwise) on its own connection,
// reads the whole response and records the latency and the status in its
// own tally. The client is a lean HTTP/1.1 one (client.go): on the two
// cores that the generator shares with the server under test, net/http's
// client took about 100 µs of CPU per request, this one about 60, most of
// it the kernel's. The tallies are
// merged and the latencies sorted once, so the percentiles are exact
// (nearest rank), not estimates.
//
// Warm-up requests go first through the same clients and connections and are
// not counted. The measured phase starts again at the first mail, so -n
// twice the number of mails sends every mail exactly twice. A request's
// latency runs from just before it is sent to after its response body is
// read; a request that fails in transport (no response) counts as an error
// and has no latency. Any status outside 2xx is an error too.
//
// Left out on purpose: a request rate (the load is closed-loop, C requests in
// flight), HTTPS, HTTP/2, retries, and any check of the response beyond its
// status.
//
//	go run ./bench/loadgen -url http://127.0.0.1:11333/checkv2 -c 32 -list mails.txt -n 4000 -warmup 500 -json
//
// The one-line summary goes to stdout, or with -json to stderr while stdout
// gets one JSON object. The exit status is 2 for bad usage or unreadable
// mail, 1 when every measured request failed, else 0.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// config is what the flags say.
type config struct {
	url         string
	concurrency int
	lists       []string
	dirs        []string
	n           int           // measured requests; 0 with duration > 0
	duration    time.Duration // measured time; 0 with n > 0
	warmup      int
	header      http.Header
	timeout     time.Duration
}

// Result is the measurement, as printed with -json.
type Result struct {
	URL            string         `json:"url"`
	Concurrency    int            `json:"concurrency"`
	Mails          int            `json:"mails"`
	Warmup         int            `json:"warmup"`
	Requests       int            `json:"requests"`
	Errors         int            `json:"errors"`
	Status         map[string]int `json:"status"` // "200": n, ..., "transport": n
	Seconds        float64        `json:"seconds"`
	RequestsPerSec float64        `json:"requests_per_sec"`
	Bytes          int64          `json:"bytes"` // request bodies of the answered requests
	MBPerSec       float64        `json:"mb_per_sec"`
	LatencyMS      Latency        `json:"latency_ms"`
	Connections    int64          `json:"connections"` // TCP connections opened, warm-up included
	FirstError     string         `json:"first_error,omitempty"`
}

// Latency holds exact order statistics of the answered requests, in
// milliseconds.
type Latency struct {
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
}

func run(args []string, stdout, stderr io.Writer) int {
	cfg, asJSON, err := parseFlags(args, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stderr, "loadgen: %v\n", err)
		}
		return 2
	}
	mails, err := readMails(cfg.lists, cfg.dirs)
	if err != nil {
		fmt.Fprintf(stderr, "loadgen: %v\n", err)
		return 2
	}
	if cfg.n == 0 && cfg.duration == 0 {
		cfg.n = len(mails)
	}
	res, err := measure(context.Background(), cfg, mails, time.Now, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "loadgen: %v\n", err)
		return 2
	}
	line := summary(res)
	if asJSON {
		fmt.Fprintln(stderr, line)
		enc := json.NewEncoder(stdout)
		if err := enc.Encode(res); err != nil {
			fmt.Fprintf(stderr, "loadgen: write: %v\n", err)
			return 2
		}
	} else {
		fmt.Fprintln(stdout, line)
	}
	if res.Requests > 0 && res.Errors == res.Requests {
		fmt.Fprintf(stderr, "loadgen: every request failed; first error: %s\n", res.FirstError)
		return 1
	}
	return 0
}

// stringsFlag is a repeatable string flag.
type stringsFlag []string

func (s *stringsFlag) String() string     { return strings.Join(*s, ",") }
func (s *stringsFlag) Set(v string) error { *s = append(*s, v); return nil }

func parseFlags(args []string, stderr io.Writer) (config, bool, error) {
	fl := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fl.SetOutput(stderr)
	var (
		cfg     config
		lists   stringsFlag
		dirs    stringsFlag
		headers stringsFlag
		asJSON  bool
	)
	fl.StringVar(&cfg.url, "url", "", "the URL to POST each mail to (required)")
	fl.IntVar(&cfg.concurrency, "c", 32, "concurrent clients, each with one request in flight")
	fl.Var(&lists, "list", "a file naming one mail file a line (repeatable)")
	fl.Var(&dirs, "dir", "a directory whose files are all mails (repeatable)")
	fl.IntVar(&cfg.n, "n", 0, "measured requests (default: one per mail)")
	fl.DurationVar(&cfg.duration, "duration", 0, "measure for this long instead of -n requests")
	fl.IntVar(&cfg.warmup, "warmup", 0, "requests before the measurement, not counted")
	fl.Var(&headers, "header", "a request header 'Key: value' (repeatable)")
	fl.DurationVar(&cfg.timeout, "timeout", 60*time.Second, "limit for one request, response included")
	fl.BoolVar(&asJSON, "json", false, "print a JSON object on stdout (the summary goes to stderr)")
	if err := fl.Parse(args); err != nil {
		return cfg, false, err
	}
	switch {
	case fl.NArg() > 0:
		return cfg, false, fmt.Errorf("unexpected arguments %q", fl.Args())
	case cfg.url == "":
		return cfg, false, errors.New("-url is required")
	case len(lists) == 0 && len(dirs) == 0:
		return cfg, false, errors.New("-list or -dir is required")
	case cfg.concurrency < 1:
		return cfg, false, errors.New("-c must be at least 1")
	case cfg.n < 0 || cfg.warmup < 0 || cfg.duration < 0:
		return cfg, false, errors.New("-n, -warmup and -duration must not be negative")
	case cfg.n > 0 && cfg.duration > 0:
		return cfg, false, errors.New("-n and -duration exclude each other")
	}
	cfg.lists, cfg.dirs = lists, dirs
	cfg.header = http.Header{"Content-Type": {"message/rfc822"}}
	for _, h := range headers {
		k, v, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(k) == "" {
			return cfg, false, fmt.Errorf("-header %q: want 'Key: value'", h)
		}
		switch http.CanonicalHeaderKey(strings.TrimSpace(k)) {
		case "Host", "Content-Length", "Transfer-Encoding", "Connection", "Expect":
			return cfg, false, fmt.Errorf("-header %q: the load generator sets that field itself", h)
		}
		cfg.header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	return cfg, asJSON, nil
}

// readMails reads every file named in the lists (relative paths are taken
// from the working directory; blank lines are skipped) and every regular
// file under the directories, in lexical order, into memory.
func readMails(lists, dirs []string) ([][]byte, error) {
	var paths []string
	for _, l := range lists {
		f, err := os.Open(l)
		if err != nil {
			return nil, fmt.Errorf("read list: %w", err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if p := strings.TrimRight(sc.Text(), "\r"); strings.TrimSpace(p) != "" {
				paths = append(paths, p)
			}
		}
		err = sc.Err()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("read list %s: %w", l, err)
		}
	}
	for _, d := range dirs {
		err := filepath.WalkDir(d, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if e.Type().IsRegular() {
				paths = append(paths, p)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("read dir: %w", err)
		}
	}
	mails := make([][]byte, 0, len(paths))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("read mail: %w", err)
		}
		mails = append(mails, b)
	}
	if len(mails) == 0 {
		return nil, errors.New("no mail to send")
	}
	return mails, nil
}

// loader sends mails, one client (connection) per worker; now is the
// clock, replaceable in tests.
type loader struct {
	clients []*client
	mails   [][]byte
	now     func() time.Time
}

// tally is one worker's record of a phase; only that worker writes it.
type tally struct {
	latencies []time.Duration
	status    map[int]int
	transport int
	bytes     int64
	firstErr  error
}

// measure runs the warm-up, then the measured phase, against cfg.url.
// Warm-up errors are reported on stderr and otherwise dropped.
func measure(ctx context.Context, cfg config, mails [][]byte, now func() time.Time, stderr io.Writer) (Result, error) {
	if len(mails) == 0 {
		return Result{}, errors.New("no mail to send")
	}
	tg, err := newTarget(cfg.url, cfg.header)
	if err != nil {
		return Result{}, err
	}
	var conns atomic.Int64
	l := &loader{mails: mails, now: now}
	for range cfg.concurrency {
		l.clients = append(l.clients, newClient(tg, cfg.timeout, &conns))
	}
	defer l.close()
	if cfg.warmup > 0 {
		w, _ := l.phase(ctx, cfg.warmup, 0)
		if bad := w.errors(); bad > 0 {
			fmt.Fprintf(stderr, "loadgen: warm-up: %d of %d requests failed (%v)\n", bad, cfg.warmup, w.firstErr)
		}
	}
	t, elapsed := l.phase(ctx, cfg.n, cfg.duration)
	res := t.result(elapsed)
	res.URL, res.Concurrency, res.Mails, res.Warmup = cfg.url, cfg.concurrency, len(mails), cfg.warmup
	res.Connections = conns.Load()
	return res, nil
}

// phase sends n requests (n > 0) or sends until d has passed (d > 0), with
// l.c requests in flight, and returns the merged tally and the phase's
// wall time. Mail i of the phase is l.mails[i mod len].
func (l *loader) phase(ctx context.Context, n int, d time.Duration) (tally, time.Duration) {
	start := l.now()
	deadline := start.Add(d)
	var next atomic.Int64
	tallies := make([]tally, len(l.clients))
	var wg sync.WaitGroup
	for w, c := range l.clients {
		wg.Go(func() {
			t := &tallies[w]
			t.status = map[int]int{}
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if n > 0 && i >= int64(n) {
					return
				}
				if d > 0 && !l.now().Before(deadline) {
					return
				}
				l.post(c, l.mails[i%int64(len(l.mails))], t)
			}
		})
	}
	wg.Wait()
	elapsed := l.now().Sub(start)
	all := tally{status: map[int]int{}}
	for _, t := range tallies {
		all.latencies = append(all.latencies, t.latencies...)
		for code, k := range t.status {
			all.status[code] += k
		}
		all.transport += t.transport
		all.bytes += t.bytes
		if all.firstErr == nil {
			all.firstErr = t.firstErr
		}
	}
	return all, elapsed
}

// post sends one mail and records the outcome in t.
func (l *loader) post(c *client, mail []byte, t *tally) {
	t0 := l.now()
	status, err := c.post(mail)
	if err != nil {
		t.transport++
		if t.firstErr == nil {
			t.firstErr = err
		}
		return
	}
	t.latencies = append(t.latencies, l.now().Sub(t0))
	t.status[status]++
	t.bytes += int64(len(mail))
	if status/100 != 2 && t.firstErr == nil {
		t.firstErr = fmt.Errorf("status %d %s", status, http.StatusText(status))
	}
}

// close closes the clients' connections.
func (l *loader) close() {
	for _, c := range l.clients {
		c.close()
	}
}

func (t tally) errors() int {
	bad := t.transport
	for code, k := range t.status {
		if code/100 != 2 {
			bad += k
		}
	}
	return bad
}

func (t tally) result(elapsed time.Duration) Result {
	r := Result{
		Requests: len(t.latencies) + t.transport,
		Errors:   t.errors(),
		Status:   map[string]int{},
		Seconds:  elapsed.Seconds(),
		Bytes:    t.bytes,
	}
	for code, k := range t.status {
		r.Status[strconv.Itoa(code)] = k
	}
	if t.transport > 0 {
		r.Status["transport"] = t.transport
	}
	if t.firstErr != nil {
		r.FirstError = t.firstErr.Error()
	}
	if elapsed > 0 {
		r.RequestsPerSec = float64(r.Requests) / elapsed.Seconds()
		r.MBPerSec = float64(t.bytes) / 1e6 / elapsed.Seconds()
	}
	r.LatencyMS = latency(t.latencies)
	return r
}

// latency sorts ds in place and returns its mean and exact nearest-rank
// percentiles in milliseconds; all zero for no samples.
func latency(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	slices.Sort(ds)
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return Latency{
		Mean: ms(sum) / float64(len(ds)),
		P50:  ms(percentile(ds, 50)),
		P90:  ms(percentile(ds, 90)),
		P99:  ms(percentile(ds, 99)),
		Max:  ms(ds[len(ds)-1]),
	}
}

// percentile is the nearest-rank p-th percentile of sorted: the smallest
// sample with at least p percent of the samples at or below it.
func percentile(sorted []time.Duration, p float64) time.Duration {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// summary is the one-line human report.
func summary(r Result) string {
	codes := make([]string, 0, len(r.Status))
	for code := range r.Status {
		codes = append(codes, code)
	}
	sort.Strings(codes)
	var st []string
	for _, code := range codes {
		st = append(st, fmt.Sprintf("%s:%d", code, r.Status[code]))
	}
	return fmt.Sprintf("POST %s c=%d: %d requests, %d errors [%s] in %.3f s: %.1f req/s, %.2f MB/s, latency p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms (%d connections)",
		r.URL, r.Concurrency, r.Requests, r.Errors, strings.Join(st, " "), r.Seconds,
		r.RequestsPerSec, r.MBPerSec, r.LatencyMS.P50, r.LatencyMS.P90, r.LatencyMS.P99, r.LatencyMS.Max, r.Connections)
}
