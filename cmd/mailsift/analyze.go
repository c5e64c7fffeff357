package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"time"

	"github.com/mailsift/mailsift/internal/analyze"
	"github.com/mailsift/mailsift/internal/config"
	"github.com/mailsift/mailsift/internal/filter"
	"github.com/mailsift/mailsift/internal/mailbox"
	"github.com/mailsift/mailsift/internal/progress"
	"github.com/mailsift/mailsift/internal/sink"
	"github.com/mailsift/mailsift/internal/tokendb"
	"github.com/mailsift/mailsift/report"
)

// reloadEvery is how often a long analysis looks for changed whitelist and
// keyword files.
const reloadEvery = 5 * time.Second

func cmdAnalyze(e env, args []string) (int, error) {
	var (
		paths []string
		outs  []string
		o     = runOpts{bigMails: true}
	)
	specs := []flagSpec{
		{names: []string{"out", "o"}, hasValue: true, set: func(v string) error { outs = append(outs, v); return nil }},
		{names: []string{"workers", "j"}, hasValue: true, set: func(v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return fmt.Errorf("%q is not a number of workers", v)
			}
			o.workers = n
			return nil
		}},
		boolFlag(&o.unordered, "unordered"),
	}
	if err := parseArgs(args, specs, func(p string) { paths = append(paths, p) }); err != nil {
		return exitError, err
	}
	if len(paths) == 0 {
		paths = []string{"-"}
	}
	if len(outs) == 0 {
		outs = []string{"-"}
	}

	spam, err := spamFilter(e)
	if err != nil {
		return exitError, err
	}
	opts := analyze.Options{Warn: func(err error) { fmt.Fprintf(e.stderr, "mailsift: %v\n", err) }}
	if spam != nil {
		opts.Spam = spam
	}
	eng, err := analyze.New(e.cfg.Analysis, opts)
	if err != nil {
		return exitError, err
	}
	var sinks []sink.Sink
	closeAll := func() error {
		errs := []error{eng.Close()}
		for _, s := range sinks {
			errs = append(errs, s.Close())
		}
		return errors.Join(errs...)
	}
	for _, spec := range outs {
		s, err := sink.Open(spec, e.stdout)
		if err != nil {
			return exitError, errors.Join(err, closeAll())
		}
		sinks = append(sinks, s)
	}
	out := sink.Multi(sinks...)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	stopReload := watcher{configPath: e.configPath, interval: reloadEvery,
		apply: func(cfg config.Config) error { return eng.Update(cfg.Analysis) },
		tick: func() {
			if _, err := eng.Reload(); err != nil {
				fmt.Fprintf(e.stderr, "mailsift: reload: %v (the previous lists stay in force)\n", err)
			}
		},
		refused: func(path string, err error) { fmt.Fprintf(e.stderr, "mailsift: reload %s: %v\n", path, err) },
	}.start()

	bar := progress.New(e.stderr, "analyze", inputSize(paths))
	failed := 0
	err = forEachWith(o, paths, e.stdin, bar, func(m mailbox.Message) (*report.Report, error) {
		return eng.Analyze(ctx, m.Raw, m.Origin)
	}, func(m mailbox.Message, rep *report.Report, err error) error {
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			failed++
			fmt.Fprintf(e.stderr, "mailsift: %v\n", err)
			rep = unreadable(m.Origin, err)
		} else if rep.Error != "" {
			failed++
		}
		return out.Write(ctx, rep)
	})
	bar.Done()
	stopReload()
	if err = errors.Join(err, closeAll()); err != nil {
		return exitError, err
	}
	if failed > 0 {
		return exitPartial, nil
	}
	return exitOK, nil
}

// spamFilter opens the token database for the spam verdict; without a
// database there is no verdict, and that is no error.
func spamFilter(e env) (*filter.Filter, error) {
	if !e.cfg.Analysis.Spam {
		return nil, nil
	}
	f, err := openFilter(e)
	if errors.Is(err, tokendb.ErrNotExist) {
		return nil, nil
	}
	return f, err
}

// unreadable is the report of a mail that could not be read at all. Its
// id is the SHA-256 of its origin, as there are no bytes to hash.
func unreadable(origin string, err error) *report.Report {
	sum := sha256.Sum256([]byte("unreadable:" + origin))
	return &report.Report{
		Version: report.Version, ID: hex.EncodeToString(sum[:]), Origin: origin,
		AnalysedAt: time.Now().UTC(), Error: err.Error(), Mail: report.Mail{Headers: []report.Header{}},
	}
}
