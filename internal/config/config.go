// Package config declares mailsift's configuration: every setting with its
// default and its documentation, read from one YAML file, validated once.
//
// Data flows from a file (by default $XDG_CONFIG_HOME/mailsift/config.yml,
// that is ~/.config/mailsift/config.yml) through Load, which starts from
// Default, overlays the keys the file sets, rejects unknown keys and checks
// every value, to the typed views the other packages take: Bayes for the
// classifier, Tokenize for text selection.
//
// The filter's keys carry SpamOracle's names and defaults, so that a
// spamoracle.conf translates line by line (name = value becomes name: value).
// Environment and command-line overrides (MAILSIFT_DB, --db) are applied by
// the command, not here.
package config

//go:generate go run gen_reference.go

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/mailsift/mailsift/internal/analyze"
	"github.com/mailsift/mailsift/internal/bayes"
	"github.com/mailsift/mailsift/internal/filter"
	"github.com/mailsift/mailsift/internal/mailq"
	"github.com/mailsift/mailsift/internal/tokenize"
)

// Config is the whole configuration. Field comments are the reference
// documentation of each key.
type Config struct {
	// Path of the token database. Default: ~/.mailsift/tokens.db.
	DatabaseFile string `yaml:"database_file"`
	// How long a command waits for the database while another process
	// writes it, before giving up (mark then passes the mail through
	// marked unknown).
	LockTimeout time.Duration `yaml:"lock_timeout"`

	// Regexp of the lower-case header names, with their colon, whose values
	// are tokenized. Go regexp syntax; SpamOracle's \| \( \) also work.
	MailHeaders string `yaml:"mail_headers"`
	// Regexp of the "tag/attribute" pairs of HTML parts whose values are
	// tokenized after the text.
	HTMLTagAttributes string `yaml:"html_tag_attributes"`
	// Tokenize the tag names of HTML parts too.
	HTMLRetainTags bool `yaml:"html_retain_tags"`
	// In a multipart/alternative, read only the HTML alternative when
	// there is one.
	AlternativeFavorHTML bool `yaml:"alternative_favor_html"`
	// Join words written with separators between their letters
	// (c.l.i.c.k, f r e e) when the database knows the joined word.
	ReassembleWords bool `yaml:"reassemble_words"`
	// Most bytes of decoded text read from one part.
	MaxTextBytes int `yaml:"max_text_bytes"`

	// The classifier of mark and test: "default" (Robinson-Fisher and
	// logistic regression over header-aware features, fused) or
	// "spamoracle" (SpamOracle's scoring, output as SpamOracle's). train
	// teaches both. $MAILSIFT_CLASSIFIER and --classifier override it.
	Classifier string `yaml:"classifier"`
	// Messages of each class the default classifier must have learned
	// before it says yes or no.
	MinTrained uint32 `yaml:"min_trained"`
	// The default classifier's score at or below which a message is good.
	HamCutoff float64 `yaml:"ham_cutoff"`
	// The default classifier's score at or above which a message is spam.
	SpamCutoff float64 `yaml:"spam_cutoff"`
	// The regression's share of the default classifier's log-odds; the
	// rest is Robinson-Fisher's.
	RegressionWeight float64 `yaml:"regression_weight"`
	// Robinson-Fisher: strength of the prior for rare features (bogofilter's
	// robs).
	FisherS float64 `yaml:"fisher_s"`
	// Robinson-Fisher: the prior probability of an unseen feature (robx).
	FisherX float64 `yaml:"fisher_x"`
	// Robinson-Fisher: features whose probability is within this of 0.5
	// are left out (min_dev).
	FisherMinDev float64 `yaml:"fisher_min_dev"`

	// Header that mark adds with the verdict.
	SpamHeader string `yaml:"spam_header"`
	// Header that mark adds with the attachment summary.
	AttachmentsHeader string `yaml:"attachments_header"`
	// Add the attachment summary (mark) and the Attachments line (test).
	SummarizeAttachments bool `yaml:"summarize_attachments"`

	// Number of words that decide the score.
	NumMeaningfulWords int `yaml:"num_meaningful_words"`
	// Times one word may be among them.
	MaxRepetitions int `yaml:"max_repetitions"`
	// Lowest probability a word can have.
	LowFreqLimit float64 `yaml:"low_freq_limit"`
	// Highest probability a word can have.
	HighFreqLimit float64 `yaml:"high_freq_limit"`
	// Words a message needs for a yes or no verdict.
	MinMeaningfulWords int `yaml:"min_meaningful_words"`
	// Score at or below which a message is good (X-Spam: no).
	GoodMailProb float64 `yaml:"good_mail_prob"`
	// Score at or above which a message is spam (X-Spam: yes).
	SpamMailProb float64 `yaml:"spam_mail_prob"`
	// Strength of Robinson's prior for rarely seen words; 0 is off.
	RobinsonS float64 `yaml:"robinson_s"`
	// Robinson's prior probability for an unseen word.
	RobinsonX float64 `yaml:"robinson_x"`
	// Combine the word probabilities with chi-square instead of Bayes.
	UseChiSquare bool `yaml:"use_chi_square"`

	// The analysis of mail (mailsift analyze, serve and worker).
	Analysis analyze.Config `yaml:"analysis"`

	// The service (mailsift serve): HTTP API, milter, sinks, logs.
	Serve Serve `yaml:"serve"`

	// The mail queue on NATS JetStream (mailsift submit, worker, and
	// serve --nats or --embedded-nats).
	NATS mailq.Config `yaml:"nats"`
}

// Default returns the built-in configuration: SpamOracle's defaults.
func Default() Config {
	p := bayes.DefaultParams()
	f := filter.DefaultFused()
	return Config{
		Classifier:           filter.Default,
		MinTrained:           f.MinTrain,
		HamCutoff:            f.HamCutoff,
		SpamCutoff:           f.SpamCutoff,
		RegressionWeight:     f.Weight,
		FisherS:              f.Fisher.S,
		FisherX:              f.Fisher.X,
		FisherMinDev:         f.Fisher.MinDev,
		DatabaseFile:         defaultDatabase(),
		LockTimeout:          10 * time.Second,
		MailHeaders:          tokenize.DefaultMailHeaders,
		HTMLTagAttributes:    tokenize.DefaultHTMLTagAttributes,
		AlternativeFavorHTML: true,
		MaxTextBytes:         4 << 20,
		SpamHeader:           "X-Spam",
		AttachmentsHeader:    "X-Attachments",
		SummarizeAttachments: true,
		NumMeaningfulWords:   p.NumMeaningfulWords,
		MaxRepetitions:       p.MaxRepetitions,
		LowFreqLimit:         p.LowFreqLimit,
		HighFreqLimit:        p.HighFreqLimit,
		MinMeaningfulWords:   p.MinMeaningfulWords,
		GoodMailProb:         p.GoodMailProb,
		SpamMailProb:         p.SpamMailProb,
		RobinsonS:            p.RobinsonS,
		RobinsonX:            p.RobinsonX,
		UseChiSquare:         p.UseChiSquare,
		Analysis:             analyze.DefaultConfig(),
		Serve:                DefaultServe(),
		NATS:                 mailq.DefaultConfig(),
	}
}

func defaultDatabase() string {
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return filepath.Join(".mailsift", "tokens.db")
	}
	return filepath.Join(home, ".mailsift", "tokens.db")
}

// DefaultPath is where Load looks when no file is named.
func DefaultPath() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "mailsift", "config.yml")
}

// ErrInvalid wraps every validation failure.
var ErrInvalid = errors.New("invalid configuration")

// Load reads the configuration at path. An empty path means DefaultPath,
// where a missing file simply means the defaults; a named file must exist.
func Load(path string) (Config, error) {
	named := path != ""
	if !named {
		path = DefaultPath()
	}
	if path == "" {
		return Default(), nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && !named {
		return Default(), nil
	}
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	c, err := Parse(data)
	if err != nil {
		return Config{}, fmt.Errorf("config: %s: %w", path, err)
	}
	return c, nil
}

// Parse reads a configuration from YAML text over the defaults.
func Parse(data []byte) (Config, error) {
	c := Default()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, fmt.Errorf("%w: %s", ErrInvalid, oneLine(err.Error()))
	}
	c.expandHome()
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// expandHome turns a leading "~/" of the file paths into the home
// directory, as a shell would.
func (c *Config) expandHome() {
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return
	}
	one := func(p *string) {
		if rest, ok := strings.CutPrefix(*p, "~/"); ok {
			*p = filepath.Join(home, rest)
		}
	}
	one(&c.DatabaseFile)
	one(&c.Analysis.Seen.Dir)
	one(&c.Analysis.Enrichers.VirusTotal.APIKeyFile)
	one(&c.Serve.HTTP.TLSCert)
	one(&c.Serve.HTTP.TLSKey)
	one(&c.Serve.HTTP.TokenFile)
	one(&c.NATS.CredsFile)
	one(&c.NATS.Embedded.Dir)
	if rest, ok := strings.CutPrefix(c.Serve.Milter.Listen, "unix:~/"); ok {
		c.Serve.Milter.Listen = "unix:" + filepath.Join(home, rest)
	}
	for _, list := range [][]string{c.Analysis.URLs.Whitelist, c.Analysis.Phishing.Subjects, c.Analysis.Phishing.Targets} {
		for i := range list {
			one(&list[i])
		}
	}
}

func oneLine(s string) string {
	s = strings.TrimPrefix(s, "yaml: ")
	s = strings.ReplaceAll(s, "\n ", ";")
	return strings.ReplaceAll(s, "\n", "; ")
}

// Validate checks every value and reports all problems at once.
func (c Config) Validate() error {
	var probs []string
	bad := func(format string, args ...any) { probs = append(probs, fmt.Sprintf(format, args...)) }
	if c.DatabaseFile == "" {
		bad("database_file is empty")
	}
	if c.LockTimeout < 0 {
		bad("lock_timeout is negative")
	}
	if _, err := tokenize.CompilePattern(c.MailHeaders); err != nil {
		bad("mail_headers: %v", err)
	}
	if _, err := tokenize.CompilePattern(c.HTMLTagAttributes); err != nil {
		bad("html_tag_attributes: %v", err)
	}
	if c.MaxTextBytes < 0 {
		bad("max_text_bytes is negative")
	}
	for key, name := range map[string]string{"spam_header": c.SpamHeader, "attachments_header": c.AttachmentsHeader} {
		if !validHeaderName(name) {
			bad("%s %q is not a header name", key, name)
		}
	}
	if c.NumMeaningfulWords < 1 || c.NumMeaningfulWords > 1000 {
		bad("num_meaningful_words must be 1 to 1000, not %d", c.NumMeaningfulWords)
	}
	if c.MaxRepetitions < 1 {
		bad("max_repetitions must be at least 1, not %d", c.MaxRepetitions)
	}
	if c.MinMeaningfulWords < 0 || c.MinMeaningfulWords > c.NumMeaningfulWords {
		bad("min_meaningful_words must be 0 to num_meaningful_words (%d), not %d: no verdict could be yes or no", c.NumMeaningfulWords, c.MinMeaningfulWords)
	}
	if !(0 < c.LowFreqLimit && c.LowFreqLimit < c.HighFreqLimit && c.HighFreqLimit < 1) {
		bad("need 0 < low_freq_limit < high_freq_limit < 1, have %g and %g", c.LowFreqLimit, c.HighFreqLimit)
	}
	if !(0 <= c.GoodMailProb && c.GoodMailProb < c.SpamMailProb && c.SpamMailProb <= 1) {
		bad("need 0 <= good_mail_prob < spam_mail_prob <= 1, have %g and %g", c.GoodMailProb, c.SpamMailProb)
	}
	if c.RobinsonS < 0 {
		bad("robinson_s is negative")
	}
	if c.Classifier != filter.Default && c.Classifier != filter.SpamOracle {
		bad("classifier %q: use %q or %q", c.Classifier, filter.Default, filter.SpamOracle)
	}
	if !(0 <= c.HamCutoff && c.HamCutoff < c.SpamCutoff && c.SpamCutoff <= 1) {
		bad("need 0 <= ham_cutoff < spam_cutoff <= 1, have %g and %g", c.HamCutoff, c.SpamCutoff)
	}
	if c.RegressionWeight < 0 || c.RegressionWeight > 1 {
		bad("regression_weight must be 0 to 1, not %g", c.RegressionWeight)
	}
	if c.FisherS < 0 {
		bad("fisher_s is negative")
	}
	if c.FisherX <= 0 || c.FisherX >= 1 {
		bad("fisher_x must be between 0 and 1, not %g", c.FisherX)
	}
	if c.FisherMinDev < 0 || c.FisherMinDev >= 0.5 {
		bad("fisher_min_dev must be at least 0 and below 0.5, not %g", c.FisherMinDev)
	}
	if c.RobinsonX <= 0 || c.RobinsonX >= 1 {
		bad("robinson_x must be between 0 and 1, not %g", c.RobinsonX)
	}
	if err := c.Analysis.Validate(); err != nil {
		probs = append(probs, oneLine(err.Error()))
	}
	if err := c.NATS.Validate(); err != nil {
		probs = append(probs, err.Error())
	}
	if err := c.Serve.Validate(); err != nil {
		probs = append(probs, oneLine(err.Error()))
	}
	if len(probs) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalid, strings.Join(probs, "; "))
	}
	return nil
}

// validHeaderName accepts printable ASCII without colon; a space is
// allowed, as SpamOracle allowed "X-My Spam".
func validHeaderName(s string) bool {
	if s == "" || s[0] == ' ' || s[len(s)-1] == ' ' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] >= 0x7f || s[i] == ':' {
			return false
		}
	}
	return true
}

// Bayes returns the classifier parameters.
func (c Config) Bayes() bayes.Params {
	p := bayes.DefaultParams()
	p.NumMeaningfulWords = c.NumMeaningfulWords
	p.MaxRepetitions = c.MaxRepetitions
	p.LowFreqLimit = c.LowFreqLimit
	p.HighFreqLimit = c.HighFreqLimit
	p.MinMeaningfulWords = c.MinMeaningfulWords
	p.GoodMailProb = c.GoodMailProb
	p.SpamMailProb = c.SpamMailProb
	p.RobinsonS = c.RobinsonS
	p.RobinsonX = c.RobinsonX
	p.UseChiSquare = c.UseChiSquare
	return p
}

// Tokenize returns the text-selection options. Known (for reassembly) is
// left for the caller, which owns the database. The patterns were checked
// by Validate.
func (c Config) Tokenize() tokenize.Options {
	o := tokenize.DefaultOptions()
	if re, err := tokenize.CompilePattern(c.MailHeaders); err == nil {
		o.MailHeaders = re
	}
	if re, err := tokenize.CompilePattern(c.HTMLTagAttributes); err == nil {
		o.HTMLTagAttributes = re
	}
	o.HTMLRetainTags = c.HTMLRetainTags
	o.AlternativeFavorHTML = c.AlternativeFavorHTML
	o.MaxTextBytes = c.MaxTextBytes
	return o
}

// Fused returns the default classifier's parameters.
func (c Config) Fused() filter.Fused {
	f := filter.DefaultFused()
	f.MinTrain = c.MinTrained
	f.HamCutoff, f.SpamCutoff = c.HamCutoff, c.SpamCutoff
	f.Weight = c.RegressionWeight
	f.Fisher.S, f.Fisher.X, f.Fisher.MinDev = c.FisherS, c.FisherX, c.FisherMinDev
	return f
}
