package analyze

import (
	"errors"
	"fmt"
	"strings"

	"github.com/mailsift/mailsift/internal/attach"
	"github.com/mailsift/mailsift/internal/dedup"
	"github.com/mailsift/mailsift/internal/enrich"
	"github.com/mailsift/mailsift/internal/phish"
)

// Config is the analysis section of the configuration file ("analysis:").
// Field comments are the reference documentation of each key.
type Config struct {
	// Text found in the "by" clause of the Received fields written by your
	// own mail servers (for instance "mx.example.org"). The sender IP is
	// the client of the first of those hops; empty means the oldest hop
	// with a public address, which the sender may have forged.
	Trust string `yaml:"trust"`
	// Header fields copied into mail.custom, by name.
	CustomHeaders []string `yaml:"custom_headers"`
	// Most bytes of text kept per body in the report; longer bodies are cut
	// at a UTF-8 boundary and marked truncated. The whole text is still
	// hashed and searched for URLs.
	BodyBytes int `yaml:"body_bytes"`
	// Compute fuzzy hashes: ssdeep of the mail and of its body text,
	// ssdeep and TLSH of the attachments.
	FuzzyHashes bool `yaml:"fuzzy_hashes"`
	// Add the spam verdict from the token database when it exists.
	Spam bool `yaml:"spam"`

	Attachments AttachmentConfig `yaml:"attachments"`
	URLs        URLConfig        `yaml:"urls"`
	Phishing    PhishingConfig   `yaml:"phishing"`
	// The "already seen" filters: a mail, attachment or sender IP seen
	// before is marked is_filtered and its heavy stages are skipped.
	Seen dedup.Config `yaml:"seen"`
	// External lookups, each off until enabled.
	Enrichers enrich.Config `yaml:"enrichers"`
}

// AttachmentConfig bounds and shapes the analysis of attachments.
type AttachmentConfig struct {
	// How deep archives inside archives are opened.
	MaxDepth int `yaml:"max_depth"`
	// Archive members listed per attachment, all levels together.
	MaxMembers int `yaml:"max_members"`
	// Bytes expanded from the archives of one attachment.
	MaxTotalBytes int64 `yaml:"max_total_bytes"`
	// Largest archive member read.
	MaxMemberBytes int64 `yaml:"max_member_bytes"`
	// Compression ratio above which a member is not expanded.
	MaxRatio float64 `yaml:"max_ratio"`
	// Extract the text of PDF, Office, OpenDocument, RTF and HTML files.
	ExtractText bool `yaml:"extract_text"`
	// Most bytes of extracted text kept per file.
	TextBytes int `yaml:"text_bytes"`
	// Passwords tried on encrypted archives, in order.
	Passwords []string `yaml:"passwords"`
	// Sniffed content types (or "type/*") that are only listed and hashed:
	// no archive members, no text, no payload, no enrichers.
	Blacklist []string `yaml:"blacklist"`
	// Include each attachment's bytes, base64, in the report (for search
	// back-ends that keep samples).
	IncludePayload bool `yaml:"include_payload"`
	// Largest attachment whose payload is included.
	PayloadMaxBytes int `yaml:"payload_max_bytes"`
}

// URLConfig shapes URL extraction.
type URLConfig struct {
	// Most distinct URLs kept per mail.
	MaxURLs int `yaml:"max_urls"`
	// Files of whitelisted domains, one per line, optionally followed by an
	// expiry date ("example.org 2027-01-01"). A whitelisted domain and its
	// sub-domains are marked in the report and do not count for phishing.
	// The files are read again when they change.
	Whitelist []string `yaml:"whitelist"`
}

// PhishingConfig configures the phishing stage.
type PhishingConfig struct {
	// Files of subject keyword rules (a YAML list; a rule is words that
	// must all appear).
	Subjects []string `yaml:"subjects"`
	// Files of target keyword rules (a YAML map of target name to rules).
	Targets []string `yaml:"targets"`
	// Brand names and their real domains, for look-alike and display-name
	// checks; they are added to the built-in list, replacing a brand of the
	// same name.
	Brands map[string][]string `yaml:"brands"`
	// Weight of each finding by name, replacing the built-in weight.
	Weights map[string]float64 `yaml:"weights"`
	// Total weight at which phishing.verdict is true.
	Threshold float64 `yaml:"threshold"`
}

// Default limits of the report.
const (
	DefaultBodyBytes       = 1 << 20
	DefaultPayloadMaxBytes = 8 << 20
)

// DefaultConfig returns the built-in analysis configuration.
func DefaultConfig() Config {
	p := phish.DefaultConfig()
	return Config{
		BodyBytes:   DefaultBodyBytes,
		FuzzyHashes: true,
		Spam:        true,
		Attachments: AttachmentConfig{
			MaxDepth:        attach.DefaultMaxDepth,
			MaxMembers:      attach.DefaultMaxMembers,
			MaxTotalBytes:   attach.DefaultMaxTotalBytes,
			MaxMemberBytes:  attach.DefaultMaxMemberBytes,
			MaxRatio:        attach.DefaultMaxRatio,
			ExtractText:     true,
			TextBytes:       attach.DefaultTextBytes,
			Passwords:       []string{"infected", "malware", "virus", "password", "1234"},
			PayloadMaxBytes: DefaultPayloadMaxBytes,
		},
		URLs:      URLConfig{MaxURLs: 1000},
		Phishing:  PhishingConfig{Threshold: p.Threshold},
		Seen:      dedup.DefaultConfig(),
		Enrichers: enrich.DefaultConfig(),
	}
}

// Validate reports every problem of c at once.
func (c Config) Validate() error {
	var probs []string
	bad := func(format string, args ...any) { probs = append(probs, fmt.Sprintf(format, args...)) }
	if c.BodyBytes < 1 {
		bad("analysis.body_bytes must be at least 1, not %d", c.BodyBytes)
	}
	for _, h := range c.CustomHeaders {
		if h == "" || strings.ContainsAny(h, ": \t") {
			bad("analysis.custom_headers: %q is not a header name", h)
		}
	}
	a := c.Attachments
	for name, v := range map[string]int64{
		"max_depth": int64(a.MaxDepth), "max_members": int64(a.MaxMembers), "max_total_bytes": a.MaxTotalBytes,
		"max_member_bytes": a.MaxMemberBytes, "text_bytes": int64(a.TextBytes), "payload_max_bytes": int64(a.PayloadMaxBytes),
	} {
		if v < 1 {
			bad("analysis.attachments.%s must be at least 1, not %d", name, v)
		}
	}
	if a.MaxRatio < 1 {
		bad("analysis.attachments.max_ratio must be at least 1, not %g", a.MaxRatio)
	}
	for _, t := range a.Blacklist {
		if !strings.Contains(t, "/") {
			bad("analysis.attachments.blacklist: %q is not a content type", t)
		}
	}
	if c.URLs.MaxURLs < 1 {
		bad("analysis.urls.max_urls must be at least 1, not %d", c.URLs.MaxURLs)
	}
	known := phish.DefaultWeights()
	for name := range c.Phishing.Weights {
		if _, ok := known[name]; !ok {
			bad("analysis.phishing.weights: no finding is called %q", name)
		}
	}
	if c.Phishing.Threshold <= 0 {
		bad("analysis.phishing.threshold must be above 0, not %g", c.Phishing.Threshold)
	}
	var errs []error
	if len(probs) > 0 {
		errs = append(errs, errors.New(strings.Join(probs, "; ")))
	}
	if err := c.Seen.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("analysis.seen: %w", err))
	}
	if err := c.Enrichers.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("analysis.enrichers: %w", err))
	}
	if len(errs) == 0 {
		return nil
	}
	return errors.Join(errs...)
}

func (a AttachmentConfig) limits() attach.Limits {
	return attach.Limits{MaxDepth: a.MaxDepth, MaxMembers: a.MaxMembers, MaxTotalBytes: a.MaxTotalBytes,
		MaxMemberBytes: a.MaxMemberBytes, MaxRatio: a.MaxRatio}
}

// blacklisted reports whether the sniffed type t is in the blacklist.
func (a AttachmentConfig) blacklisted(t string) bool {
	t = strings.ToLower(t)
	if i := strings.IndexByte(t, ';'); i >= 0 {
		t = strings.TrimSpace(t[:i])
	}
	for _, b := range a.Blacklist {
		b = strings.ToLower(b)
		if b == t || strings.HasSuffix(b, "/*") && strings.HasPrefix(t, b[:len(b)-1]) {
			return true
		}
	}
	return false
}
