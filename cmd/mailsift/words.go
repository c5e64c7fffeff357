package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"

	"github.com/mailsift/mailsift/internal/bayes"
	"github.com/mailsift/mailsift/internal/mail"
	"github.com/mailsift/mailsift/internal/mailbox"
	"github.com/mailsift/mailsift/internal/tokendb"
)

// cmdWords prints the tokens of each message, wrapped near 78 columns.
func cmdWords(e env, args []string) (int, error) {
	var paths []string
	if err := parseArgs(args, nil, func(p string) { paths = append(paths, p) }); err != nil {
		return exitError, err
	}
	multi := len(paths) > 0
	if !multi {
		paths = []string{"-"}
	}
	tok := e.cfg.Tokenize()
	failed, err := eachMessage(e, paths, func(m mailbox.Message) error {
		words, _ := tok.Message(mail.Parse(m.Raw))
		var sb strings.Builder
		if multi {
			sb.WriteString(strings.Repeat("-", 40) + "\n")
		}
		col := 0
		for _, w := range words {
			if col > 0 && col+len(w)+1 > 78 {
				sb.WriteByte('\n')
				col = 0
			}
			if col > 0 {
				sb.WriteByte(' ')
				col++
			}
			sb.WriteString(w)
			col += len(w)
		}
		sb.WriteByte('\n')
		_, err := io.WriteString(e.stdout, sb.String())
		return err
	})
	if err != nil {
		return exitError, err
	}
	if failed > 0 {
		return exitPartial, nil
	}
	return exitOK, nil
}

// listRecord is one line of list --json; P is null for a word too rare
// to be scored.
type listRecord struct {
	Word string   `json:"word"`
	P    *float64 `json:"p"`
	Good uint32   `json:"good"`
	Spam uint32   `json:"spam"`
}

// cmdList shows the words matching any of the patterns (whole words, case
// sensitive, Go regexp syntax), most spammy first.
func cmdList(e env, args []string) (int, error) {
	var pats []string
	var asJSON bool
	if err := parseArgs(args, []flagSpec{boolFlag(&asJSON, "json")}, func(p string) { pats = append(pats, p) }); err != nil {
		return exitError, err
	}
	if len(pats) == 0 {
		return exitError, usagef("give one or more patterns, e.g. mailsift list 'click.*'")
	}
	res := make([]*regexp.Regexp, len(pats))
	for i, p := range pats {
		re, err := regexp.Compile(`^(?:` + p + `)$`)
		if err != nil {
			return exitError, usagef("pattern %q: %v", p, err)
		}
		res[i] = re
	}
	db, err := tokendb.Open(e.db, tokendb.Options{ReadOnly: true, Timeout: e.cfg.LockTimeout})
	if err != nil {
		return exitError, err
	}
	defer db.Close()
	totals, err := db.Totals()
	if err != nil {
		return exitError, err
	}
	params := e.cfg.Bayes()
	var rows []listRecord
	err = db.Walk(func(w string, c bayes.Counts) error {
		for _, re := range res {
			if re.MatchString(w) {
				r := listRecord{Word: w, Good: c.Good, Spam: c.Spam}
				if p, ok := params.WordProb(c, totals); ok {
					r.P = &p
				}
				rows = append(rows, r)
				return nil
			}
		}
		return nil
	})
	if err != nil {
		return exitError, err
	}
	sort.SliceStable(rows, func(i, j int) bool { return probOf(rows[i]) > probOf(rows[j]) })
	if asJSON {
		e, flush := e.bulk()
		enc := json.NewEncoder(e.stdout)
		for _, r := range rows {
			if err := enc.Encode(r); err != nil {
				return exitError, errors.Join(err, flush())
			}
		}
		if err := flush(); err != nil {
			return exitError, err
		}
		return exitOK, nil
	}
	if len(rows) == 0 {
		_, err := fmt.Fprintln(e.stdout, "No matching word found in database.")
		return exitOK, err
	}
	var sb strings.Builder
	sb.WriteString("     Word         Proba   #good   #spam\n")
	for _, r := range rows {
		if r.P == nil {
			fmt.Fprintf(&sb, "%-15s    ----%8d%8d\n", r.Word, r.Good, r.Spam)
		} else {
			fmt.Fprintf(&sb, "%-15s%8.2f%8d%8d\n", r.Word, *r.P, r.Good, r.Spam)
		}
	}
	_, err = io.WriteString(e.stdout, sb.String())
	return exitOK, err
}

// probOf orders list rows: scored words by probability, then the rare ones.
func probOf(r listRecord) float64 {
	if r.P == nil {
		return -1
	}
	return *r.P
}

func cmdBackup(e env, args []string) (int, error) {
	if len(args) > 0 {
		return exitError, usagef("backup takes no arguments; it writes to stdout")
	}
	db, err := tokendb.Open(e.db, tokendb.Options{ReadOnly: true, Timeout: e.cfg.LockTimeout})
	if err != nil {
		return exitError, err
	}
	err = db.Backup(e.stdout)
	return exitOK, errors.Join(err, db.Close())
}

func cmdRestore(e env, args []string) (int, error) {
	if len(args) > 0 {
		return exitError, usagef("restore takes no arguments; it reads stdin")
	}
	db, err := tokendb.Open(e.db, tokendb.Options{Create: true, Timeout: e.cfg.LockTimeout})
	if err != nil {
		return exitError, err
	}
	n, err := db.Restore(e.stdin)
	if err = errors.Join(err, db.Close()); err != nil {
		return exitError, err
	}
	fmt.Fprintf(e.stderr, "restored %d words into %s\n", n, e.db)
	return exitOK, nil
}
