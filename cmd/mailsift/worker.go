package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"github.com/mailsift/mailsift/internal/analyze"
	"github.com/mailsift/mailsift/internal/config"
	"github.com/mailsift/mailsift/internal/filter"
	"github.com/mailsift/mailsift/internal/mailq"
	"github.com/mailsift/mailsift/internal/metrics"
	"github.com/mailsift/mailsift/internal/pipeline"
	"github.com/mailsift/mailsift/internal/sink"
	"github.com/mailsift/mailsift/report"
)

// cmdWorker pulls mails from the queue, analyses them and writes the
// reports to the sinks, until SIGINT or SIGTERM.
func cmdWorker(e env, args []string) (int, error) {
	cfg := e.cfg
	var (
		outs        []string
		workers     = runtime.GOMAXPROCS(0)
		metricsAddr string
		untilEmpty  bool
	)
	specs := []flagSpec{
		{names: []string{"nats"}, hasValue: true, set: func(v string) error { cfg.NATS.URL = v; return nil }},
		{names: []string{"out", "o"}, hasValue: true, set: func(v string) error { outs = append(outs, v); return nil }},
		{names: []string{"results"}, hasValue: true, set: func(v string) error { cfg.NATS.Results = v; return nil }},
		{names: []string{"metrics"}, hasValue: true, set: func(v string) error { metricsAddr = v; return nil }},
		boolFlag(&untilEmpty, "until-empty"),
		{names: []string{"workers", "j"}, hasValue: true, set: func(v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return fmt.Errorf("%q is not a number of workers", v)
			}
			workers = n
			return nil
		}},
	}
	var extra []string
	if err := parseArgs(args, specs, func(p string) { extra = append(extra, p) }); err != nil {
		return exitError, err
	}
	if len(extra) > 0 {
		return exitError, usagef("worker takes no files (%q); submit them with mailsift submit", extra[0])
	}
	cfg.Serve.Sinks = append(cfg.Serve.Sinks, outs...)
	if err := cfg.Validate(); err != nil {
		return exitError, err
	}
	if len(cfg.Serve.Sinks) == 0 && cfg.NATS.Results == "" {
		return exitError, usagef("worker: no destination for the reports: give --out SPEC or --results SUBJECT")
	}
	log, _ := serviceLogger(e, cfg)
	reg := metrics.New()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	q, err := connectQueue(ctx, cfg.NATS, "mailsift worker", nil, log)
	if err != nil {
		return exitError, err
	}
	w, err := newWorkerSet(ctx, e, cfg, q, nil, log, reg)
	if err != nil {
		return exitError, errors.Join(err, q.Close())
	}
	if metricsAddr != "" {
		if err := serveMetrics(ctx, metricsAddr, reg, log); err != nil {
			return exitError, errors.Join(err, w.close(), q.Close())
		}
	}
	// The watcher rereads what the workers close: it stops first, after a
	// reload in progress.
	stopWatch := watchConfig(e, cfg, w.apply, w.tick, log, reg)
	defer stopWatch()

	log.Info("worker started", "nats", cfg.NATS.URL, "stream", cfg.NATS.Stream, "workers", workers)
	runCtx := ctx
	if untilEmpty {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithCancel(ctx)
		defer cancel()
		go stopWhenEmpty(runCtx, q, cancel)
	}
	st := w.run(runCtx, workers)
	log.Info("worker stopped", "acked", st.Acked, "failed", st.Failed, "dead", st.Dead, "handed_back", st.Naked)
	stopWatch()
	if err := errors.Join(w.close(), q.Close()); err != nil {
		return exitError, err
	}
	return exitOK, nil
}

// stopWhenEmpty calls stop once the stream has no mail waiting and none
// handed out, twice in a row 25 ms apart.
func stopWhenEmpty(ctx context.Context, q *mailq.Queue, stop context.CancelFunc) {
	empty := 0
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
			return
		case <-time.After(25 * time.Millisecond):
		}
		waiting, pending, err := q.Depth(ctx)
		if err == nil && waiting == 0 && pending == 0 {
			empty++
		} else {
			empty = 0
		}
		if empty >= 2 {
			stop()
			return
		}
	}
}

// connectQueue connects to the queue, or to the server of this process
// when embedded is set.
func connectQueue(ctx context.Context, c mailq.Config, name string, embedded *mailq.Server, log *slog.Logger) (*mailq.Queue, error) {
	o := mailq.Options{Name: name, Logger: log}
	if embedded != nil {
		c.URL = embedded.URL()
		o.InProcess = embedded.InProcess()
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return mailq.Connect(cctx, c, o)
}

// workerSet is what the workers of one process share: the engine, the
// spam filter and the sinks.
type workerSet struct {
	cfg       config.Config
	q         *mailq.Queue
	log       *slog.Logger
	reg       *metrics.Registry
	live      *filter.Live
	eng       *analyze.Engine
	sinks     []sink.Tracker
	owned     []sink.Tracker // the sinks close closes
	ownEngine bool
	seen      *mailq.Seen
}

// newWorkerSet opens the engine and the sinks of cfg. With shared set,
// the workers write to those sinks (and the engine is shared's) instead:
// serve's own.
func newWorkerSet(ctx context.Context, e env, cfg config.Config, q *mailq.Queue, shared *service, log *slog.Logger, reg *metrics.Registry) (*workerSet, error) {
	w := &workerSet{cfg: cfg, q: q, log: log, reg: reg}
	if shared != nil {
		w.live, w.eng, w.sinks = shared.live, shared.eng, append([]sink.Tracker(nil), shared.sinks...)
	} else {
		w.live = filter.NewLive(e.db, *filterOf(cfg, nil), cfg.LockTimeout)
		if _, err := w.live.Refresh(); err != nil {
			return nil, err
		}
		if !w.live.Ready() {
			log.Warn("no token database: reports carry no spam verdict until one is trained", "database", e.db)
		}
		opts := analyze.Options{Spam: w.live, Observe: reg.Stage,
			Warn: func(err error) { log.Warn("analysis", "err", err) }}
		if cfg.NATS.SharedSeen {
			seen, err := q.Seen(ctx, cfg.Analysis.Seen)
			if err != nil {
				return nil, err
			}
			opts.Seen, w.seen = seen, seen
		}
		var err error
		if w.eng, err = analyze.New(cfg.Analysis, opts); err != nil {
			return nil, err
		}
		w.ownEngine = true
		for _, spec := range cfg.Serve.Sinks {
			sk, err := openSink(spec, cfg.Serve.Queue, e.stdout, log, reg)
			if err != nil {
				return nil, errors.Join(err, w.close())
			}
			w.sinks = append(w.sinks, sk)
			w.owned = append(w.owned, sk)
		}
	}
	if cfg.NATS.Results != "" {
		rs, err := q.OpenResults(cfg.Serve.Queue)
		if err != nil {
			return nil, errors.Join(err, w.close())
		}
		exposeQueue(reg, "nats:"+cfg.NATS.Results, rs)
		w.sinks = append(w.sinks, rs)
		w.owned = append(w.owned, rs)
	}
	return w, nil
}

// prefetch is how many mails n workers keep fetched ahead. A worker busy
// analysing answers the network late (with GOMAXPROCS=1 a fetch can wait
// tens of milliseconds for the CPU), so the next mails are fetched while
// a good half of this many is still in hand; the fetched mails are kept
// in progress, and handed back when the worker stops.
func prefetch(n int) int { return min(128*n, 1024) }

// run runs n workers until ctx is done and the mails in hand are settled.
func (w *workerSet) run(ctx context.Context, n int) pipeline.Stats {
	src, err := w.q.Source(ctx, prefetch(n))
	for err != nil {
		w.log.Error("queue", "err", err)
		select {
		case <-ctx.Done():
			return pipeline.Stats{}
		case <-time.After(time.Second):
		}
		src, err = w.q.Source(ctx, prefetch(n))
	}
	defer src.Stop()
	c := w.cfg.NATS
	return pipeline.Run(ctx, src, w.process, w.sinks, pipeline.Options{
		Workers: n, MaxDeliver: c.MaxDeliver, Timeout: c.MailTimeout,
		RetryMin: c.RetryMin, RetryMax: c.RetryMax, ProgressEvery: c.AckWait / 4,
		Drain: w.cfg.Serve.ShutdownTimeout, Logger: w.log, Observe: w.reg.Work,
	})
}

// process analyses one queued mail. The claim lets the shared seen
// filters tell this mail's own earlier attempt from another mail.
func (w *workerSet) process(ctx context.Context, d pipeline.Delivery) (*report.Report, error) {
	md, ok := d.(*mailq.Delivery)
	if !ok {
		return nil, fmt.Errorf("worker: unexpected delivery %T", d)
	}
	ctx = mailq.WithClaim(ctx, md.Sequence(), md.Attempt())
	rep, err := w.eng.Analyze(ctx, md.Data(), md.Origin())
	if err != nil {
		w.reg.Error("analyze")
		return nil, err
	}
	w.reg.Mail("worker")
	if rep.Spam != nil {
		w.reg.Verdict("worker", "spam", rep.Spam.Verdict)
	}
	return rep, nil
}

// apply puts a reloaded configuration's analysis and filter settings in
// force.
func (w *workerSet) apply(next config.Config) error {
	if err := overrideClassifier(&next, ""); err != nil {
		return err
	}
	if err := w.live.Configure(*filterOf(next, nil)); err != nil {
		return err
	}
	if err := w.eng.Update(next.Analysis); err != nil && !errors.Is(err, analyze.ErrRestart) {
		return err
	}
	w.reg.Reload(true)
	w.log.Info("configuration reloaded")
	return nil
}

// tick rereads the lists and the token database when they changed.
func (w *workerSet) tick() { rereadChanged(w.eng, w.live, w.log, w.reg) }

// close flushes and closes the sinks the set opened, then its engine.
func (w *workerSet) close() error {
	var errs []error
	for _, sk := range w.owned {
		errs = append(errs, sk.Close())
	}
	w.owned = nil
	if w.ownEngine {
		errs = append(errs, w.eng.Close())
		w.ownEngine = false
	}
	if w.seen != nil {
		errs = append(errs, w.seen.Close())
		w.seen = nil
	}
	return errors.Join(errs...)
}

// serveMetrics serves reg on addr at /metrics until ctx is done.
func serveMetrics(ctx context.Context, addr string, reg *metrics.Registry, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		reg.WritePrometheus(w)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics", "err", err)
		}
	}()
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	log.Info("metrics listening", "url", "http://"+ln.Addr().String()+"/metrics")
	return nil
}
