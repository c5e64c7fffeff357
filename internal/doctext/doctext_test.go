package doctext

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestSupported(t *testing.T) {
	tests := []struct {
		mime string
		want bool
	}{
		{"application/pdf", true},
		{"Application/PDF", true},
		{"text/html; charset=utf-8", true},
		{"application/xhtml+xml", true},
		{"text/rtf", true},
		{"application/rtf", true},
		{mimeDOCX, true},
		{mimeXLSX, true},
		{mimePPTX, true},
		{"application/vnd.ms-word.document.macroEnabled.12", true},
		{mimeODT, true},
		{"application/vnd.oasis.opendocument.spreadsheet", true},
		{"application/vnd.oasis.opendocument.presentation", true},
		{"application/msword", false},
		{"application/zip", false},
		{"text/plain", false},
		{"", false},
		{";;;", false},
	}
	for _, tt := range tests {
		if got := Supported(tt.mime); got != tt.want {
			t.Errorf("Supported(%q) = %v, want %v", tt.mime, got, tt.want)
		}
	}
}

func TestExtractErrors(t *testing.T) {
	ctx := context.Background()
	ext := New(Config{Limits: Limits{MaxInput: 10}})
	if _, err := ext.Extract(ctx, "image/png", []byte("x")); !errors.Is(err, ErrUnsupported) {
		t.Errorf("unsupported: %v", err)
	}
	if _, err := ext.Extract(ctx, "text/html", make([]byte, 11)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("too large: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := ext.Extract(cctx, "text/html", []byte("<p>x")); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if err := ext.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := ext.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := ext.Extract(ctx, "text/html", []byte("<p>x")); !errors.Is(err, ErrClosed) {
		t.Errorf("closed: %v", err)
	}
}

func TestBuilder(t *testing.T) {
	b := newBuilder(Limits{MaxLinks: 2}.withDefaults())
	b.newline()
	b.tab()
	b.words("  first   words ")
	b.tab()
	b.text("cell")
	b.newline()
	b.newline()
	b.newline()
	b.text("para")
	b.tab()
	b.newline()
	b.link(" https://a.example/ ")
	b.link("https://a.example/")
	b.link("https://b.example/")
	b.link("https://c.example/")
	doc := b.doc()
	if want := "first words\tcell\n\npara"; doc.Text != want {
		t.Errorf("text %q, want %q", doc.Text, want)
	}
	if len(doc.Links) != 2 || doc.Links[0] != "https://a.example/" || !doc.Truncated {
		t.Errorf("links %q truncated %v", doc.Links, doc.Truncated)
	}
}

func TestTimeoutDefault(t *testing.T) {
	if got := (Limits{}).withDefaults().Timeout; got != 20*time.Second {
		t.Errorf("default timeout %v", got)
	}
}
