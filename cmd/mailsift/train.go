package main

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/mailsift/mailsift/internal/bayes"
	"github.com/mailsift/mailsift/internal/filter"
	"github.com/mailsift/mailsift/internal/mailbox"
	"github.com/mailsift/mailsift/internal/progress"
	"github.com/mailsift/mailsift/internal/tokendb"
)

// trainBatch is how many messages are applied in one database transaction
// (about 6 kB of memory each until then). A training run up to this size is
// all or nothing; a longer one commits in steps, and running it again
// completes it, because the ledger skips what was already learned.
const trainBatch = 20000

// inputGroup is a run of files given after the same --ham or --spam.
type inputGroup struct {
	class tokendb.Class
	paths []string
}

// trainMode is how train picks what to learn.
type trainMode struct {
	onError bool    // learn only what the database gets wrong or is unsure of
	passes  int     // then teach the regression again what it still gets wrong, up to this many times
	thick   float64 // "wrong" includes scores within thick of 0.5
}

func cmdTrain(e env, args []string) (int, error) {
	var (
		groups []inputGroup
		class  tokendb.Class
		quiet  bool
		mode   trainMode
	)
	specs := []flagSpec{
		{names: []string{"ham", "good", "h"}, set: func(string) error { class = tokendb.Ham; return nil }},
		{names: []string{"spam", "s"}, set: func(string) error { class = tokendb.Spam; return nil }},
		boolFlag(&mode.onError, "on-error"),
		{names: []string{"until-no-error"}, hasValue: true, set: func(v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 100 {
				return usagef("%q: --until-no-error takes the most passes, 1 to 100", v)
			}
			mode.passes = n
			return nil
		}},
		{names: []string{"thick"}, hasValue: true, set: func(v string) error {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 || f >= 0.5 {
				return usagef("%q: the thick threshold is at least 0 and below 0.5", v)
			}
			mode.thick = f
			return nil
		}},
		boolFlag(&quiet, "quiet", "q"),
		{names: []string{"v", "verbose"}, set: func(string) error { quiet = false; return nil }},
	}
	var noClass bool
	err := parseArgs(args, specs, func(p string) {
		if class == 0 {
			noClass = true
			return
		}
		if n := len(groups); n > 0 && groups[n-1].class == class {
			groups[n-1].paths = append(groups[n-1].paths, p)
			return
		}
		groups = append(groups, inputGroup{class: class, paths: []string{p}})
	})
	if err != nil {
		return exitError, err
	}
	if noClass {
		return exitError, usagef("say --ham or --spam before the files")
	}
	if len(groups) == 0 {
		if class == 0 {
			return exitError, usagef("say --ham or --spam, then the files (or - for stdin)")
		}
		groups = []inputGroup{{class: class, paths: []string{"-"}}}
	}
	return learn(e, groups, quiet, false, mode)
}

func cmdUntrain(e env, args []string) (int, error) {
	var paths []string
	var quiet bool
	if err := parseArgs(args, []flagSpec{boolFlag(&quiet, "quiet", "q")}, func(p string) { paths = append(paths, p) }); err != nil {
		return exitError, err
	}
	if len(paths) == 0 {
		paths = []string{"-"}
	}
	return learn(e, []inputGroup{{paths: paths}}, quiet, true, trainMode{})
}

// learn tokenizes the groups' messages on all cores and applies them to the
// database in as few transactions as possible.
func learn(e env, groups []inputGroup, quiet, forget bool, mode trainMode) (int, error) {
	start := time.Now()
	tok := e.cfg.Tokenize()
	var (
		batch   tokendb.Batch
		total   tokendb.Result
		failed  int
		pending int
	)
	flush := func() error {
		if pending == 0 {
			return nil
		}
		r, err := applyBatch(e, batch, forget, mode)
		if err != nil {
			return err
		}
		total.Learned += r.Learned
		total.Moved += r.Moved
		total.Skipped += r.Skipped
		total.Unlearned += r.Unlearned
		total.Reinforced += r.Reinforced
		batch, pending = tokendb.Batch{}, 0
		return nil
	}

	var paths []string
	for _, g := range groups {
		paths = append(paths, g.paths...)
	}
	var ledger map[[32]byte]tokendb.Class
	if !forget && !mode.onError && !slices.Equal(paths, []string{"-"}) {
		ledger = knownMessages(e)
	}
	bar := progress.New(e.stderr, verbOf(forget), inputSize(paths))
	for _, g := range groups {
		err := forEach(g.paths, e.stdin, bar, func(m mailbox.Message) (tokendb.Doc, error) {
			return filter.TrainingDoc(m.Raw, tok, e.cfg.SpamHeader, e.cfg.AttachmentsHeader), nil
		}, func(m mailbox.Message, d tokendb.Doc, err error) error {
			if err != nil {
				failed++
				bar.Done()
				fmt.Fprintf(e.stderr, "mailsift: %v\n", err)
				return nil
			}
			// Untrain's group has no class: it goes with the spam, and
			// applyBatch untrains both lists alike. Training counts each
			// new message as it comes, on this goroutine, while the workers
			// tokenize the next ones.
			switch {
			case ledger != nil:
				batch.Add(g.class, d, ledger[d.Hash] == g.class)
				ledger[d.Hash] = g.class
			case g.class == tokendb.Ham:
				batch.Ham = append(batch.Ham, d)
			default:
				batch.Spam = append(batch.Spam, d)
			}
			if pending++; pending >= trainBatch {
				return flush()
			}
			return nil
		})
		if err != nil {
			bar.Done()
			return exitError, err
		}
	}
	if err := flush(); err != nil {
		bar.Done()
		return exitError, err
	}
	bar.Done()
	if !quiet {
		n := total.Learned + total.Moved + total.Skipped + total.Unlearned
		secs := time.Since(start).Seconds()
		if forget {
			fmt.Fprintf(e.stderr, "untrained %d of %d messages in %.2fs\n", total.Unlearned, n, secs)
		} else {
			fmt.Fprintf(e.stderr, "trained %d messages (%d new, %d moved to the other class, %d already known) in %.2fs, %.0f/s\n",
				n, total.Learned, total.Moved, total.Skipped, secs, float64(n)/secs)
			if mode.passes > 0 {
				fmt.Fprintf(e.stderr, "the regression learned %d of them again until it had no error\n", total.Reinforced)
			}
		}
	}
	if failed > 0 {
		fmt.Fprintf(e.stderr, "mailsift: %d messages could not be read\n", failed)
		return exitPartial, nil
	}
	return exitOK, nil
}

// knownMessages returns the ledger of the database as it is before the
// run, from a read-only open that holds no lock past this call: the
// messages it knows as the class they are given now are not counted ahead
// (tokendb.Batch.Add). A database that cannot be read at once gives an
// empty ledger: the write transaction reads the ledger again and has the
// last word, and reports a database it cannot open.
func knownMessages(e env) map[[32]byte]tokendb.Class {
	db, err := tokendb.Open(e.db, tokendb.Options{ReadOnly: true, Timeout: time.Millisecond})
	if err != nil {
		return map[[32]byte]tokendb.Class{}
	}
	known, err := db.Ledger()
	if cerr := db.Close(); err != nil || cerr != nil {
		return map[[32]byte]tokendb.Class{}
	}
	return known
}

func verbOf(forget bool) string {
	if forget {
		return "untrain"
	}
	return "train"
}

func applyBatch(e env, b tokendb.Batch, forget bool, mode trainMode) (res tokendb.Result, err error) {
	db, err := tokendb.Open(e.db, tokendb.Options{Create: !forget, Timeout: e.cfg.LockTimeout})
	if err != nil {
		return tokendb.Result{}, err
	}
	defer func() { err = errors.Join(err, db.Close()) }()
	if forget {
		return db.Untrain(append(b.Ham, b.Spam...))
	}
	given := len(b.Ham) + len(b.Spam)
	if mode.onError {
		if b, err = mistakes(e, db, b, mode.thick); err != nil {
			return res, err
		}
	}
	if res, err = db.Apply(b); err != nil {
		return res, err
	}
	res.Skipped += given - len(b.Ham) - len(b.Spam)
	for range mode.passes {
		wrong, err := mistakes(e, db, b, mode.thick)
		if err != nil {
			return res, err
		}
		if len(wrong.Ham)+len(wrong.Spam) == 0 {
			break
		}
		wrong.Reinforce = true
		r, err := db.Apply(wrong)
		if err != nil {
			return res, err
		}
		res.Reinforced += r.Reinforced
	}
	return res, nil
}

// mistakes returns the messages of b that the default classifier, as the
// database stands, scores on the wrong side of 0.5 or within thick of it.
func mistakes(e env, db *tokendb.DB, b tokendb.Batch, thick float64) (tokendb.Batch, error) {
	f := newFilter(e, db)
	var wrong tokendb.Batch
	for _, side := range []struct {
		docs []tokendb.Doc
		spam bool
		into *[]tokendb.Doc
	}{{b.Ham, false, &wrong.Ham}, {b.Spam, true, &wrong.Spam}} {
		for _, d := range side.docs {
			r, err := f.ScoreFeatures(d.Features, d.Hashed)
			if err != nil {
				return tokendb.Batch{}, err
			}
			if r.Verdict == bayes.Unknown || wrongSide(r.Score, side.spam, thick) {
				*side.into = append(*side.into, d)
			}
		}
	}
	return wrong, nil
}
