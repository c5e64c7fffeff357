package milter

import (
	"mime"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzHeaderValues checks what goes into header lines: fieldValue never
// lets a line break or other control character through and keeps the line
// within 998 bytes; a tagged subject decodes to the prefix and the
// subject; ourResults never panics.
func FuzzHeaderValues(f *testing.F) {
	f.Add("yes; 0.99; free:99 ", "[SPAM] ", "Hello")
	f.Add("unknown; 0.50; error: x\r\nBcc: eve@example.org", "[ПОДОЗРЕНИЕ] ", "=?utf-8?q?Gr=C3=BC=C3=9Fe?=")
	f.Add(strings.Repeat("ü", 600), "[Ä]", "")
	f.Fuzz(func(t *testing.T, value, prefix, subject string) {
		v := fieldValue("X-Spam", value)
		if strings.ContainsFunc(v, isControl) {
			t.Errorf("control character in %q", v)
		}
		if len("X-Spam: ")+len(v) > 998 {
			t.Errorf("line of %d bytes", len("X-Spam: ")+len(v))
		}
		if utf8.ValidString(value) && !utf8.ValidString(v) {
			t.Errorf("invalid UTF-8 from valid input: %q", v)
		}
		_ = ourResults(value, "mx.test")

		if !utf8.ValidString(prefix) || strings.ContainsFunc(prefix+subject, isControl) ||
			strings.TrimSpace(prefix) != prefix[:len(strings.TrimRight(prefix, " "))] || strings.TrimSpace(prefix) == "" ||
			strings.Contains(subject, "=?") || strings.TrimSpace(subject) != subject || subject == "" {
			return
		}
		raw := encodedPrefix(prefix, false) + subject
		got, err := new(mime.WordDecoder).DecodeHeader(raw)
		if err != nil {
			t.Fatalf("decode %q: %v", raw, err)
		}
		want := prefix + subject
		if !isASCII(prefix) {
			want = strings.TrimRight(prefix, " ") + " " + subject
		}
		if got != want {
			t.Errorf("tagged %q decodes to %q, want %q", raw, got, want)
		}
	})
}
