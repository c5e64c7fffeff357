package analyze

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
	"unicode/utf8"
)

// FuzzAnalyze runs the whole analysis on arbitrary bytes: it must not
// panic (a recovered panic shows as the report's error), must keep the id
// the hash of the input, and must give a report that encodes as JSON.
func FuzzAnalyze(f *testing.F) {
	for _, path := range fixtures(f) {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("Content-Type: multipart/mixed; boundary=x\n\n--x\n\n--x--\nContent-Type: text/plain\n\nhidden"))
	c := testConfig()
	c.Attachments.ExtractText = false // PDFium's start-up would dominate
	e := newEngine(f, c, Options{})
	f.Fuzz(func(t *testing.T, raw []byte) {
		r, err := e.Analyze(context.Background(), raw, "fuzz")
		if err != nil {
			t.Fatal(err)
		}
		if r.Error != "" {
			t.Fatalf("analysis failed: %s", r.Error)
		}
		sum := sha256.Sum256(raw)
		if r.ID != hex.EncodeToString(sum[:]) {
			t.Fatalf("id %s is not the input's hash", r.ID)
		}
		out, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if !utf8.Valid(out) {
			t.Fatal("report is not valid UTF-8")
		}
	})
}
