package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/mailsift/mailsift/internal/filter"
	"github.com/mailsift/mailsift/internal/mail"
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

func cmdTrain(e env, args []string) (int, error) {
	var (
		groups []inputGroup
		class  tokendb.Class
		quiet  bool
	)
	specs := []flagSpec{
		{names: []string{"ham", "good", "h"}, set: func(string) error { class = tokendb.Ham; return nil }},
		{names: []string{"spam", "s"}, set: func(string) error { class = tokendb.Spam; return nil }},
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
	return learn(e, groups, quiet, false)
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
	return learn(e, []inputGroup{{paths: paths}}, quiet, true)
}

// learn tokenizes the groups' messages on all cores and applies them to the
// database in as few transactions as possible.
func learn(e env, groups []inputGroup, quiet, forget bool) (int, error) {
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
		r, err := applyBatch(e, batch, forget)
		if err != nil {
			return err
		}
		total.Learned += r.Learned
		total.Moved += r.Moved
		total.Skipped += r.Skipped
		total.Unlearned += r.Unlearned
		batch, pending = tokendb.Batch{}, 0
		return nil
	}

	var paths []string
	for _, g := range groups {
		paths = append(paths, g.paths...)
	}
	bar := progress.New(e.stderr, verbOf(forget), inputSize(paths))
	for _, g := range groups {
		err := forEach(g.paths, e.stdin, bar, func(m mailbox.Message) (tokendb.Doc, error) {
			words, _ := tok.Message(mail.Parse(m.Raw))
			return tokendb.NewDoc(filter.Hash(m.Raw, e.cfg.SpamHeader, e.cfg.AttachmentsHeader), words), nil
		}, func(m mailbox.Message, d tokendb.Doc, err error) error {
			if err != nil {
				failed++
				bar.Done()
				fmt.Fprintf(e.stderr, "mailsift: %v\n", err)
				return nil
			}
			// Untrain's group has no class: it goes with the spam, and
			// applyBatch untrains both lists alike.
			if g.class == tokendb.Ham {
				batch.Ham = append(batch.Ham, d)
			} else {
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
		}
	}
	if failed > 0 {
		fmt.Fprintf(e.stderr, "mailsift: %d messages could not be read\n", failed)
		return exitPartial, nil
	}
	return exitOK, nil
}

func verbOf(forget bool) string {
	if forget {
		return "untrain"
	}
	return "train"
}

func applyBatch(e env, b tokendb.Batch, forget bool) (tokendb.Result, error) {
	db, err := tokendb.Open(e.db, tokendb.Options{Create: !forget, Timeout: e.cfg.LockTimeout})
	if err != nil {
		return tokendb.Result{}, err
	}
	var r tokendb.Result
	if forget {
		r, err = db.Untrain(append(b.Ham, b.Spam...))
	} else {
		r, err = db.Apply(b)
	}
	return r, errors.Join(err, db.Close())
}
