package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkMark is one mark of a typical message, everything but the
// process start: configuration, database open, classification, output.
func BenchmarkMark(b *testing.B) {
	db := filepath.Join(b.TempDir(), "tokens.db")
	var errb bytes.Buffer
	if code := run([]string{"--db", db, "train", "-q", "--ham", fixtures + "ham.mbox", "--spam", fixtures + "spam.mbox"}, nil, io.Discard, &errb); code != 0 {
		b.Fatal(errb.String())
	}
	msg, err := os.ReadFile(fixtures + "msg1.eml")
	if err != nil {
		b.Fatal(err)
	}
	b.Setenv("XDG_CONFIG_HOME", b.TempDir())
	b.ReportAllocs()
	for b.Loop() {
		if code := run([]string{"--db", db, "mark"}, bytes.NewReader(msg), io.Discard, io.Discard); code != 0 {
			b.Fatal("mark failed")
		}
	}
}
