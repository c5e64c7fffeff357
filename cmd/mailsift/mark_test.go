package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// passedThrough checks mark's promise on one output: it is the input with
// only X-Spam (and X-Attachments) lines added, every other byte the same.
func passedThrough(t *testing.T, in, out string) {
	t.Helper()
	var kept bytes.Buffer
	added := 0
	for _, line := range strings.SplitAfter(out, "\n") {
		if strings.HasPrefix(line, "X-Spam: ") || strings.HasPrefix(line, "X-Attachments: ") {
			added++
			continue
		}
		kept.WriteString(line)
	}
	inSpam := strings.Count("\n"+in, "\nX-Spam: ") + strings.Count("\n"+in, "\nX-Attachments: ")
	if added-inSpam < 1 || added-inSpam > 2 {
		t.Errorf("added %d header lines", added-inSpam)
	}
	if inSpam == 0 && kept.String() != in {
		t.Errorf("body changed:\n in %q\nout %q", clipTo(in, 200), clipTo(out, 200))
	}
}

func clipTo(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

func TestMarkNeverLosesMail(t *testing.T) {
	db := trained(t)
	missing := filepath.Join(t.TempDir(), "none.db")
	corrupt := filepath.Join(t.TempDir(), "corrupt.db")
	if err := os.WriteFile(corrupt, bytes.Repeat([]byte("junk"), 5000), 0o600); err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(t.TempDir(), "truncated.db")
	whole, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	// The file ends in space bbolt allocated ahead and never wrote: keep a
	// third of the part that holds data.
	data := bytes.TrimRight(whole, "\x00")
	if err := os.WriteFile(truncated, data[:len(data)/3], 0o600); err != nil {
		t.Fatal(err)
	}
	big := "Subject: big\r\nContent-Type: text/plain\r\n\r\n" + strings.Repeat("free money click here now offer\r\n", 50<<20/32)
	msg1 := readFile(t, fixtures+"msg1.eml")
	tests := []struct {
		name, db, in, want string
	}{
		{"normal", db, msg1, "X-Spam: yes; "},
		{"no database", missing, msg1, "X-Spam: unknown; 0.50; error: "},
		{"corrupt database", corrupt, msg1, "X-Spam: unknown; 0.50; error: "},
		{"truncated database", truncated, msg1, "X-Spam: unknown; 0.50; error: "},
		{"empty message", db, "", "X-Spam: unknown; 0.50; "},
		{"garbage", db, "\x00\xff\xfe garbage \x01", "X-Spam: unknown; "},
		{"no header/body separator", db, "Subject: free money\nclick now", "X-Spam: "},
		{"headers only, no newline", db, "Subject: free money", "X-Spam: "},
		{"crlf", db, readFile(t, fixtures+"msg2-crlf.eml"), "X-Spam: no; "},
		{"mbox envelope line", db, "From a@b Mon Jan  1 00:00:00 2024\n" + msg1, "X-Spam: yes; "},
		{"50 MB message", db, big, "X-Spam: "},
		{"binary body", db, "Subject: x\n\n\x00\x01\x02\xff", "X-Spam: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mailsift(t, tt.in, "--db", tt.db, "mark")
			if r.code != 0 {
				t.Errorf("exit %d", r.code)
			}
			if !strings.Contains(r.stdout, tt.want) {
				t.Errorf("no %q in the output: %q", tt.want, clipTo(r.stdout, 300))
			}
			passedThrough(t, tt.in, r.stdout)
			if strings.Contains(tt.want, "error") && r.stderr == "" {
				t.Error("the error did not reach stderr")
			}
		})
	}
}

func TestMarkBadConfigPassesThrough(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "c.yml")
	if err := os.WriteFile(cfg, []byte("bogus_key: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	in := readFile(t, fixtures+"msg1.eml")
	r := mailsift(t, in, "--config", cfg, "mark")
	if r.code != 0 || !strings.Contains(r.stdout, "X-Spam: unknown; 0.50; error: ") || !strings.Contains(r.stderr, "bogus_key") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
	passedThrough(t, in, r.stdout)
}

// FuzzMarkCommand runs the whole mark command on arbitrary input, with and
// without a database: the mail always comes back, exit status 0.
func FuzzMarkCommand(f *testing.F) {
	for _, s := range []string{"", "Subject: a\n\nb", "\r\n", "From x\n\n", "Content-Type: multipart/mixed; boundary=x\n\n--x\n\n--x--"} {
		f.Add([]byte(s), true)
	}
	dir := f.TempDir()
	db := filepath.Join(dir, "tokens.db")
	var out, errb bytes.Buffer
	if code := run([]string{"--db", db, "train", "-q", "--ham", fixtures + "ham.mbox", "--spam", fixtures + "spam.mbox"}, nil, &out, &errb); code != 0 {
		f.Fatalf("train: %s", errb.String())
	}
	f.Fuzz(func(t *testing.T, raw []byte, withDB bool) {
		path := db
		if !withDB {
			path = filepath.Join(dir, "missing.db")
		}
		var out, errb bytes.Buffer
		code := run([]string{"--db", path, "mark"}, bytes.NewReader(raw), &out, &errb)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
		if !bytes.Contains(out.Bytes(), []byte("X-Spam: ")) || out.Len() < len(raw) {
			t.Fatalf("output %q for input %q", out.Bytes(), raw)
		}
		passedThrough(t, string(raw), out.String())
	})
}
