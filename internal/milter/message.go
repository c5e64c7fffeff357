package milter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/textproto"
	"runtime/debug"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/d--j/go-milter/mailfilter"
	"github.com/d--j/go-milter/mailfilter/header"

	"github.com/mailsift/mailsift/internal/bayes"
	"github.com/mailsift/mailsift/internal/filter"
)

// Action is what the milter did with a message.
type Action string

// The actions, mildest first.
const (
	Accept     Action = "accept"     // headers added, nothing else
	Tag        Action = "tag"        // and the Subject prefixed
	Quarantine Action = "quarantine" // accepted into the hold queue
	Reject     Action = "reject"     // refused with 550 5.7.1
)

// Outcome is the record of one message, for metrics and logs.
type Outcome struct {
	Action  Action
	Verdict Verdict
	// Err is why the verdict is unknown: the scanner's error, or one that
	// wraps ErrTimeout or ErrPanic. The message was accepted.
	Err error
	// Truncated tells that the body was longer than max_bytes and only its
	// start was scanned.
	Truncated bool
	QueueID   string
	// Duration is the time from the end of data to the decision.
	Duration time.Duration
}

var (
	// ErrTimeout is wrapped by Outcome.Err when the scanner took longer
	// than the timeout.
	ErrTimeout = errors.New("scan timed out")
	// ErrPanic is wrapped by Outcome.Err when the scanner panicked.
	ErrPanic = errors.New("internal error")
)

// decide is the mailfilter callback, run once per message at the end of
// data. Whatever goes wrong, the message is accepted.
func (s *Server) decide(ctx context.Context, trx mailfilter.Trx) (d mailfilter.Decision, err error) {
	start := time.Now()
	cfg := s.cfg.Load()
	out := Outcome{Action: Accept, QueueID: trx.QueueId()}
	defer func() {
		// A bug here must not cost the message: what changes were made
		// to the header are sent, and the message accepted.
		if p := recover(); p != nil {
			s.log.Error("milter: internal error, message accepted", "queue_id", out.QueueID, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			d, err = mailfilter.Accept, nil
		}
	}()

	raw, truncated, err := message(trx, cfg.MaxBytes)
	if err != nil {
		s.log.Warn("milter: body cut short, scanning what was read", "queue_id", out.QueueID, "error", err)
	}
	out.Truncated = truncated
	v, scanErr := s.scan(ctx, cfg.Timeout, raw)
	if scanErr != nil {
		v = Verdict{SpamHeader: filter.SpamHeader(bayes.Result{}, scanErr), Class: Unknown, Score: 0.5}
	}
	out.Verdict, out.Err = v, scanErr
	if scanErr != nil {
		attrs := []any{"queue_id", out.QueueID, "error", scanErr}
		var pe *panicError
		if errors.As(scanErr, &pe) {
			attrs = append(attrs, "stack", pe.stack)
		}
		s.log.Warn("milter: scan failed, message accepted and marked unknown", attrs...)
	}

	h := trx.Headers()
	mark(h, cfg, v, scanErr)
	switch out.Action = action(cfg, v, scanErr); out.Action {
	case Reject:
		d = mailfilter.CustomErrorResponse(550, rejectCode+cfg.RejectMessage)
	case Quarantine:
		d = mailfilter.QuarantineResponse(quarantineReason(cfg, v))
	case Tag:
		tagSubject(h, cfg.TagPrefix)
		d = mailfilter.Accept
	default:
		d = mailfilter.Accept
	}
	out.Duration = time.Since(start)
	s.report(out)
	return d, nil
}

// message rebuilds the raw message as the MTA received it: the header
// fields (folded lines with CRLF), an empty line, and the body up to max
// bytes. truncated tells that the body went on. An error (reading a body
// that mailfilter kept in a temporary file) comes with what was read.
func message(trx mailfilter.Trx, max int64) (raw []byte, truncated bool, err error) {
	var buf bytes.Buffer
	hdr, err := io.ReadAll(trx.Headers().Reader())
	if err != nil {
		return nil, false, fmt.Errorf("header: %w", err)
	}
	buf.Write(crlf(hdr))
	if body := trx.Body(); body != nil {
		n, err := io.Copy(&buf, io.LimitReader(body, max+1))
		if n > max {
			truncated = true
			buf.Truncate(buf.Len() - int(n-max))
		}
		if err != nil {
			return buf.Bytes(), truncated, fmt.Errorf("body: %w", err)
		}
	}
	return buf.Bytes(), truncated, nil
}

// crlf turns the bare LFs that an MTA may use inside folded header fields
// into CRLF, the line ending of the rest of the message.
func crlf(b []byte) []byte {
	if !bytes.Contains(b, []byte("\n")) {
		return b
	}
	out := make([]byte, 0, len(b)+16)
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, c)
	}
	return out
}

// scan runs the scanner within the timeout, in a goroutine of its own so
// that a scanner that ignores ctx cannot hold the message: past the
// deadline the goroutine is left to finish on its own.
func (s *Server) scan(ctx context.Context, timeout time.Duration, raw []byte) (Verdict, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	type result struct {
		v   Verdict
		err error
	}
	done := make(chan result, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- result{err: &panicError{value: p, stack: string(debug.Stack())}}
			}
		}()
		v, err := s.scanner.Scan(ctx, raw)
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return Verdict{}, r.err
		}
		return sane(r.v), nil
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return Verdict{}, fmt.Errorf("%w after %s", ErrTimeout, timeout)
		}
		return Verdict{}, fmt.Errorf("scan: %w", ctx.Err())
	}
}

// panicError is a recovered panic of the scanner; it matches ErrPanic.
type panicError struct {
	value any
	stack string
}

func (e *panicError) Error() string        { return fmt.Sprintf("%v: %v", ErrPanic, e.value) }
func (e *panicError) Is(target error) bool { return target == ErrPanic }

// sane makes a scanner's verdict safe to act on.
func sane(v Verdict) Verdict {
	if v.Class != Spam && v.Class != Ham {
		v.Class = Unknown
	}
	if math.IsNaN(v.Score) {
		v.Score, v.Class = 0.5, Unknown
	}
	v.Score = min(max(v.Score, 0), 1)
	if v.SpamHeader == "" {
		v.SpamHeader = fmt.Sprintf("%s; %.2f; ", v.Class, v.Score)
	}
	return v
}

// mark removes the fields a sender could forge and adds the verdict's.
func mark(h header.Header, cfg *Config, v Verdict, scanErr error) {
	drop := map[string]bool{textproto.CanonicalMIMEHeaderKey(cfg.SpamHeader): true}
	if cfg.AttachmentsHeader != "" {
		drop[textproto.CanonicalMIMEHeaderKey(cfg.AttachmentsHeader)] = true
	}
	resultsKey := textproto.CanonicalMIMEHeaderKey(resultsHeader)
	for f := h.Fields(); f.Next(); {
		if f.IsDeleted() {
			continue
		}
		if drop[f.CanonicalKey()] || f.CanonicalKey() == resultsKey && ourResults(f.UnfoldedValue(), cfg.AuthservID) {
			f.Del()
		}
	}
	h.Add(cfg.SpamHeader, fieldValue(cfg.SpamHeader, v.SpamHeader))
	if cfg.AttachmentsHeader != "" && v.Attachments != "" {
		h.Add(cfg.AttachmentsHeader, fieldValue(cfg.AttachmentsHeader, v.Attachments))
	}
	if cfg.ResultsHeader {
		ar := results(cfg.AuthservID, v, scanErr)
		if f := h.Fields(); f.Next() {
			f.InsertBefore(resultsHeader, ar)
		} else {
			h.Add(resultsHeader, ar)
		}
	}
}

// results formats the Authentication-Results value (RFC 8601):
//
//	<authserv-id>; x-mailsift=<spam|ham|unknown> policy.score=<0.000>
//	    [policy.phishing=<fail|pass> policy.phishing-weight=<w>]
//	<authserv-id>; x-mailsift=temperror (<reason>)
//
// for a verdict of class yes, no or unknown, and for a failed scan.
func results(authserv string, v Verdict, scanErr error) string {
	if scanErr != nil {
		reason := "scanner error"
		switch {
		case errors.Is(scanErr, ErrTimeout):
			reason = "timeout"
		case errors.Is(scanErr, ErrPanic):
			reason = "internal error"
		}
		return fmt.Sprintf("%s; x-mailsift=temperror (%s)", authserv, reason)
	}
	result := "unknown"
	switch v.Class {
	case Spam:
		result = "spam"
	case Ham:
		result = "ham"
	}
	s := fmt.Sprintf("%s; x-mailsift=%s policy.score=%.3f", authserv, result, v.Score)
	if v.PhishingChecked {
		phish := "pass"
		if v.Phishing {
			phish = "fail"
		}
		s += fmt.Sprintf(" policy.phishing=%s policy.phishing-weight=%.2f", phish, v.PhishingWeight)
	}
	return s
}

// ourResults tells whether an Authentication-Results value claims to come
// from authserv and carries an x-mailsift result: such a field in
// incoming mail is forged. Fields of other checks under the same
// authserv-id (DKIM, SPF by another milter) are left alone.
func ourResults(value, authserv string) bool {
	v := strings.TrimLeft(value, " \t")
	id := v
	if i := strings.IndexAny(v, "; \t("); i >= 0 {
		id = v[:i]
	}
	return strings.EqualFold(id, authserv) && strings.Contains(strings.ToLower(v), "x-mailsift")
}

// action picks the strongest action whose threshold the verdict reached.
func action(cfg *Config, v Verdict, scanErr error) Action {
	if scanErr != nil {
		return Accept
	}
	known := v.Class == Spam || v.Class == Ham
	reached := func(at float64) bool { return known && at > 0 && v.Score >= at }
	switch {
	case reached(cfg.RejectAt):
		return Reject
	case reached(cfg.QuarantineAt), cfg.QuarantinePhishing && v.PhishingChecked && v.Phishing:
		return Quarantine
	case reached(cfg.TagSubjectAt):
		return Tag
	}
	return Accept
}

func quarantineReason(cfg *Config, v Verdict) string {
	if cfg.QuarantineAt > 0 && v.Score >= cfg.QuarantineAt && v.Class != Unknown {
		return fmt.Sprintf("mailsift: spam score %.2f", v.Score)
	}
	return fmt.Sprintf("mailsift: phishing, weight %.2f", v.PhishingWeight)
}

// tagSubject prefixes the Subject, keeping its encoding: an ASCII prefix
// goes in as it is, any other as an RFC 2047 encoded word. A subject
// that already starts with the prefix keeps it once.
func tagSubject(h header.Header, prefix string) {
	decoded, _ := h.Subject()
	if strings.HasPrefix(strings.TrimLeft(decoded, " \t"), strings.TrimSpace(prefix)) {
		return
	}
	for f := h.Fields(); f.Next(); {
		if f.IsDeleted() || f.CanonicalKey() != "Subject" {
			continue
		}
		old := strings.TrimLeft(f.Value(), " \t")
		f.Set(" " + encodedPrefix(prefix, strings.HasPrefix(old, "=?")) + old)
		return
	}
	subject := strings.TrimRight(prefix, " ")
	if !isASCII(subject) {
		subject = mime.QEncoding.Encode("utf-8", subject)
	}
	h.Add("Subject", subject)
}

// encodedPrefix is prefix as it goes into a raw Subject. Whitespace between
// two encoded words disappears when decoded, so before an encoded word the
// prefix's trailing space goes inside its own encoding.
func encodedPrefix(prefix string, beforeEncoded bool) string {
	if isASCII(prefix) {
		return prefix
	}
	if beforeEncoded {
		return mime.QEncoding.Encode("utf-8", prefix) + " "
	}
	trimmed := strings.TrimRight(prefix, " ")
	return mime.QEncoding.Encode("utf-8", trimmed) + " "
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// fieldValue makes a value safe for a header line: control characters
// become spaces, and the line is cut to RFC 5322's 998 characters (at a
// UTF-8 boundary), as mark does.
func fieldValue(name, v string) string {
	v = strings.Map(noControl, v)
	if room := 998 - len(name) - 2; len(v) > room {
		v = strings.ToValidUTF8(v[:room], "")
	}
	return v
}

// report hands the outcome to the logger and to Observe.
func (s *Server) report(out Outcome) {
	s.log.Debug("milter: message", "queue_id", out.QueueID, "action", string(out.Action), "class", out.Verdict.Class,
		"score", out.Verdict.Score, "truncated", out.Truncated, "duration", out.Duration)
	if s.observe == nil {
		return
	}
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("milter: observer panic", "panic", fmt.Sprint(p))
		}
	}()
	s.observe(out)
}
