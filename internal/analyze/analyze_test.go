package analyze

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailsift/mailsift/report"
)

var update = flag.Bool("update", false, "rewrite the golden reports in testdata/golden/analyze")

var fixedNow = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// testConfig analyses everything in full: no seen filters, no enrichers.
func testConfig() Config {
	c := DefaultConfig()
	c.Seen.Mails.Enabled, c.Seen.Attachments.Enabled, c.Seen.IPs.Enabled = false, false, false
	c.Seen.Dir = ""
	return c
}

func newEngine(t testing.TB, c Config, opt Options) *Engine {
	t.Helper()
	if opt.Now == nil {
		opt.Now = func() time.Time { return fixedNow }
	}
	e, err := New(c, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Error(err)
		}
	})
	return e
}

func analyseFile(t testing.TB, e *Engine, path string) *report.Report {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.Analyze(context.Background(), raw, filepath.Base(path))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func fixtures(t testing.TB) []string {
	t.Helper()
	var paths []string
	for _, pat := range []string{"*.eml", "*.msg"} {
		m, err := filepath.Glob(filepath.Join("..", "..", "testdata", "analyze", pat))
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, m...)
	}
	slices.Sort(paths)
	if len(paths) == 0 {
		t.Fatal("no fixtures in testdata/analyze")
	}
	return paths
}

// Each fixture's report matches its golden file; go test -update rewrites
// them after a deliberate change.
func TestGoldenReports(t *testing.T) {
	e := newEngine(t, testConfig(), Options{PDFCacheDir: pdfCache(t)})
	for _, path := range fixtures(t) {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			r := analyseFile(t, e, path)
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(r); err != nil {
				t.Fatal(err)
			}
			got := buf.Bytes()
			golden := filepath.Join("..", "..", "testdata", "golden", "analyze", strings.TrimSuffix(name, filepath.Ext(name))+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("report differs from %s (go test -update rewrites it after a deliberate change):\n%s", golden, firstDiff(string(want), string(got)))
			}
		})
	}
}

// pdfCache shares PDFium's compiled code between test runs, as the
// command does; the first run compiles it.
func pdfCache(t testing.TB) string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return t.TempDir()
	}
	return filepath.Join(dir, "mailsift", "pdfium")
}

func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return "line " + strconv.Itoa(i+1) + ":\n- " + w + "\n+ " + g
		}
	}
	return ""
}
