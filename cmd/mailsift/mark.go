package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/mailsift/mailsift/internal/bayes"
	"github.com/mailsift/mailsift/internal/filter"
	"github.com/mailsift/mailsift/internal/mailbox"
	"github.com/mailsift/mailsift/internal/tokendb"
)

// exitTempFail (EX_TEMPFAIL) is returned only when the message itself could
// not be read or written back: procmail and maildrop then keep their copy.
const exitTempFail = 75

// markDeadline bounds the time spent classifying one message on top of the
// database lock timeout; past it the mail goes through marked unknown.
const markDeadline = 20 * time.Second

// cmdMark copies one message from stdin to stdout, or every message of the
// files as an mbox, with the verdict headers added. It never loses mail:
// whatever goes wrong, the message is written back unchanged but for the
// added headers, which then say unknown and why, and the status is 0.
func cmdMark(e env, args []string) (int, error) {
	var paths []string
	if err := parseArgs(args, nil, func(p string) { paths = append(paths, p) }); err != nil {
		return markFailed(e, nil, err), nil
	}
	var store filter.Store
	db, dbErr := tokendb.Open(e.db, tokendb.Options{ReadOnly: true, Timeout: e.cfg.LockTimeout})
	if dbErr == nil {
		defer db.Close()
		store = db
	}
	mark := func(raw []byte) []byte {
		var v filter.Verdict
		err := dbErr
		if err == nil {
			v, err = classifyWithin(newFilter(e, store), raw, e.cfg.LockTimeout+markDeadline)
		}
		if err != nil {
			fmt.Fprintf(e.stderr, "mailsift mark: %v\n", err)
		}
		return filter.Mark(raw, markFields(e, v, err))
	}
	if len(paths) == 0 {
		raw, err := io.ReadAll(e.stdin)
		if _, werr := e.stdout.Write(mark(raw)); werr != nil {
			fmt.Fprintf(e.stderr, "mailsift mark: write: %v\n", werr)
			return exitTempFail, nil
		}
		if err != nil {
			fmt.Fprintf(e.stderr, "mailsift mark: read: %v\n", err)
			return exitTempFail, nil
		}
		return exitOK, nil
	}
	return markMailboxes(e, paths, mark)
}

// markFields are the header lines mark adds.
func markFields(e env, v filter.Verdict, err error) []filter.Field {
	fields := []filter.Field{{Name: e.cfg.SpamHeader, Value: filter.SpamHeader(v.Result, err)}}
	if e.cfg.SummarizeAttachments && v.Attachments != "" {
		fields = append(fields, filter.Field{Name: e.cfg.AttachmentsHeader, Value: v.Attachments})
	}
	return fields
}

// markFailed passes stdin through marked unknown when mark cannot even
// start (a broken configuration or command line).
func markFailed(e env, args []string, cause error) int {
	fmt.Fprintf(e.stderr, "mailsift mark: %v\n", cause)
	raw, err := io.ReadAll(e.stdin)
	fields := []filter.Field{{Name: e.cfg.SpamHeader, Value: filter.SpamHeader(bayes.Result{}, cause)}}
	if _, werr := e.stdout.Write(filter.Mark(raw, fields)); werr != nil || err != nil {
		return exitTempFail
	}
	return exitOK
}

// classifyWithin classifies raw, giving up after d and turning a panic into
// an error, so that a bad message or a stuck database cannot hold the mail.
func classifyWithin(f *filter.Filter, raw []byte, d time.Duration) (filter.Verdict, error) {
	type result struct {
		v   filter.Verdict
		err error
	}
	done := make(chan result, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- result{err: fmt.Errorf("internal error: %v", r)}
			}
		}()
		v, err := f.Classify(raw)
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-time.After(d):
		return filter.Verdict{}, errors.New("classification timed out")
	}
}

// markMailboxes writes every message of the files, marked, as one mbox
// (mboxrd: "From " lines in bodies are escaped with '>').
func markMailboxes(e env, paths []string, mark func([]byte) []byte) (int, error) {
	failed, err := eachMessage(e, paths, func(m mailbox.Message) error {
		env := m.Envelope
		if env == "" {
			env = "MAILER-DAEMON " + time.Now().UTC().Format("Mon Jan _2 15:04:05 2006")
		}
		var out bytes.Buffer
		out.WriteString("From " + env + "\n")
		out.Write(escapeFrom(mark(m.Raw)))
		if !bytes.HasSuffix(m.Raw, []byte("\n")) {
			out.WriteByte('\n')
		}
		out.WriteByte('\n')
		if _, err := e.stdout.Write(out.Bytes()); err != nil {
			return fmt.Errorf("mark: write: %w", err)
		}
		return nil
	})
	if err != nil {
		return exitError, err
	}
	if failed > 0 {
		return exitPartial, nil
	}
	return exitOK, nil
}

// escapeFrom adds a '>' to every line that starts with ">*From ".
func escapeFrom(b []byte) []byte {
	var out bytes.Buffer
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line = b[:i+1]
		}
		b = b[len(line):]
		if bytes.HasPrefix(bytes.TrimLeft(line, ">"), []byte("From ")) {
			out.WriteByte('>')
		}
		out.Write(line)
	}
	return out.Bytes()
}
