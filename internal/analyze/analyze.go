package analyze

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mailsift/mailsift/internal/attach"
	"github.com/mailsift/mailsift/internal/dedup"
	"github.com/mailsift/mailsift/internal/doctext"
	"github.com/mailsift/mailsift/internal/enrich"
	"github.com/mailsift/mailsift/internal/filter"
	"github.com/mailsift/mailsift/internal/mail"
	"github.com/mailsift/mailsift/internal/outlook"
	"github.com/mailsift/mailsift/internal/phish"
	"github.com/mailsift/mailsift/internal/urls"
	"github.com/mailsift/mailsift/report"
)

// Options are the parts of an Engine that the caller builds.
type Options struct {
	// Spam scores mails for the report's spam section; nil leaves it out.
	// A *filter.Filter or a *filter.Live.
	Spam Classifier
	// Seen replaces the filters of Config.Seen, for instance with a store
	// that several workers share. Nil means the filters Config.Seen
	// describes (and none when they are all disabled).
	Seen dedup.Store
	// Now gives the analysis time stamp; nil means time.Now.
	Now func() time.Time
	// Warn receives problems that do not stop the engine, such as a seen
	// filter file that was corrupt and starts empty; nil drops them.
	Warn func(error)
	// Observe, when set, hears how long each stage of each mail took:
	// "parse", "parts" (bodies, attachments and archives), "urls",
	// "phishing", "spam" and "enrich" (the sender IP's enrichers; the
	// files' run inside "parts").
	Observe func(stage string, d time.Duration)
	// PDFCacheDir is passed to the document text extractor ("" for its
	// default, "-" for none).
	PDFCacheDir string
}

// Classifier gives the spam verdict of a parsed mail.
type Classifier interface {
	ClassifyMessage(m *mail.Message) (filter.Verdict, error)
	// Name is the classifier's name for the report.
	Name() string
}

var (
	_ Classifier = (*filter.Filter)(nil)
	_ Classifier = (*filter.Live)(nil)
)

// Engine analyses mails. It is safe for concurrent use: every Analyze call
// keeps its state to itself, and the shared parts (lists, filters, caches)
// are safe for concurrent use.
type Engine struct {
	opt     Options
	set     atomic.Pointer[settings]
	docs    *doctext.Extractor
	filters *dedup.Filters // owned, saved on Close; nil when Options.Seen is given
	seen    dedup.Store
	files   []*enrich.Stage
	ips     []*enrich.Stage
	started Config // the configuration the seen filters and enrichers were built from

	closeOnce sync.Once
	closeErr  error
}

// settings are the parts of the configuration that Update replaces while
// mails are being analysed: an Analyze call uses one settings throughout.
type settings struct {
	cfg      Config
	white    []*urls.Whitelist
	keywords *phish.Keywords
	phish    phish.Config
}

// newSettings reads the whitelist and keyword files of cfg.
func newSettings(cfg Config) (*settings, error) {
	s := &settings{cfg: cfg}
	for _, path := range cfg.URLs.Whitelist {
		w, err := urls.LoadWhitelist(path)
		if err != nil {
			return nil, fmt.Errorf("analyze: whitelist: %w", err)
		}
		s.white = append(s.white, w)
	}
	kw, err := phish.LoadKeywords(cfg.Phishing.Subjects, cfg.Phishing.Targets)
	if err != nil {
		return nil, fmt.Errorf("analyze: phishing lists: %w", err)
	}
	s.keywords = kw
	s.phish = phish.DefaultConfig()
	for brand, domains := range cfg.Phishing.Brands {
		s.phish.Brands[brand] = domains
	}
	for name, w := range cfg.Phishing.Weights {
		s.phish.Weights[name] = w
	}
	s.phish.Threshold = cfg.Phishing.Threshold
	return s, nil
}

// New builds an Engine: it reads the whitelist and keyword files, opens the
// seen filters and sets up the enabled enrichers.
func New(cfg Config, opt Options) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("analyze: %w", err)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	s, err := newSettings(cfg)
	if err != nil {
		return nil, err
	}
	e := &Engine{opt: opt, started: cfg}
	e.set.Store(s)
	e.files, e.ips, err = enrich.New(cfg.Enrichers)
	if err != nil {
		return nil, fmt.Errorf("analyze: %w", err)
	}
	if opt.Seen != nil {
		e.seen = opt.Seen
	} else {
		f, err := dedup.Open(cfg.Seen)
		if errors.Is(err, dedup.ErrCorrupt) && f != nil {
			if opt.Warn != nil {
				opt.Warn(fmt.Errorf("analyze: %w (starting it empty)", err))
			}
		} else if err != nil {
			return nil, fmt.Errorf("analyze: %w", err)
		}
		e.filters, e.seen = f, f
	}
	e.docs = doctext.New(doctext.Config{PDFCacheDir: opt.PDFCacheDir})
	return e, nil
}

// ErrRestart is returned by Update when the new configuration changes the
// seen filters or the enrichers, or asks for a spam verdict from an engine
// started without a classifier: those take effect at the next start; the rest of it is
// in force.
var ErrRestart = errors.New("analyze: the seen filters, enrichers and spam verdict change at the next start")

// Update puts a new configuration in force for the mails analysed from now
// on: limits, hashes, lists, whitelists, phishing weights and the rest.
// An invalid configuration, or lists that do not read, change nothing.
func (e *Engine) Update(cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	s, err := newSettings(cfg)
	if err != nil {
		return err
	}
	e.set.Store(s)
	if !reflect.DeepEqual(cfg.Seen, e.started.Seen) || !reflect.DeepEqual(cfg.Enrichers, e.started.Enrichers) ||
		cfg.Spam && !e.started.Spam && e.opt.Spam == nil {
		return ErrRestart
	}
	return nil
}

// Close saves the seen filters and stops the document extractor.
func (e *Engine) Close() error {
	e.closeOnce.Do(func() {
		var errs []error
		if e.filters != nil {
			errs = append(errs, e.filters.Close())
		}
		errs = append(errs, e.docs.Close())
		e.closeErr = errors.Join(errs...)
	})
	return e.closeErr
}

// Reload reads the whitelist and keyword files again when they changed. A
// file that no longer reads keeps its old content in force, and the error
// says which.
func (e *Engine) Reload() (changed bool, err error) {
	s := e.set.Load()
	var errs []error
	for _, w := range s.white {
		c, err := w.Reload()
		changed = changed || c
		errs = append(errs, err)
	}
	c, kerr := s.keywords.Reload()
	errs = append(errs, kerr)
	return changed || c, errors.Join(errs...)
}

// SaveSeen writes the seen filters to disk now (Close does it too).
func (e *Engine) SaveSeen() error {
	if e.filters == nil {
		return nil
	}
	return e.filters.Save()
}

// Analyze analyses one raw mail. origin names where it came from. It
// never fails on content: whatever is wrong with the mail is in the
// report's defects. The error is set only when ctx ends first; a panic
// inside a stage is recovered into the report's Error.
func (e *Engine) Analyze(ctx context.Context, raw []byte, origin string) (rep *report.Report, err error) {
	sum := sha256.Sum256(raw)
	rep = &report.Report{
		Version:    report.Version,
		ID:         hex.EncodeToString(sum[:]),
		Origin:     origin,
		AnalysedAt: e.opt.Now().UTC(),
		Mail:       report.Mail{Headers: []report.Header{}, Size: len(raw)},
	}
	defer func() {
		if p := recover(); p != nil {
			rep.Error = fmt.Sprintf("internal error: %v", p)
			rep.Defects = append(rep.Defects, report.Defect{Name: "analysis-panic", Detail: panicSite(string(debug.Stack()))})
		}
	}()
	r := &run{e: e, s: e.set.Load(), ctx: ctx, rep: rep, urlIndex: map[string]int{}, htmlAtt: map[string]string{},
		stopped: map[string]bool{}, filtered: map[string]bool{}, last: time.Now()}
	r.analyze(raw)
	if err := ctx.Err(); err != nil {
		return rep, fmt.Errorf("analyze: %w", err)
	}
	return rep, nil
}

// panicSite picks, from a goroutine's stack trace taken while panicking,
// the function that panicked and its file and line.
func panicSite(stack string) string {
	lines := strings.Split(stack, "\n")
	for i, l := range lines {
		if !strings.HasPrefix(l, "panic(") {
			continue
		}
		for j := i + 2; j+1 < len(lines); j += 2 {
			if fn := lines[j]; !strings.HasPrefix(fn, "runtime.") {
				return fn + " " + strings.TrimSpace(lines[j+1])
			}
		}
	}
	return ""
}

// run is the state of one Analyze call.
type run struct {
	e   *Engine
	s   *settings
	ctx context.Context
	rep *report.Report
	msg *mail.Message

	bodyText    strings.Builder // every body's text, for the body hashes and phishing
	html        []string        // HTML bodies, for phishing
	urlSets     []urlSet        // one per body and per attachment text, in mail order
	urlIndex    map[string]int  // report URL -> index in rep.URLs
	urlsDropped bool            // the report's URL limit was reached
	bodyURLs    []urls.URL      // the bodies' URLs merged, for phishing
	attURLs     []urls.URL      // the attachments' URLs merged, for phishing

	attPath  string            // path of the attachment being analysed
	htmlAtt  map[string]string // sha256 -> HTML of HTML files in attachments
	pending  []embedded        // Outlook messages found inside attachments
	stopped  map[string]bool   // sha256 of files whose analysis stopped at the hashes
	filtered map[string]bool   // sha256 of files already seen
	newFiles []string          // sha256 of files not seen before, recorded once the mail is done
	messages int               // messages parsed from attachments and hidden parts
	parts    int               // parts walked, all messages together
	msgFiles int               // Outlook messages found in attachments
	last     time.Time         // end of the last stage, for Options.Observe
}

// urlSet holds the URLs of one body or one attachment's text; inBody
// tells which.
type urlSet struct {
	set    *urls.Set
	inBody bool
}

// newURLSet starts the URL set of the next body or attachment text.
func (r *run) newURLSet(inBody bool) *urls.Set {
	s := urls.NewSet(urls.Limits{MaxURLs: r.s.cfg.URLs.MaxURLs})
	r.urlSets = append(r.urlSets, urlSet{set: s, inBody: inBody})
	return s
}

// embedded is a message found inside an attachment, to be walked after it.
type embedded struct {
	path string
	raw  []byte
}

func (r *run) analyze(raw []byte) {
	r.rep.Mail.Hashes = hashes(attach.Sum(raw, r.s.cfg.FuzzyHashes, false))
	if outlook.IsMsg(raw) {
		conv, defects, err := outlook.ToMIME(raw)
		if err != nil {
			r.defect("outlook-unreadable", "", err.Error())
		} else {
			for _, d := range defects {
				r.defect("outlook-defect", "", d)
			}
			raw = conv
		}
	}
	r.msg = mail.Parse(raw)
	for _, d := range r.msg.Defects {
		r.rep.Defects = append(r.rep.Defects, report.Defect(d))
	}
	r.envelope(r.msg.Header())
	r.received(r.msg.Header())
	r.lap("parse")

	r.walk(r.msg.Root, "")
	for len(r.pending) > 0 {
		p := r.pending[0]
		r.pending = r.pending[1:]
		r.walkMessage(p.raw, p.path)
	}
	r.lap("parts")

	if r.ctx.Err() != nil {
		return // nothing half-done goes into the seen filters
	}
	for _, key := range r.newFiles {
		r.seen(dedup.Attachment, key)
	}
	text := r.bodyText.String()
	r.rep.Mail.BodyHashes = hashes(attach.Sum([]byte(text), r.s.cfg.FuzzyHashes, false))
	if strings.TrimSpace(text) != "" {
		r.rep.Filtered = r.seen(dedup.Mail, r.rep.Mail.BodyHashes.SHA256)
	}
	if r.rep.Filtered {
		r.rep.Bodies = nil
	} else {
		r.collectURLs()
		r.lap("urls")
		r.phishing(text)
		r.lap("phishing")
		r.spam()
		r.lap("spam")
	}
	r.enrichIP()
	r.lap("enrich")
}

// lap tells Options.Observe how long stage took, since the last lap.
func (r *run) lap(stage string) {
	if r.e.opt.Observe == nil {
		return
	}
	now := time.Now()
	r.e.opt.Observe(stage, now.Sub(r.last))
	r.last = now
}

// known asks the seen filters whether key was seen, without recording it;
// an error counts as not seen.
func (r *run) known(kind dedup.Kind, key string) bool {
	if r.e.seen == nil || key == "" {
		return false
	}
	ok, err := r.e.seen.Contains(r.ctx, kind, key)
	if err != nil {
		r.defect("seen-filter-error", "", err.Error())
		return false
	}
	return ok
}

// seen asks the seen filters about key and records it; an error counts as
// not seen.
func (r *run) seen(kind dedup.Kind, key string) bool {
	if r.e.seen == nil || key == "" {
		return false
	}
	ok, err := r.e.seen.SeenOrAdd(r.ctx, kind, key)
	if err != nil {
		r.defect("seen-filter-error", "", err.Error())
		return false
	}
	return ok
}

func (r *run) defect(name, part, detail string) {
	r.rep.Defects = append(r.rep.Defects, report.Defect{Name: name, Part: part, Detail: clip(detail, 200)})
}

func (r *run) mailDefects(ds []mail.Defect, prefix string) {
	for _, d := range ds {
		d.Part = joinPath(prefix, d.Part)
		r.rep.Defects = append(r.rep.Defects, report.Defect(d))
	}
}

// joinPath puts the path of a part inside a message found at prefix.
func joinPath(prefix, path string) string {
	switch {
	case prefix == "":
		return path
	case path == "":
		return prefix
	}
	return prefix + "." + path
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

func hashes(f attach.Facts) report.Hashes {
	return report.Hashes{MD5: f.MD5, SHA1: f.SHA1, SHA256: f.SHA256, SHA512: f.SHA512, SSDeep: f.SSDeep, TLSH: f.TLSH}
}
