package doctext

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/klippa-app/go-pdfium"
	"github.com/klippa-app/go-pdfium/enums"
	pdfiumerrors "github.com/klippa-app/go-pdfium/errors"
	"github.com/klippa-app/go-pdfium/references"
	"github.com/klippa-app/go-pdfium/requests"
	"github.com/klippa-app/go-pdfium/responses"
	"github.com/klippa-app/go-pdfium/webassembly"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
)

// pdfEngine owns the PDFium pool. It is started by the first PDF; a failed
// start is remembered and returned to every later PDF.
type pdfEngine struct {
	instances int
	memory    int
	cacheDir  string

	once    sync.Once
	ready   chan struct{} // closed when start has finished
	pool    pdfium.Pool
	cache   wazero.CompilationCache
	initErr error

	mu     sync.Mutex
	closed bool
}

func newPDFEngine(cfg Config) *pdfEngine {
	e := &pdfEngine{
		instances: cfg.PDFInstances,
		memory:    cfg.PDFMemory,
		cacheDir:  cfg.PDFCacheDir,
		ready:     make(chan struct{}),
	}
	if e.instances <= 0 {
		e.instances = 2
	}
	if e.memory <= 0 {
		e.memory = 512 << 20
	}
	e.memory = max(e.memory, 64<<20)
	return e
}

// cachePath resolves the compilation cache directory; "" means no cache.
func (e *pdfEngine) cachePath() string {
	switch e.cacheDir {
	case "-":
		return ""
	case "":
		dir, err := os.UserCacheDir()
		if err != nil {
			return ""
		}
		return filepath.Join(dir, "mailsift", "pdfium")
	}
	return e.cacheDir
}

// start compiles the module and creates the pool. It runs once, in its own
// goroutine, so that a caller whose deadline passes can give up waiting
// without spoiling the start for the others.
func (e *pdfEngine) start() {
	defer close(e.ready)
	defer func() {
		if r := recover(); r != nil {
			e.initErr = fmt.Errorf("doctext: pdf: start: panic: %v", r)
		}
	}()
	e.mu.Lock()
	closed := e.closed
	e.mu.Unlock()
	if closed {
		e.initErr = ErrClosed
		return
	}
	rc := wazero.NewRuntimeConfig().
		WithCoreFeatures(api.CoreFeaturesV2 | experimental.CoreFeaturesExceptionHandling).
		WithCloseOnContextDone(true).
		WithMemoryLimitPages(uint32(e.memory / 65536))
	if dir := e.cachePath(); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err == nil {
			if c, err := wazero.NewCompilationCacheWithDir(dir); err == nil {
				e.cache = c
				rc = rc.WithCompilationCache(c)
			}
		}
	}
	pool, err := webassembly.Init(webassembly.Config{
		MinIdle:  0,
		MaxIdle:  e.instances,
		MaxTotal: e.instances,
		// No host directory is mounted: documents are handed over in memory.
		FSConfig:      wazero.NewFSConfig(),
		RuntimeConfig: rc,
		Stdout:        io.Discard,
		Stderr:        io.Discard,
		ReuseWorkers:  true,
	})
	if err != nil {
		e.initErr = fmt.Errorf("doctext: pdf: start: %w", err)
		return
	}
	e.pool = pool
}

func (e *pdfEngine) close() error {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	// Make sure a start in flight is finished, or never begins.
	e.once.Do(func() {
		e.initErr = ErrClosed
		close(e.ready)
	})
	<-e.ready
	var errs []error
	if e.pool != nil {
		// Extract calls still holding the pool get "pool is closed".
		if err := e.pool.Close(); err != nil {
			errs = append(errs, fmt.Errorf("doctext: pdf: close pool: %w", err))
		}
	}
	if e.cache != nil {
		if err := e.cache.Close(context.Background()); err != nil {
			errs = append(errs, fmt.Errorf("doctext: pdf: close cache: %w", err))
		}
	}
	return errors.Join(errs...)
}

// recycleSize is the input size above which the instance that read a
// document is replaced by a fresh one.
const recycleSize = 4 << 20

// pdfResult carries the outcome of one document out of its goroutine.
type pdfResult struct{ err error }

// extract reads one PDF into a new builder. The document runs in its own
// goroutine with a private builder, so that a deadline can abandon it
// without racing on what the caller gets back.
func (e *pdfEngine) extract(ctx context.Context, data []byte, limits Limits) (*builder, error) {
	empty := newBuilder(limits)
	e.once.Do(func() { go e.start() })
	select {
	case <-e.ready:
	case <-ctx.Done():
		return empty, fmt.Errorf("doctext: pdf: waiting for engine: %w", ctx.Err())
	}
	if e.initErr != nil {
		return empty, e.initErr
	}
	e.mu.Lock()
	closed := e.closed
	e.mu.Unlock()
	if closed {
		return empty, ErrClosed
	}

	inst, err := e.pool.GetInstanceWithContext(ctx)
	if err != nil {
		return empty, fmt.Errorf("doctext: pdf: get instance: %w", err)
	}

	// Calls go straight to the instance's implementation rather than through
	// the pool's wrapper, whose bookkeeping Kill rewrites without locking.
	api, ok := inst.GetImplementation().(pdfAPI)
	if !ok {
		api = inst
	}
	local := newBuilder(limits)
	done := make(chan pdfResult, 1)
	go func() {
		var res pdfResult
		defer func() {
			if r := recover(); r != nil {
				res.err = fmt.Errorf("doctext: pdf: panic: %v", r)
			}
			done <- res
		}()
		res.err = readPDF(ctx, api, data, local)
	}()

	select {
	case res := <-done:
		// An instance that failed, or that swallowed a big document and
		// grew its memory for it, is discarded rather than reused.
		var err error
		if res.err != nil || len(data) > recycleSize {
			err = inst.Kill()
		} else {
			err = inst.Close()
		}
		if err != nil && res.err == nil {
			res.err = fmt.Errorf("doctext: pdf: release instance: %w", err)
		}
		return local, res.err
	case <-ctx.Done():
		// Killing the instance aborts the WebAssembly call in flight; the
		// pool replaces the instance. Give the goroutine a moment to leave.
		killErr := inst.Kill()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
		}
		err := fmt.Errorf("doctext: pdf: %w", ctx.Err())
		if killErr != nil {
			err = errors.Join(err, fmt.Errorf("doctext: pdf: kill instance: %w", killErr))
		}
		return empty, err
	}
}

// pdfAPI is the part of PDFium used here.
type pdfAPI interface {
	OpenDocument(*requests.OpenDocument) (*responses.OpenDocument, error)
	FPDF_CloseDocument(*requests.FPDF_CloseDocument) (*responses.FPDF_CloseDocument, error)
	FPDF_GetPageCount(*requests.FPDF_GetPageCount) (*responses.FPDF_GetPageCount, error)
	FPDF_LoadPage(*requests.FPDF_LoadPage) (*responses.FPDF_LoadPage, error)
	FPDF_ClosePage(*requests.FPDF_ClosePage) (*responses.FPDF_ClosePage, error)
	FPDFLink_Enumerate(*requests.FPDFLink_Enumerate) (*responses.FPDFLink_Enumerate, error)
	FPDFLink_GetAction(*requests.FPDFLink_GetAction) (*responses.FPDFLink_GetAction, error)
	FPDFAction_GetType(*requests.FPDFAction_GetType) (*responses.FPDFAction_GetType, error)
	FPDFAction_GetURIPath(*requests.FPDFAction_GetURIPath) (*responses.FPDFAction_GetURIPath, error)
	FPDFAction_GetFilePath(*requests.FPDFAction_GetFilePath) (*responses.FPDFAction_GetFilePath, error)
	FPDFText_LoadPage(*requests.FPDFText_LoadPage) (*responses.FPDFText_LoadPage, error)
	FPDFText_ClosePage(*requests.FPDFText_ClosePage) (*responses.FPDFText_ClosePage, error)
	FPDFText_CountChars(*requests.FPDFText_CountChars) (*responses.FPDFText_CountChars, error)
	FPDFText_GetText(*requests.FPDFText_GetText) (*responses.FPDFText_GetText, error)
	FPDFLink_LoadWebLinks(*requests.FPDFLink_LoadWebLinks) (*responses.FPDFLink_LoadWebLinks, error)
	FPDFLink_CountWebLinks(*requests.FPDFLink_CountWebLinks) (*responses.FPDFLink_CountWebLinks, error)
	FPDFLink_GetURL(*requests.FPDFLink_GetURL) (*responses.FPDFLink_GetURL, error)
	FPDFLink_CloseWebLinks(*requests.FPDFLink_CloseWebLinks) (*responses.FPDFLink_CloseWebLinks, error)
}

var _ pdfAPI = pdfium.Pdfium(nil)

// readPDF reads the text, web links and URI link annotations of the pages.
func readPDF(ctx context.Context, p pdfAPI, data []byte, b *builder) error {
	doc, err := p.OpenDocument(&requests.OpenDocument{File: &data})
	if err != nil {
		if errors.Is(err, pdfiumerrors.ErrPassword) || errors.Is(err, pdfiumerrors.ErrSecurity) {
			return fmt.Errorf("%w: %v", ErrEncrypted, err)
		}
		return fmt.Errorf("doctext: pdf: open: %w", err)
	}
	defer func() {
		// Closing can only fail on a dead instance, which the pool replaces.
		_, _ = p.FPDF_CloseDocument(&requests.FPDF_CloseDocument{Document: doc.Document})
	}()

	count, err := p.FPDF_GetPageCount(&requests.FPDF_GetPageCount{Document: doc.Document})
	if err != nil {
		return fmt.Errorf("doctext: pdf: page count: %w", err)
	}
	pages := count.PageCount
	if pages > b.limits.MaxPages {
		b.defect("pdf: %d pages, read %d", pages, b.limits.MaxPages)
		b.truncated = true
		pages = b.limits.MaxPages
	}
	for i := 0; i < pages; i++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("doctext: pdf: %w", err)
		}
		if err := readPDFPage(p, doc.Document, i, b); err != nil {
			b.defect("pdf: page %d: %v", i+1, err)
		}
	}
	return nil
}

func readPDFPage(p pdfAPI, doc references.FPDF_DOCUMENT, index int, b *builder) error {
	page, err := p.FPDF_LoadPage(&requests.FPDF_LoadPage{Document: doc, Index: index})
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	defer func() {
		_, _ = p.FPDF_ClosePage(&requests.FPDF_ClosePage{Page: page.Page})
	}()
	ref := requests.Page{ByReference: &page.Page}

	// Link annotations with a URI action.
	for pos := 0; ; {
		l, err := p.FPDFLink_Enumerate(&requests.FPDFLink_Enumerate{Page: ref, StartPos: pos})
		if err != nil || l.Link == nil || l.NextStartPos == nil || *l.NextStartPos <= pos {
			break
		}
		pos = *l.NextStartPos
		a, err := p.FPDFLink_GetAction(&requests.FPDFLink_GetAction{Link: *l.Link})
		if err != nil || a.Action == nil {
			continue
		}
		t, err := p.FPDFAction_GetType(&requests.FPDFAction_GetType{Action: *a.Action})
		if err != nil {
			continue
		}
		switch t.Type {
		case enums.FPDF_ACTION_ACTION_URI:
			u, err := p.FPDFAction_GetURIPath(&requests.FPDFAction_GetURIPath{Document: doc, Action: *a.Action})
			if err == nil && u.URIPath != nil {
				b.link(*u.URIPath)
			}
		case enums.FPDF_ACTION_ACTION_LAUNCH, enums.FPDF_ACTION_ACTION_REMOTEGOTO:
			// Launch and remote targets can name programs or UNC paths.
			f, err := p.FPDFAction_GetFilePath(&requests.FPDFAction_GetFilePath{Action: *a.Action})
			if err == nil && f.FilePath != nil {
				b.link(*f.FilePath)
			}
		}
	}

	tp, err := p.FPDFText_LoadPage(&requests.FPDFText_LoadPage{Page: ref})
	if err != nil {
		return fmt.Errorf("load text: %w", err)
	}
	defer func() {
		_, _ = p.FPDFText_ClosePage(&requests.FPDFText_ClosePage{TextPage: tp.TextPage})
	}()

	// URLs written in the page text, as PDF viewers detect them.
	if wl, err := p.FPDFLink_LoadWebLinks(&requests.FPDFLink_LoadWebLinks{TextPage: tp.TextPage}); err == nil {
		if n, err := p.FPDFLink_CountWebLinks(&requests.FPDFLink_CountWebLinks{PageLink: wl.PageLink}); err == nil {
			for i := 0; i < n.Count && i < b.limits.MaxLinks; i++ {
				if u, err := p.FPDFLink_GetURL(&requests.FPDFLink_GetURL{PageLink: wl.PageLink, Index: i}); err == nil {
					b.link(u.URL)
				}
			}
		}
		_, _ = p.FPDFLink_CloseWebLinks(&requests.FPDFLink_CloseWebLinks{PageLink: wl.PageLink})
	}

	if b.full() {
		return nil
	}
	chars, err := p.FPDFText_CountChars(&requests.FPDFText_CountChars{TextPage: tp.TextPage})
	if err != nil {
		return fmt.Errorf("count chars: %w", err)
	}
	n := chars.Count
	// A character takes at least one byte of budget; do not ask for more.
	if room := b.limits.MaxText - b.sb.Len(); n > room {
		n = room
	}
	if n <= 0 {
		return nil
	}
	txt, err := p.FPDFText_GetText(&requests.FPDFText_GetText{TextPage: tp.TextPage, StartIndex: 0, Count: n})
	if err != nil {
		return fmt.Errorf("get text: %w", err)
	}
	b.text(normalisePDFText(txt.Text))
	b.newline()
	b.newline()
	return nil
}

// normalisePDFText turns PDFium's CRLF line ends into newlines and drops the
// NULs and soft hyphen markers it can emit.
func normalisePDFText(s string) string {
	out := make([]rune, 0, len(s))
	for _, r := range s {
		switch r {
		case '\r', 0, 0xFFFE:
			continue
		case 0x02: // PDFium marks hyphenation breaks with STX
			continue
		}
		out = append(out, r)
	}
	return string(out)
}
