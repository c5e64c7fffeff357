package doctext

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// buildPDF writes a one-page PDF showing text, with a URI link annotation,
// and a correct cross-reference table.
func buildPDF(text, uri string) []byte {
	return buildPDFPages(1, 1, text, uri)
}

// buildPDFPages writes a PDF of pages pages, each showing lines lines of
// text, the first page carrying a URI link annotation.
func buildPDFPages(pages, lines int, text, uri string) []byte {
	var content strings.Builder
	content.WriteString("BT /F1 12 Tf 72 760 Td 14 TL")
	for i := 0; i < lines; i++ {
		fmt.Fprintf(&content, " (%s) '", text)
	}
	content.WriteString(" ET")
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"", // the page tree, written below once the page objects are numbered
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", content.Len(), content.String()),
		fmt.Sprintf("<< /Type /Annot /Subtype /Link /Rect [72 700 300 740] /Border [0 0 0] "+
			"/A << /S /URI /URI (%s) >> >>", uri),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	var kids []string
	for i := 0; i < pages; i++ {
		annots := ""
		if i == 0 {
			annots = "/Annots [4 0 R] "
		}
		objs = append(objs, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 3 0 R "+
			"/Resources << /Font << /F1 5 0 R >> >> "+annots+">>")
		kids = append(kids, fmt.Sprintf("%d 0 R", len(objs)))
	}
	objs[1] = fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), pages)

	var buf bytes.Buffer
	buf.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = buf.Len()
		fmt.Fprintf(&buf, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := buf.Len()
	fmt.Fprintf(&buf, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&buf, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&buf, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return buf.Bytes()
}

// One PDFium engine serves every test of the binary.
var (
	pdfOnce sync.Once
	pdfExt  *Extractor
)

func pdfExtractor(t testing.TB) *Extractor {
	t.Helper()
	pdfOnce.Do(func() { pdfExt = New(Config{}) })
	return pdfExt
}

func TestPDF(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PDFium")
	}
	ext := pdfExtractor(t)
	ctx := context.Background()
	pdf := buildPDF("Verify your account at https://weblink.example/verify today", "https://annot.example/login")
	doc, err := ext.Extract(ctx, "application/pdf", pdf)
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}
	if !strings.Contains(doc.Text, "Verify your account") {
		t.Errorf("text %q lacks the page text", doc.Text)
	}
	for _, want := range []string{"https://annot.example/login", "https://weblink.example/verify"} {
		if !contains(doc.Links, want) {
			t.Errorf("links %q lack %q", doc.Links, want)
		}
	}

	// Garbage fails cleanly, and the engine keeps working afterwards.
	if _, err := ext.Extract(ctx, "application/pdf", []byte("%PDF-1.7\ngarbage")); err == nil {
		t.Errorf("garbage PDF: no error")
	}
	if _, err := ext.Extract(ctx, "application/pdf", pdf); err != nil {
		t.Errorf("after garbage: %v", err)
	}

	// A cancelled context is honoured.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := ext.Extract(cctx, "application/pdf", pdf); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v", err)
	}
}

func TestPDFLimits(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PDFium")
	}
	ext := pdfExtractor(t)
	ctx := context.Background()
	heavy := buildPDFPages(300, 50, "Lorem ipsum dolor sit amet, consectetur adipiscing elit", "https://a.example/")

	// Pages beyond MaxPages (100 by default) are not read.
	doc, err := ext.Extract(ctx, "application/pdf", heavy)
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}
	if !doc.Truncated || !containsSub(doc.Defects, "300 pages, read 100") {
		t.Errorf("truncated %v, defects %q", doc.Truncated, doc.Defects)
	}

	// A deadline met in the middle of a document kills its instance; the
	// pool replaces it and later documents are read as before.
	short, cancel := context.WithTimeout(ctx, 5*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = ext.Extract(short, "application/pdf", heavy)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("deadline: err = %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("deadline honoured after %v", d)
	}
	doc, err = ext.Extract(ctx, "application/pdf", buildPDF("still working", "https://b.example/"))
	if err != nil || doc.Text != "still working" {
		t.Errorf("after kill: %q, %v", doc.Text, err)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
