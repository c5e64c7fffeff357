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
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/mailsift/mailsift/internal/analyze"
	"github.com/mailsift/mailsift/internal/config"
	"github.com/mailsift/mailsift/internal/filter"
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

	level := new(slog.LevelVar)
	lv, _ := cfg.Serve.Level()
	level.Set(lv)
	log := newLogger(e.stderr, cfg.Serve.LogFormat, level)
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
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	stopWatch := watcher{configPath: e.configPath, interval: cfg.Serve.ReloadInterval, hup: hup,
		apply: s.apply, tick: s.tick,
		refused: func(path string, err error) {
			reg.Reload(false)
			log.Error("configuration refused; the one in force stays", "file", path, "err", err)
		},
	}.start()
	defer stopWatch()

	var failed error
	select {
	case <-ctx.Done():
		log.Info("shutting down", "within", cfg.Serve.ShutdownTimeout.String())
	case failed = <-s.failed:
		log.Error("a listener failed; shutting down", "err", failed)
	}
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
	sinks   []sink.Sink
	reports sink.Sink
	http    *server.Server
	milter  *milter.Server
	front   []frontEnd
	failed  chan error
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
		s.reports = sink.Multi(s.sinks...)
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
	if err := s.startMilter(cfg); err != nil {
		return err
	}
	return nil
}

// openSink opens one destination behind its queue and exposes the
// queue's counters.
func (s *service) openSink(spec string, q sink.QueueOptions) (sink.Sink, error) {
	name := redact(spec)
	q.OnError = func(err error) {
		s.reg.Error("sink")
		s.log.Warn("sink", "sink", name, "err", err)
	}
	var (
		sk  sink.Sink
		err error
	)
	switch {
	case strings.HasPrefix(spec, "redis://"), strings.HasPrefix(spec, "rediss://"):
		redissink.LogTo(s.log)
		sk, err = redissink.Open(spec, q)
	case strings.HasPrefix(spec, "es+http://"), strings.HasPrefix(spec, "es+https://"):
		sk, err = sink.OpenElastic(spec, q)
	default:
		sk, err = sink.OpenQueued(spec, s.e.stdout, q)
	}
	if err != nil {
		return nil, err
	}
	if st, ok := sk.(sink.Stater); ok {
		s.reg.Queue(name, func() metrics.QueueStats {
			q := st.Stats()
			return metrics.QueueStats{Queued: q.Queued, Sent: q.Sent, Retries: q.Retries, Rejected: q.Rejected, Lost: q.Lost}
		})
	}
	s.log.Info("sink open", "sink", name)
	return sk, nil
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
func (s *service) tick() {
	if changed, err := s.eng.Reload(); err != nil {
		s.reg.Error("reload")
		s.log.Error("lists refused; the ones in force stay", "err", err)
	} else if changed {
		s.log.Info("lists reloaded")
	}
	if changed, err := s.live.Refresh(); err != nil {
		s.reg.Error("reload")
		s.log.Error("token database not reread", "err", err)
	} else if changed {
		s.log.Info("token database reread", "database", s.live.Path())
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
	var errs []error
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

// newLogger is the service's structured logger on w.
func newLogger(w io.Writer, format string, level *slog.LevelVar) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
