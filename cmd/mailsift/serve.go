package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mailsift/mailsift/internal/analyze"
	"github.com/mailsift/mailsift/internal/config"
	"github.com/mailsift/mailsift/internal/filter"
	"github.com/mailsift/mailsift/internal/mailq"
	"github.com/mailsift/mailsift/internal/metrics"
	"github.com/mailsift/mailsift/internal/milter"
	"github.com/mailsift/mailsift/internal/server"
	"github.com/mailsift/mailsift/internal/sink"
	redissink "github.com/mailsift/mailsift/internal/sink/redis"
	"github.com/mailsift/mailsift/internal/tokendb"
)

// cmdServe runs the service: the HTTP API, the milter and the sinks, until
// SIGINT or SIGTERM; SIGHUP reloads the configuration.
func cmdServe(e env, args []string) (int, error) {
	cfg := e.cfg
	var outs []string
	specs := []flagSpec{
		{names: []string{"nats"}, hasValue: true, set: func(v string) error { cfg.NATS.URL, cfg.Serve.NATS = v, config.NATSConnect; return nil }},
		{names: []string{"embedded-nats"}, set: func(string) error { cfg.Serve.NATS = config.NATSEmbedded; return nil }},
		{names: []string{"http"}, hasValue: true, set: func(v string) error { cfg.Serve.HTTP.Listen = v; return nil }},
		{names: []string{"milter"}, hasValue: true, set: func(v string) error { cfg.Serve.Milter.Listen = v; return nil }},
		{names: []string{"out", "o"}, hasValue: true, set: func(v string) error { outs = append(outs, v); return nil }},
	}
	var extra []string
	if err := parseArgs(args, specs, func(p string) { extra = append(extra, p) }); err != nil {
		return exitError, err
	}
	if len(extra) > 0 {
		return exitError, usagef("serve takes no files (%q)", extra[0])
	}
	cfg.Serve.Sinks = append(cfg.Serve.Sinks, outs...)
	if err := cfg.Validate(); err != nil {
		return exitError, err
	}
	if cfg.Serve.HTTP.Listen == "" && cfg.Serve.Milter.Listen == "" {
		return exitError, usagef("nothing to serve: both the HTTP API and the milter are off")
	}

	log, level := serviceLogger(e, cfg)
	slog.SetDefault(log)
	reg := metrics.New()

	s := &service{e: e, log: log, level: level, reg: reg}
	s.cfg.Store(&cfg)
	defer func() {
		if err := s.close(); err != nil {
			log.Error("shutdown", "err", err)
		}
	}()
	if err := s.start(cfg); err != nil {
		return exitError, err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The watcher rereads what shutdown closes: it stops first, after a
	// reload in progress.
	stopWatch := watchConfig(e, cfg, s.apply, s.tick, log, reg)
	defer stopWatch()

	var failed error
	select {
	case <-ctx.Done():
		log.Info("shutting down", "within", cfg.Serve.ShutdownTimeout.String())
	case failed = <-s.failed:
		log.Error("a listener failed; shutting down", "err", failed)
	}
	stopWatch()
	if err := s.shutdown(cfg); err != nil {
		failed = errors.Join(failed, err)
	}
	if failed != nil {
		return exitError, failed
	}
	return exitOK, nil
}

// service is what serve runs.
type service struct {
	e     env
	log   *slog.Logger
	level *slog.LevelVar
	reg   *metrics.Registry
	cfg   atomic.Pointer[config.Config]

	live    *filter.Live
	eng     *analyze.Engine
	sinks   []sink.Tracker
	reports sink.Sink
	http    *server.Server
	milter  *milter.Server
	front   []frontEnd
	failed  chan error

	// The mail queue, with serve.nats: the server of this process
	// (embedded), the connection, the publisher the milter feeds, and
	// the workers (embedded).
	natsServer  *mailq.Server
	queue       *mailq.Queue
	publisher   *mailq.Publisher
	workers     *workerSet
	stopWorkers context.CancelFunc
	workersDone chan struct{}
}

// frontEnd is a listener and how to stop it.
type frontEnd struct {
	name     string
	shutdown func(context.Context) error
}

func (s *service) start(cfg config.Config) error {
	s.failed = make(chan error, 2)
	s.live = filter.NewLive(s.e.db, *filterOf(cfg, nil), cfg.LockTimeout)
	if _, err := s.live.Refresh(); err != nil {
		return err
	}
	if !s.live.Ready() {
		s.log.Warn("no token database yet: classification answers unknown until one is trained", "database", s.e.db)
	}
	var err error
	s.eng, err = analyze.New(cfg.Analysis, analyze.Options{Spam: s.live, Observe: s.reg.Stage,
		Warn: func(err error) { s.log.Warn("analysis", "err", err) }})
	if err != nil {
		return err
	}
	for _, spec := range cfg.Serve.Sinks {
		sk, err := s.openSink(spec, cfg.Serve.Queue)
		if err != nil {
			return err
		}
		s.sinks = append(s.sinks, sk)
	}
	if len(s.sinks) > 0 {
		all := make([]sink.Sink, len(s.sinks))
		for i, sk := range s.sinks {
			all[i] = sk
		}
		s.reports = sink.Multi(all...)
	}
	s.reg.Gauge("mailsift_token_database_ready", "1 when the spam filter has a token database to score with.", func() float64 {
		if s.live.Ready() {
			return 1
		}
		return 0
	})

	if addr := cfg.Serve.HTTP.Listen; addr != "" {
		s.http, err = server.New(cfg.Serve.HTTP, server.Deps{Engine: s.eng, Spam: s.live, Doc: s.trainingDoc,
			Reports: s.reports, Metrics: s.reg, Logger: s.log.With("front", "http")})
		if err != nil {
			return err
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("serve: http: %w", err)
		}
		s.front = append(s.front, frontEnd{"http", s.http.Shutdown})
		go func() {
			if err := s.http.Serve(ln); err != nil {
				s.failed <- fmt.Errorf("http: %w", err)
			}
		}()
		scheme := "http"
		if cfg.Serve.HTTP.TLSCert != "" {
			scheme = "https"
		}
		s.log.Info("HTTP API listening", "url", scheme+"://"+ln.Addr().String())
	}
	if err := s.startQueue(cfg); err != nil {
		return err
	}
	if err := s.startMilter(cfg); err != nil {
		return err
	}
	return nil
}

// startQueue connects to the mail queue of serve.nats, starting the NATS
// server and the workers first when it is embedded.
func (s *service) startQueue(cfg config.Config) error {
	if cfg.Serve.NATS == "" {
		return nil
	}
	log := s.log.With("front", "nats")
	if cfg.Serve.NATS == config.NATSEmbedded {
		srv, err := mailq.StartEmbedded(cfg.NATS.Embedded, log)
		if err != nil {
			return err
		}
		s.natsServer = srv
		log.Info("NATS server running", "listen", cfg.NATS.Embedded.Listen, "dir", cfg.NATS.Embedded.Dir)
	}
	q, err := connectQueue(context.Background(), cfg.NATS, "mailsift serve", s.natsServer, log)
	if err != nil {
		return err
	}
	s.queue = q
	s.publisher = q.NewPublisher(func(p mailq.Published) {
		if p.Err != nil {
			s.reg.Error("queue")
			log.Error("mail not queued", "id", p.ID, "err", p.Err)
		}
	})
	s.reg.Gauge("mailsift_queue_waiting", "Mails in the NATS stream not yet handed to a worker.", func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		waiting, _, err := q.Depth(ctx)
		if err != nil {
			return -1
		}
		return float64(waiting)
	})
	if cfg.Serve.NATS != config.NATSEmbedded {
		return nil
	}
	w, err := newWorkerSet(context.Background(), s.e, cfg, q, s, log, s.reg)
	if err != nil {
		return err
	}
	s.workers = w
	ctx, cancel := context.WithCancel(context.Background())
	s.stopWorkers, s.workersDone = cancel, make(chan struct{})
	go func() {
		defer close(s.workersDone)
		st := w.run(ctx, runtime.GOMAXPROCS(0))
		log.Info("workers stopped", "acked", st.Acked, "failed", st.Failed, "dead", st.Dead, "handed_back", st.Naked)
	}()
	return nil
}

// stopQueue stops the workers (they settle what they hold), waits for the
// server's answers to the mails published, and closes the connection and
// the embedded server.
func (s *service) stopQueue() error {
	var errs []error
	if s.stopWorkers != nil {
		s.stopWorkers()
		<-s.workersDone
		s.stopWorkers = nil
	}
	if s.workers != nil {
		errs = append(errs, s.workers.close())
		s.workers = nil
	}
	if s.publisher != nil {
		s.publisher.Close()
		s.publisher = nil
	}
	if s.queue != nil {
		errs = append(errs, s.queue.Close())
		s.queue = nil
	}
	if s.natsServer != nil {
		s.natsServer.Shutdown()
		s.natsServer = nil
	}
	return errors.Join(errs...)
}

// openSink opens one destination behind its queue and exposes the
// queue's counters.
func (s *service) openSink(spec string, q sink.QueueOptions) (sink.Tracker, error) {
	return openSink(spec, q, s.e.stdout, s.log, s.reg)
}

// openSink opens one destination behind its queue, logs its failures and
// exposes its counters in reg.
func openSink(spec string, q sink.QueueOptions, stdout io.Writer, log *slog.Logger, reg *metrics.Registry) (sink.Tracker, error) {
	name := redact(spec)
	q.OnError = func(err error) {
		reg.Error("sink")
		log.Warn("sink", "sink", name, "err", err)
	}
	var (
		sk  sink.Sink
		err error
	)
	switch {
	case strings.HasPrefix(spec, "redis://"), strings.HasPrefix(spec, "rediss://"):
		redissink.LogTo(log)
		sk, err = redissink.Open(spec, q)
	case strings.HasPrefix(spec, "es+http://"), strings.HasPrefix(spec, "es+https://"):
		sk, err = sink.OpenElastic(spec, q)
	default:
		sk, err = sink.OpenQueued(spec, stdout, q)
	}
	if err != nil {
		return nil, err
	}
	tr, ok := sk.(sink.Tracker)
	if !ok {
		return nil, errors.Join(fmt.Errorf("sink %s: no delivery tracking", name), sk.Close())
	}
	exposeQueue(reg, name, tr)
	log.Info("sink open", "sink", name)
	return tr, nil
}

// exposeQueue shows a sink queue's counters in reg.
func exposeQueue(reg *metrics.Registry, name string, sk sink.Sink) {
	if st, ok := sk.(sink.Stater); ok {
		reg.Queue(name, func() metrics.QueueStats {
			q := st.Stats()
			return metrics.QueueStats{Queued: q.Queued, Sent: q.Sent, Retries: q.Retries, Rejected: q.Rejected, Lost: q.Lost}
		})
	}
}

// redact hides a password in a destination URL.
func redact(spec string) string {
	u, err := url.Parse(spec)
	if err != nil {
		return spec
	}
	return u.Redacted()
}

// trainingDoc makes the training document of a mail with the settings in
// force.
func (s *service) trainingDoc(raw []byte) tokendb.Doc {
	cfg := s.cfg.Load()
	return filter.TrainingDoc(raw, cfg.Tokenize(), cfg.SpamHeader, cfg.AttachmentsHeader)
}

// apply puts a reloaded configuration in force: the HTTP API's first,
// since reading its token and certificate can fail, then the filter, the
// analysis, the milter and the log level. What only a restart changes
// is logged.
func (s *service) apply(next config.Config) error {
	if err := overrideClassifier(&next, ""); err != nil {
		return err
	}
	old := s.cfg.Load()
	keep := old.Serve
	next.Serve.HTTP.Listen, next.Serve.Milter.Listen = keep.HTTP.Listen, keep.Milter.Listen
	if s.http != nil {
		if err := s.http.SetConfig(next.Serve.HTTP); err != nil {
			return err
		}
	}
	if err := s.live.Configure(*filterOf(next, nil)); err != nil {
		if s.http != nil {
			_ = s.http.SetConfig(old.Serve.HTTP)
		}
		return err
	}
	if err := s.eng.Update(next.Analysis); err != nil {
		if !errors.Is(err, analyze.ErrRestart) {
			if s.http != nil {
				_ = s.http.SetConfig(old.Serve.HTTP)
			}
			_ = s.live.Configure(*filterOf(*old, nil))
			return err
		}
		s.log.Warn("reload: the seen filters and enrichers change at the next start")
	}
	s.setMilterConfig(next)
	if lv, err := next.Serve.Level(); err == nil {
		s.level.Set(lv)
	}
	var later []string
	if next.DatabaseFile != old.DatabaseFile {
		later = append(later, "database_file")
	}
	if !reflect.DeepEqual(next.Serve.Sinks, keep.Sinks) || !reflect.DeepEqual(next.Serve.Queue, keep.Queue) {
		later = append(later, "serve.sinks", "serve.queue")
	}
	if next.Serve.LogFormat != keep.LogFormat {
		later = append(later, "serve.log_format")
	}
	if len(later) > 0 {
		s.log.Warn("reload: these change at the next start", "keys", strings.Join(later, ", "))
	}
	next.Serve.Sinks, next.Serve.Queue, next.Serve.LogFormat, next.DatabaseFile = keep.Sinks, keep.Queue, keep.LogFormat, old.DatabaseFile
	s.cfg.Store(&next)
	s.reg.Reload(true)
	s.log.Info("configuration reloaded")
	return nil
}

// tick rereads the lists and the token database when they changed.
func (s *service) tick() { rereadChanged(s.eng, s.live, s.log, s.reg) }

// rereadChanged rereads the analysis lists and the token database when
// they changed; what fails to load is logged, and the old stays in force.
func rereadChanged(eng *analyze.Engine, live *filter.Live, log *slog.Logger, reg *metrics.Registry) {
	if changed, err := eng.Reload(); err != nil {
		reg.Error("reload")
		log.Error("lists refused; the ones in force stay", "err", err)
	} else if changed {
		log.Info("lists reloaded")
	}
	if changed, err := live.Refresh(); err != nil {
		reg.Error("reload")
		log.Error("token database not reread", "err", err)
	} else if changed {
		log.Info("token database reread", "database", live.Path())
	}
}

// shutdown stops the listeners, letting the mail in flight finish, then
// flushes the sinks, each step within the shutdown timeout.
func (s *service) shutdown(cfg config.Config) error {
	ctx, cancel := context.WithTimeout(context.Background(), cfg.Serve.ShutdownTimeout)
	defer cancel()
	var errs []error
	for _, f := range s.front {
		if err := f.shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f.name, err))
		}
	}
	s.front = nil
	errs = append(errs, s.close())
	if err := errors.Join(errs...); err != nil {
		return err
	}
	s.log.Info("stopped")
	return nil
}

// close flushes and closes the sinks, then the engine (which saves the
// seen filters). A second call does nothing.
func (s *service) close() error {
	errs := []error{s.stopQueue()}
	if s.reports != nil {
		errs = append(errs, s.reports.Close())
		s.reports = nil
	} else {
		for _, sk := range s.sinks {
			errs = append(errs, sk.Close())
		}
	}
	s.sinks = nil
	if s.eng != nil {
		errs = append(errs, s.eng.Close())
		s.eng = nil
	}
	return errors.Join(errs...)
}

// serviceLogger is the logger of a long-running command (serve, worker),
// with the level a reload may change.
func serviceLogger(e env, cfg config.Config) (*slog.Logger, *slog.LevelVar) {
	level := new(slog.LevelVar)
	lv, _ := cfg.Serve.Level()
	level.Set(lv)
	return newLogger(e.stderr, cfg.Serve.LogFormat, level), level
}

// watchConfig puts a changed configuration file in force with apply,
// at once on SIGHUP, and calls tick at every interval; a file refused is
// logged and counted. It returns the function that stops watching, which
// may be called more than once.
func watchConfig(e env, cfg config.Config, apply func(config.Config) error, tick func(), log *slog.Logger, reg *metrics.Registry) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	stopWatch := watcher{configPath: e.configPath, interval: cfg.Serve.ReloadInterval, hup: hup,
		apply: apply, tick: tick,
		refused: func(path string, err error) {
			reg.Reload(false)
			log.Error("configuration refused; the one in force stays", "file", path, "err", err)
		},
	}.start()
	var once sync.Once
	return func() {
		once.Do(func() {
			stopWatch()
			signal.Stop(hup)
		})
	}
}

// newLogger is the service's structured logger on w.
func newLogger(w io.Writer, format string, level *slog.LevelVar) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
