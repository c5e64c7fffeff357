package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/mailsift/mailsift/internal/bayes"
	"github.com/mailsift/mailsift/internal/config"
	"github.com/mailsift/mailsift/internal/filter"
	"github.com/mailsift/mailsift/internal/mail"
	"github.com/mailsift/mailsift/internal/mailq"
	"github.com/mailsift/mailsift/internal/milter"
)

// startMilter starts the milter when it has an address.
func (s *service) startMilter(cfg config.Config) error {
	addr := cfg.Serve.Milter.Listen
	if addr == "" {
		return nil
	}
	milter.LogTo(s.log)
	var scanner milter.Scanner = milter.FilterScanner{Filter: s.live}
	if cfg.Serve.MilterAnalysis {
		scanner = &analysisScanner{s: s}
	}
	m := milter.New(cfg.Serve.Milter, scanner, milter.Options{Logger: s.log.With("front", "milter"),
		Observe: func(o milter.Outcome) {
			action := string(o.Action)
			if o.Err != nil {
				action = "unchanged"
				s.reg.Error("milter")
			}
			s.reg.Milter(action, o.Duration)
			s.reg.Mail("milter")
			s.reg.Verdict("milter", "spam", o.Verdict.Class)
		}})
	ln, err := milter.Listen(addr)
	if err != nil {
		return err
	}
	s.milter = m
	s.front = append(s.front, frontEnd{"milter", m.Shutdown})
	go func() {
		if err := m.Serve(ln); err != nil && !errors.Is(err, milter.ErrServerClosed) {
			s.failed <- fmt.Errorf("milter: %w", err)
		}
	}()
	s.log.Info("milter listening", "address", ln.Addr().String(), "analysis", cfg.Serve.MilterAnalysis)
	return nil
}

// setMilterConfig puts the milter's reloaded settings in force.
func (s *service) setMilterConfig(cfg config.Config) {
	if s.milter != nil {
		s.milter.SetConfig(cfg.Serve.Milter)
	}
}

// analysisScanner gives the milter the whole analysis: the report goes to
// the sinks, the spam verdict and the phishing verdict to the milter.
type analysisScanner struct{ s *service }

var _ milter.Scanner = (*analysisScanner)(nil)

func (a *analysisScanner) Scan(ctx context.Context, raw []byte) (milter.Verdict, error) {
	s := a.s
	if s.publisher != nil {
		return a.queue(ctx, raw)
	}
	rep, err := s.eng.Analyze(ctx, raw, "milter")
	if err != nil {
		return milter.Verdict{}, err
	}
	if s.reports != nil {
		if err := s.reports.Write(ctx, rep); err != nil {
			s.reg.Error("sink")
			s.log.Warn("report not queued", "id", rep.ID, "err", err)
		}
	}
	m := mail.Parse(raw)
	v := milter.Verdict{Attachments: filter.AttachmentSummary(m)}
	if rep.Phishing != nil {
		v.PhishingChecked, v.Phishing, v.PhishingWeight = true, rep.Phishing.Verdict, rep.Phishing.Weight
		s.reg.Verdict("milter", "phishing", map[bool]string{true: "yes", false: "no"}[rep.Phishing.Verdict])
	}
	var res bayes.Result
	if sp := rep.Spam; sp != nil {
		res = bayes.Result{Score: sp.Score, Verdict: bayes.Verdict(sp.Verdict)}
		for _, w := range sp.Words {
			res.Words = append(res.Words, bayes.Word{Text: w.Word, P: w.P})
		}
	} else {
		// The analysis gives no verdict for a mail seen before, or when
		// its spam stage is off: the filter decides alone.
		fv, err := s.live.ClassifyMessage(m)
		if err != nil {
			return milter.Verdict{}, err
		}
		res = fv.Result
	}
	v.SpamHeader, v.Class, v.Score = filter.SpamHeader(res, nil), string(res.Verdict), res.Score
	return v, nil
}

// queue sends the mail to the queue for the workers' analysis and asks
// the spam filter alone for the milter's verdict.
func (a *analysisScanner) queue(ctx context.Context, raw []byte) (milter.Verdict, error) {
	s := a.s
	if err := s.publisher.Publish(ctx, mailq.Mail{Raw: raw, Origin: "milter"}); err != nil {
		s.reg.Error("queue")
		s.log.Warn("mail not queued", "err", err)
	}
	m := mail.Parse(raw)
	fv, err := s.live.ClassifyMessage(m)
	if err != nil {
		return milter.Verdict{}, err
	}
	return milter.Verdict{Attachments: filter.AttachmentSummary(m), SpamHeader: filter.SpamHeader(fv.Result, nil),
		Class: string(fv.Result.Verdict), Score: fv.Result.Score}, nil
}
