package milter

import (
	"context"
	"errors"

	"github.com/mailsift/mailsift/internal/bayes"
	"github.com/mailsift/mailsift/internal/filter"
)

// Classes of a Verdict, as the spam header writes them.
const (
	Spam    = string(bayes.Spam)    // "yes"
	Ham     = string(bayes.Ham)     // "no"
	Unknown = string(bayes.Unknown) // "unknown"
)

// Verdict is what the milter acts on for one message.
type Verdict struct {
	// SpamHeader is the value of the spam header, e.g. "yes; 0.99;
	// word:99 ..." (filter.SpamHeader); "" writes "<class>; <score>; ".
	SpamHeader string
	// Class is Spam, Ham or Unknown; anything else counts as Unknown.
	// Unknown never triggers an action.
	Class string
	// Score is the spam probability, 0 to 1.
	Score float64
	// Attachments is the attachment summary; "" adds no header.
	Attachments string
	// PhishingChecked tells that the scanner looked for phishing, so that
	// Phishing and PhishingWeight mean something.
	PhishingChecked bool
	Phishing        bool
	PhishingWeight  float64
}

// Scanner gives the verdict on one raw message. Scan may block; the server
// gives up on it when ctx is done (the per-message timeout) whether or not
// Scan returns, and it recovers a panic in it. A Scanner is called from
// many goroutines at once. raw is the message's header as received, the
// empty line, and at most max_bytes of its body; Scan must not keep it.
type Scanner interface {
	Scan(ctx context.Context, raw []byte) (Verdict, error)
}

// Classifier is what FilterScanner needs: *filter.Filter for a fixed token
// database, *filter.Live for a service that follows training.
type Classifier interface {
	Classify(raw []byte) (filter.Verdict, error)
}

var (
	_ Classifier = (*filter.Filter)(nil)
	_ Classifier = (*filter.Live)(nil)
	_ Scanner    = FilterScanner{}
)

// FilterScanner is the Scanner over the Bayesian filter alone: no
// phishing verdict. Classification does not watch ctx; the server's
// timeout covers it.
type FilterScanner struct{ Filter Classifier }

// Scan classifies raw.
func (s FilterScanner) Scan(ctx context.Context, raw []byte) (Verdict, error) {
	if s.Filter == nil {
		return Verdict{}, errors.New("milter: no filter")
	}
	if err := ctx.Err(); err != nil {
		return Verdict{}, err
	}
	v, err := s.Filter.Classify(raw)
	if err != nil {
		return Verdict{}, err // "filter: ...", as mark writes it
	}
	return Verdict{
		SpamHeader:  filter.SpamHeader(v.Result, nil),
		Class:       string(v.Verdict),
		Score:       v.Score,
		Attachments: v.Attachments,
	}, nil
}
