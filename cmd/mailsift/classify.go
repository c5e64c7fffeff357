package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/mailsift/mailsift/internal/bayes"
	"github.com/mailsift/mailsift/internal/config"
	"github.com/mailsift/mailsift/internal/filter"
	"github.com/mailsift/mailsift/internal/mail"
	"github.com/mailsift/mailsift/internal/mailbox"
	"github.com/mailsift/mailsift/internal/progress"
	"github.com/mailsift/mailsift/internal/tokendb"
)

// openFilter prepares a run over many messages: it takes a snapshot of
// what the configured classifier reads and releases the database at once,
// so training can go on meanwhile.
func openFilter(e env) (*filter.Filter, error) {
	db, err := tokendb.Open(e.db, tokendb.Options{ReadOnly: true, Timeout: e.cfg.LockTimeout})
	if err != nil {
		if errors.Is(err, tokendb.ErrNotExist) {
			err = fmt.Errorf("%w (train it first: mailsift train --ham GOOD --spam SPAM)", err)
		}
		return nil, err
	}
	var snap *tokendb.Snapshot
	if e.cfg.Classifier == filter.SpamOracle {
		snap, err = db.Snapshot(e.cfg.Bayes().MinWordWeight)
	} else {
		snap, err = db.SnapshotModel()
	}
	if err = errors.Join(err, db.Close()); err != nil {
		return nil, err
	}
	return newFilter(e, snap), nil
}

func newFilter(e env, s filter.Store) *filter.Filter { return filterOf(e.cfg, s) }

// filterOf is the filter that cfg describes, over s.
func filterOf(cfg config.Config, s filter.Store) *filter.Filter {
	return &filter.Filter{Classifier: cfg.Classifier, Params: cfg.Bayes(), Fused: cfg.Fused(),
		Tokens: cfg.Tokenize(), Store: s, Reassemble: cfg.ReassembleWords}
}

// testRecord is one line of test --json.
type testRecord struct {
	File        string        `json:"file"`
	Score       float64       `json:"score"`
	Verdict     bayes.Verdict `json:"verdict"`
	Words       []bayes.Word  `json:"words"`
	From        string        `json:"from"`
	Subject     string        `json:"subject"`
	Attachments string        `json:"attachments,omitempty"`
	Reason      string        `json:"reason,omitempty"`
	Defects     []mail.Defect `json:"defects,omitempty"`
}

func cmdTest(e env, args []string) (int, error) {
	type input struct {
		path     string
		min, max float64
	}
	var (
		inputs   []input
		min, max = 0.0, 1.0
		asJSON   bool
	)
	specs := []flagSpec{probFlag(&min, "min"), probFlag(&max, "max"), boolFlag(&asJSON, "json")}
	if err := parseArgs(args, specs, func(p string) { inputs = append(inputs, input{p, min, max}) }); err != nil {
		return exitError, err
	}
	if len(inputs) == 0 {
		inputs = []input{{"-", min, max}}
	}
	f, err := openFilter(e)
	if err != nil {
		return exitError, err
	}

	var paths []string
	for _, in := range inputs {
		paths = append(paths, in.path)
	}
	e, flush := e.bulk()
	bar := progress.New(e.stderr, "test", inputSize(paths))
	defer bar.Done()
	failed := 0
	enc := json.NewEncoder(e.stdout)
	enc.SetEscapeHTML(false)
	err = forEach(paths, e.stdin, bar, func(m mailbox.Message) (filter.Verdict, error) {
		return f.Classify(m.Raw)
	}, func(m mailbox.Message, v filter.Verdict, err error) error {
		if err != nil {
			var me *mailbox.MessageError
			if !errors.As(err, &me) {
				return err
			}
			failed++
			// The records before it go out first, so that the error shows
			// among them when both streams go to one place.
			if err := flush(); err != nil {
				return err
			}
			fmt.Fprintf(e.stderr, "mailsift: %v\n", err)
			return nil
		}
		if in := inputs[m.Input]; v.Score < in.min || v.Score > in.max {
			return nil
		}
		if asJSON {
			return enc.Encode(testRecord{
				File: m.Origin, Score: v.Score, Verdict: v.Verdict, Words: v.Words, From: v.From,
				Subject: v.Subject, Attachments: v.Attachments, Reason: v.Reason, Defects: v.Defects,
			})
		}
		return writeBlock(e, m.Origin, v)
	})
	if ferr := flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return exitError, err
	}
	if failed > 0 {
		return exitPartial, nil
	}
	return exitOK, nil
}

// writeBlock prints SpamOracle's summary block for one message.
func writeBlock(e env, origin string, v filter.Verdict) error {
	var sb strings.Builder
	sb.WriteString(strings.Repeat("-", 50) + "\n")
	sb.WriteString("From: " + v.From + "\n")
	sb.WriteString("Subject: " + v.Subject + "\n")
	fmt.Fprintf(&sb, "Score: %.2f -- %d\n", v.Score, len(v.Words))
	sb.WriteString("Details: " + bayes.Explain(v.Words) + "\n")
	if e.cfg.SummarizeAttachments && v.Attachments != "" {
		sb.WriteString("Attachments: " + v.Attachments + "\n")
	}
	sb.WriteString("File: " + origin + "\n")
	_, err := fmt.Fprint(e.stdout, sb.String())
	return err
}

// statsRecord is one line of stats --json.
type statsRecord struct {
	File    string `json:"file"`
	Total   int    `json:"total"`
	Good    int    `json:"good"`
	Unknown int    `json:"unknown"`
	Spam    int    `json:"spam"`
	Errors  int    `json:"errors,omitempty"`
}

func cmdStats(e env, args []string) (int, error) {
	var paths []string
	var asJSON bool
	if err := parseArgs(args, []flagSpec{boolFlag(&asJSON, "json")}, func(p string) { paths = append(paths, p) }); err != nil {
		return exitError, err
	}
	if len(paths) == 0 {
		return databaseStats(e, asJSON)
	}
	f, err := openFilter(e)
	if err != nil {
		return exitError, err
	}
	bar := progress.New(e.stderr, "stats", inputSize(paths))
	recs := make([]statsRecord, len(paths))
	for i, p := range paths {
		recs[i].File = p
	}
	err = forEach(paths, e.stdin, bar, func(m mailbox.Message) (bayes.Verdict, error) {
		v, err := f.Classify(m.Raw)
		return v.Verdict, err
	}, func(m mailbox.Message, v bayes.Verdict, err error) error {
		r := &recs[m.Input]
		if err != nil {
			var me *mailbox.MessageError
			if !errors.As(err, &me) {
				return err
			}
			r.Errors++
			return nil
		}
		r.Total++
		switch v {
		case bayes.Ham:
			r.Good++
		case bayes.Spam:
			r.Spam++
		default:
			r.Unknown++
		}
		return nil
	})
	bar.Done()
	if err != nil {
		return exitError, err
	}
	failed := 0
	enc := json.NewEncoder(e.stdout)
	for _, r := range recs {
		failed += r.Errors
		if asJSON {
			if err := enc.Encode(r); err != nil {
				return exitError, err
			}
			continue
		}
		if r.Total == 0 {
			continue
		}
		pct := func(n int) float64 { return 100 * float64(n) / float64(r.Total) }
		if _, err := fmt.Fprintf(e.stdout, "%s: %d (%.2f%%) good, %d (%.2f%%) unknown, %d (%.2f%%) spam\n",
			r.File, r.Good, pct(r.Good), r.Unknown, pct(r.Unknown), r.Spam, pct(r.Spam)); err != nil {
			return exitError, err
		}
	}
	if failed > 0 {
		fmt.Fprintf(e.stderr, "mailsift: %d messages could not be read\n", failed)
		return exitPartial, nil
	}
	return exitOK, nil
}

// dbRecord is stats --json without files.
type dbRecord struct {
	Database   string `json:"database"`
	Classifier string `json:"classifier"`
	Good       uint32 `json:"good_mails"`
	Spam       uint32 `json:"spam_mails"`
	Words      int    `json:"words"`
	// What the default classifier learned: a restored SpamOracle backup
	// holds words only.
	DefaultGood uint32 `json:"default_good_mails"`
	DefaultSpam uint32 `json:"default_spam_mails"`
	Features    int    `json:"features"`
	MinTrained  uint32 `json:"min_trained"`
	Ledger      int    `json:"ledger"`
	FileSize    int64  `json:"file_size"`
	Generation  uint64 `json:"generation"`
}

func databaseStats(e env, asJSON bool) (int, error) {
	db, err := tokendb.Open(e.db, tokendb.Options{ReadOnly: true, Timeout: e.cfg.LockTimeout})
	if err != nil {
		return exitError, err
	}
	s, err := db.Stats()
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return exitError, err
	}
	r := dbRecord{Database: e.db, Classifier: classifierName(e), Good: s.Totals.Good, Spam: s.Totals.Spam,
		Words: s.Words, DefaultGood: s.FeatureTotals.Good, DefaultSpam: s.FeatureTotals.Spam, Features: s.Features,
		MinTrained: e.cfg.MinTrained, Ledger: s.Ledger, FileSize: s.FileSize, Generation: s.Generation}
	if asJSON {
		return exitOK, json.NewEncoder(e.stdout).Encode(r)
	}
	_, err = fmt.Fprintf(e.stdout, "database %s\nclassifier %s\n"+
		"spamoracle: good mails %d, spam mails %d, words %d\n"+
		"default: good mails %d, spam mails %d, features %d (a verdict needs %d of each class)\n"+
		"ledger entries %d\nfile size %d bytes\n",
		r.Database, r.Classifier, r.Good, r.Spam, r.Words, r.DefaultGood, r.DefaultSpam, r.Features, r.MinTrained, r.Ledger, r.FileSize)
	return exitOK, err
}

func classifierName(e env) string {
	if e.cfg.Classifier != filter.SpamOracle {
		return "default (robinson-fisher and logistic regression)"
	}
	if e.cfg.UseChiSquare {
		return "spamoracle (chi-square)"
	}
	return "spamoracle (graham)"
}
