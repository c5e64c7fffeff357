// Package doctext extracts plain text and links from document attachments
// so that the URL and phishing stages can look inside them.
//
// Data flows one way: the caller hands Extract the sniffed MIME type and the
// decoded bytes of one attachment, the matching reader streams the document
// into a bounded text builder, and a Doc comes back with the visible text,
// the links found (hyperlinks, link annotations, external relationships,
// HTML href/src/action targets, RTF HYPERLINK fields) and the defects met on
// the way. Readers:
//
//   - PDF: PDFium compiled to WebAssembly and run by wazero (pure Go). The
//     engine is started on the first PDF only, keeps its compiled code in a
//     cache directory, and runs documents on a small pool of instances, each
//     one killed when its document overruns the deadline.
//   - OOXML (docx, xlsx, pptx and their macro and template variants) and
//     OpenDocument (odt, ods, odp): archive/zip and a streaming encoding/xml
//     reader, with limits on the members examined and the bytes inflated.
//   - RTF: a small tolerant parser of its own (groups, control words, code
//     pages, \uN escapes, skipped destinations, fields).
//   - HTML and XHTML: the golang.org/x/net/html tokenizer.
//
// Every reader is bounded in time (ctx and Limits.Timeout), in memory
// (Limits) and recovers from panics, turning them into errors. Malformed
// input yields whatever could be read plus Defects; an error is returned only
// when nothing usable could be read.
//
// Left out on purpose: legacy binary Office formats (.doc, .xls, .ppt), OCR
// of images, embedded objects and archive members (callers open containers
// and hand each member to Extract), PDF JavaScript, form fields and
// attachments, and layout fidelity: the text is for matching, not display.
package doctext

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Errors returned by Extract. Callers branch on them with errors.Is.
var (
	// ErrUnsupported is returned for a MIME type no reader handles.
	ErrUnsupported = errors.New("doctext: unsupported type")
	// ErrTooLarge is returned for input bigger than Limits.MaxInput.
	ErrTooLarge = errors.New("doctext: input too large")
	// ErrEncrypted is returned for a document that needs a password.
	ErrEncrypted = errors.New("doctext: encrypted document")
	// ErrClosed is returned by Extract after Close.
	ErrClosed = errors.New("doctext: extractor closed")
)

// Doc is what was read from one document.
type Doc struct {
	// Text is the visible text, UTF-8, paragraphs separated by newlines.
	Text string
	// Truncated is set when a limit cut the text, the links or the pages.
	Truncated bool
	// Links are the distinct link targets in document order, as written in
	// the document (not validated, not normalised).
	Links []string
	// Defects describe malformed or suspicious structure met while reading.
	Defects []string
}

// Limits bound the work done on one document. Zero fields take the default
// given beside them.
type Limits struct {
	MaxInput      int           // bytes of input accepted; default 64 MiB
	MaxText       int           // bytes of text kept; default 1 MiB
	MaxLinks      int           // links kept; default 1000
	MaxPages      int           // PDF pages read; default 100
	MaxMembers    int           // zip members examined; default 1000
	MaxMemberSize int64         // bytes inflated from one zip member; default 32 MiB
	MaxInflate    int64         // bytes inflated from one zip in total; default 128 MiB
	Timeout       time.Duration // wall time per document; default 20 s
}

func (l Limits) withDefaults() Limits {
	if l.MaxInput <= 0 {
		l.MaxInput = 64 << 20
	}
	if l.MaxText <= 0 {
		l.MaxText = 1 << 20
	}
	if l.MaxLinks <= 0 {
		l.MaxLinks = 1000
	}
	if l.MaxPages <= 0 {
		l.MaxPages = 100
	}
	if l.MaxMembers <= 0 {
		l.MaxMembers = 1000
	}
	if l.MaxMemberSize <= 0 {
		l.MaxMemberSize = 32 << 20
	}
	if l.MaxInflate <= 0 {
		l.MaxInflate = 128 << 20
	}
	if l.Timeout <= 0 {
		l.Timeout = 20 * time.Second
	}
	return l
}

// Config sets up an Extractor. The zero value is usable.
type Config struct {
	Limits Limits
	// PDFInstances is the number of PDFium instances run at once; PDFs
	// beyond that wait for a free instance. Default 2.
	PDFInstances int
	// PDFMemory caps the memory of one PDFium instance, in bytes.
	// Default 512 MiB.
	PDFMemory int
	// PDFCacheDir keeps the compiled PDFium code between runs (about 21 MB).
	// Empty means os.UserCacheDir()/mailsift/pdfium; "-" disables the cache,
	// as does a directory that cannot be created. Without the cache every
	// start compiles for seconds.
	PDFCacheDir string
}

// Extractor extracts text from documents. It is safe for concurrent use.
// The PDF engine is started by the first PDF and stopped by Close; the other
// readers hold no state.
type Extractor struct {
	limits Limits
	pdf    *pdfEngine

	mu     sync.Mutex
	closed bool
}

// New returns an Extractor. It does no work until the first Extract.
func New(cfg Config) *Extractor {
	return &Extractor{
		limits: cfg.Limits.withDefaults(),
		pdf:    newPDFEngine(cfg),
	}
}

// Close stops the PDF engine, if it was started. Extract calls made after
// Close fail with ErrClosed.
func (e *Extractor) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	e.mu.Unlock()
	return e.pdf.close()
}

type format int

const (
	formatNone format = iota
	formatPDF
	formatOffice // OOXML or OpenDocument, told apart by the zip content
	formatRTF
	formatHTML
)

var formats = map[string]format{
	"application/pdf":   formatPDF,
	"application/x-pdf": formatPDF,

	"application/vnd.openxmlformats-officedocument.wordprocessingml.document":   formatOffice,
	"application/vnd.openxmlformats-officedocument.wordprocessingml.template":   formatOffice,
	"application/vnd.ms-word.document.macroenabled.12":                          formatOffice,
	"application/vnd.ms-word.template.macroenabled.12":                          formatOffice,
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":         formatOffice,
	"application/vnd.openxmlformats-officedocument.spreadsheetml.template":      formatOffice,
	"application/vnd.ms-excel.sheet.macroenabled.12":                            formatOffice,
	"application/vnd.ms-excel.template.macroenabled.12":                         formatOffice,
	"application/vnd.openxmlformats-officedocument.presentationml.presentation": formatOffice,
	"application/vnd.openxmlformats-officedocument.presentationml.slideshow":    formatOffice,
	"application/vnd.openxmlformats-officedocument.presentationml.template":     formatOffice,
	"application/vnd.ms-powerpoint.presentation.macroenabled.12":                formatOffice,
	"application/vnd.ms-powerpoint.slideshow.macroenabled.12":                   formatOffice,
	"application/vnd.oasis.opendocument.text":                                   formatOffice,
	"application/vnd.oasis.opendocument.text-template":                          formatOffice,
	"application/vnd.oasis.opendocument.spreadsheet":                            formatOffice,
	"application/vnd.oasis.opendocument.spreadsheet-template":                   formatOffice,
	"application/vnd.oasis.opendocument.presentation":                           formatOffice,
	"application/vnd.oasis.opendocument.presentation-template":                  formatOffice,

	"text/rtf":        formatRTF,
	"application/rtf": formatRTF,

	"text/html":             formatHTML,
	"application/xhtml+xml": formatHTML,
}

func lookup(mimeType string) format {
	t := strings.ToLower(strings.TrimSpace(mimeType))
	if mt, _, err := mime.ParseMediaType(t); err == nil {
		t = mt
	} else if i := strings.IndexByte(t, ';'); i >= 0 {
		t = strings.TrimSpace(t[:i])
	}
	return formats[t]
}

// Supported reports whether Extract reads documents of the given MIME type
// (parameters and case are ignored).
func Supported(mimeType string) bool {
	return lookup(mimeType) != formatNone
}

// Extract reads the document data of the given sniffed MIME type. It returns
// ErrUnsupported for types Supported rejects, ErrTooLarge for input over
// Limits.MaxInput and ErrEncrypted for password-protected PDFs. A document
// that could be read in part comes back with a nil error and Defects.
func (e *Extractor) Extract(ctx context.Context, mimeType string, data []byte) (Doc, error) {
	f := lookup(mimeType)
	if f == formatNone {
		return Doc{}, fmt.Errorf("%w: %q", ErrUnsupported, mimeType)
	}
	e.mu.Lock()
	closed := e.closed
	e.mu.Unlock()
	if closed {
		return Doc{}, ErrClosed
	}
	if len(data) > e.limits.MaxInput {
		return Doc{}, fmt.Errorf("%w: %d bytes", ErrTooLarge, len(data))
	}
	ctx, cancel := context.WithTimeout(ctx, e.limits.Timeout)
	defer cancel()
	if err := ctx.Err(); err != nil {
		return Doc{}, fmt.Errorf("doctext: %w", err)
	}

	b := newBuilder(e.limits)
	var err error
	switch f {
	case formatPDF:
		err = guard("pdf", func() error {
			pb, err := e.pdf.extract(ctx, data, e.limits)
			if pb != nil {
				b = pb
			}
			return err
		})
	case formatOffice:
		err = guard("office", func() error { return readOffice(ctx, data, b) })
	case formatRTF:
		err = guard("rtf", func() error { return readRTF(ctx, data, b) })
	case formatHTML:
		err = guard("html", func() error { return readHTML(ctx, data, mimeType, b) })
	}
	doc := b.doc()
	if err != nil {
		if doc.Text == "" && len(doc.Links) == 0 {
			return doc, err
		}
		doc.Defects = append(doc.Defects, err.Error())
	}
	return doc, nil
}

// guard runs fn and turns a panic into an error.
func guard(op string, fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("doctext: %s: panic: %v", op, r)
		}
	}()
	return fn()
}

// builder accumulates text and links within the limits. Separators are
// held back until more text follows, so that layout noise (empty paragraphs,
// empty cells, indentation) costs neither budget nor trailing blanks: at
// most one blank line, one tab or one space lands between two pieces of
// text.
type builder struct {
	limits    Limits
	sb        strings.Builder
	textFull  bool // the text budget cut the text
	truncated bool // some limit cut something
	links     []string
	seen      map[string]bool
	defects   []string
	nl        int  // newlines waiting (at most 2)
	sep       byte // ' ' or '\t' waiting, when no newline is
}

func newBuilder(l Limits) *builder {
	return &builder{limits: l, seen: make(map[string]bool)}
}

// full reports whether the text budget is spent.
func (b *builder) full() bool {
	return b.textFull || b.sb.Len() >= b.limits.MaxText
}

func (b *builder) write(s string) {
	if b.textFull {
		return
	}
	room := b.limits.MaxText - b.sb.Len()
	if len(s) > room {
		cut := room
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
		b.textFull = true
		b.truncated = true
	}
	b.sb.WriteString(s)
}

// text appends s after any separator waiting. Invalid UTF-8 is replaced.
func (b *builder) text(s string) {
	if s == "" || b.textFull {
		return
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if b.sb.Len() > 0 {
		switch {
		case b.nl > 0:
			b.write("\n\n"[:b.nl])
		case b.sep != 0:
			b.write(string(b.sep))
		}
	}
	b.nl, b.sep = 0, 0
	b.write(s)
}

// words appends running text whose white space is not significant (HTML,
// OpenDocument): runs of white space become one space, held back like the
// other separators.
func (b *builder) words(s string) {
	s = collapseSpace(s)
	if s == "" {
		return
	}
	if s[0] == ' ' {
		b.space()
		s = s[1:]
	}
	trailing := strings.HasSuffix(s, " ")
	b.text(strings.TrimSuffix(s, " "))
	if trailing {
		b.space()
	}
}

// newline ends a line; a second one in a row makes a blank line, more are
// dropped.
func (b *builder) newline() {
	if b.nl < 2 {
		b.nl++
	}
	b.sep = 0
}

// lineBreak ends a line unless one is already ended.
func (b *builder) lineBreak() {
	if b.nl == 0 {
		b.nl = 1
	}
	b.sep = 0
}

// tab separates cells.
func (b *builder) tab() {
	if b.nl == 0 {
		b.sep = '\t'
	}
}

func (b *builder) space() {
	if b.nl == 0 && b.sep == 0 {
		b.sep = ' '
	}
}

// link records a link target once.
func (b *builder) link(u string) {
	u = strings.TrimSpace(u)
	if u == "" || len(u) > 8192 || b.seen[u] {
		return
	}
	if !utf8.ValidString(u) {
		u = strings.ToValidUTF8(u, "\uFFFD")
	}
	if len(b.links) >= b.limits.MaxLinks {
		b.truncated = true
		return
	}
	b.seen[u] = true
	b.links = append(b.links, u)
}

func (b *builder) defect(format string, args ...any) {
	if len(b.defects) < 50 {
		b.defects = append(b.defects, fmt.Sprintf(format, args...))
	}
}

func (b *builder) doc() Doc {
	return Doc{
		Text:      b.sb.String(),
		Truncated: b.truncated,
		Links:     b.links,
		Defects:   b.defects,
	}
}
