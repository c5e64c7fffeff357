package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestSilentWhenPiped(t *testing.T) {
	var buf bytes.Buffer
	called := false
	b := New(&buf, "train", func() int64 { called = true; return 10 })
	if b != nil {
		t.Fatal("a bar on a buffer")
	}
	if called {
		t.Error("the total was computed for a silent bar")
	}
	b.Add(100, false) // a nil bar is silent, not a crash
	b.Done()
	if buf.Len() != 0 {
		t.Errorf("wrote %q", buf.String())
	}
}

func TestDraw(t *testing.T) {
	var buf bytes.Buffer
	b := &Bar{w: &buf, label: "test", total: 1000, start: time.Now().Add(-time.Second)}
	b.Add(250, false)
	b.Add(250, true)
	out := buf.String()
	for _, want := range []string{"\r[", "] ", "test 2 mails", "/s", "1 errors"} {
		if !strings.Contains(out, want) {
			t.Errorf("%q lacks %q", out, want)
		}
	}
	if !strings.Contains(out, " 50%") {
		t.Errorf("half way not shown: %q", out)
	}
	b.Done()
	if !strings.HasSuffix(buf.String(), "\r\x1b[K") {
		t.Errorf("Done did not clear the line: %q", buf.String())
	}
}
