package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGoldenOutputs(t *testing.T) {
	db := trained(t)
	tests := []struct {
		golden string
		stdin  string
		args   []string
	}{
		{"test.txt", "", []string{"test", fixtures + "ham.mbox", fixtures + "spam.mbox"}},
		{"test-min.txt", "", []string{"test", "--min", "0.5", fixtures + "ham.mbox", fixtures + "spam.mbox"}},
		{"test.jsonl", "", []string{"test", "--json", fixtures + "spam.mbox"}},
		{"mark-msg1.eml", readFile(t, fixtures+"msg1.eml"), []string{"mark"}},
		{"mark-msg2-crlf.eml", readFile(t, fixtures+"msg2-crlf.eml"), []string{"mark"}},
		{"mark-unknown.eml", readFile(t, fixtures+"unknown.eml"), []string{"mark"}},
		{"mark-mbox.txt", "", []string{"mark", fixtures + "ham.mbox"}},
		{"list.txt", "", []string{"list", "cl.*", "o.*", "zzz"}},
		{"list.jsonl", "", []string{"list", "--json", "cl.*"}},
		{"stats.txt", "", []string{"stats", fixtures + "ham.mbox", fixtures + "spam.mbox"}},
		{"words.txt", "", []string{"words", fixtures + "spam.mbox"}},
		{"backup.txt", "", []string{"backup"}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			r := mailsift(t, tt.stdin, append([]string{"--db", db}, tt.args...)...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			golden(t, tt.golden, r.stdout)
		})
	}
}

func TestVerdicts(t *testing.T) {
	db := trained(t)
	r := mailsift(t, "", "--db", db, "test", "--json", fixtures+"ham.mbox", fixtures+"spam.mbox")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 8 {
		t.Fatalf("%d records, want 8", len(lines))
	}
	for i, l := range lines {
		var rec testRecord
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatal(err)
		}
		want := "no"
		if i >= 4 {
			want = "yes"
		}
		if string(rec.Verdict) != want || rec.File == "" || rec.Score < 0 || rec.Score > 1 || len(rec.Words) == 0 {
			t.Errorf("record %d: %+v, want verdict %s", i, rec, want)
		}
	}
}

func TestRestoreRoundTrip(t *testing.T) {
	db := trained(t)
	dump := mailsift(t, "", "--db", db, "backup").stdout
	if !strings.HasPrefix(dump, "SPAMORACLE/1 4 4\n") {
		t.Fatalf("backup starts %q", dump[:min(len(dump), 40)])
	}
	db2 := filepath.Join(t.TempDir(), "restored.db")
	if r := mailsift(t, dump, "--db", db2, "restore"); r.code != 0 {
		t.Fatalf("restore: %d %s", r.code, r.stderr)
	}
	if again := mailsift(t, "", "--db", db2, "backup").stdout; again != dump {
		t.Error("backup of the restored database differs")
	}
	// The restored database scores like the original with SpamOracle's
	// classifier (the format holds only its words).
	a := mailsift(t, "", "--db", db, "--classifier", "spamoracle", "test", fixtures+"spam.mbox").stdout
	b := mailsift(t, "", "--db", db2, "--classifier", "spamoracle", "test", fixtures+"spam.mbox").stdout
	if a != b {
		t.Errorf("scores differ after restore:\n%s\n%s", a, b)
	}
}

func TestLedger(t *testing.T) {
	db := trained(t)
	stats := func() dbRecord {
		var rec dbRecord
		r := mailsift(t, "", "--db", db, "stats", "--json")
		if err := json.Unmarshal([]byte(r.stdout), &rec); err != nil {
			t.Fatalf("stats: %v %s", err, r.stderr)
		}
		return rec
	}
	before := stats()
	if before.Good != 4 || before.Spam != 4 {
		t.Fatalf("trained %d/%d", before.Good, before.Spam)
	}
	// Training the same mail again changes nothing.
	r := mailsift(t, "", "--db", db, "train", "--ham", fixtures+"ham.mbox")
	if r.code != 0 || !strings.Contains(r.stderr, "4 already known") {
		t.Errorf("retrain: %d %q", r.code, r.stderr)
	}
	if s := stats(); s.Good != 4 || s.Spam != 4 || s.Words != before.Words {
		t.Errorf("after retrain: %+v", s)
	}
	// A spam retrained as ham moves.
	spam := readFile(t, fixtures+"msg1.eml")
	mailsift(t, spam, "--db", db, "train", "--spam", "-")
	if s := stats(); s.Spam != 5 {
		t.Fatalf("spam count %d after training one more", s.Spam)
	}
	r = mailsift(t, spam, "--db", db, "train", "--ham", "-")
	if s := stats(); s.Good != 5 || s.Spam != 4 || !strings.Contains(r.stderr, "1 moved") {
		t.Errorf("move: %+v %q", s, r.stderr)
	}
	// A marked copy of a trained mail is the same mail.
	marked := mailsift(t, spam, "--db", db, "mark").stdout
	r = mailsift(t, marked, "--db", db, "train", "--ham", "-")
	if !strings.Contains(r.stderr, "1 already known") {
		t.Errorf("marked copy not recognised: %q", r.stderr)
	}
	// Untrain forgets it.
	r = mailsift(t, spam, "--db", db, "untrain", "-")
	if s := stats(); s.Good != 4 || s.Spam != 4 || r.code != 0 {
		t.Errorf("untrain: %+v %q", s, r.stderr)
	}
}

func TestOneClassIsUnknown(t *testing.T) {
	db := filepath.Join(t.TempDir(), "spam-only.db")
	mailsift(t, "", "--db", db, "train", "-q", "--spam", fixtures+"spam.mbox")
	r := mailsift(t, readFile(t, fixtures+"msg1.eml"), "--db", db, "mark")
	if !strings.Contains(r.stdout, "X-Spam: unknown; 0.50; \n") {
		t.Errorf("spam-only database: %q", r.stdout)
	}
	r = mailsift(t, "", "--db", db, "test", "--json", fixtures+"spam.mbox")
	if strings.Contains(r.stdout, "NaN") || !strings.Contains(r.stdout, `"verdict":"unknown"`) {
		t.Errorf("test on a spam-only database: %s", r.stdout)
	}
}

func TestErrors(t *testing.T) {
	db := trained(t)
	missing := filepath.Join(t.TempDir(), "none.db")
	garbage := filepath.Join(t.TempDir(), "garbage.db")
	if err := os.WriteFile(garbage, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		stdin string
		args  []string
		code  int
		msg   string
	}{
		{"no command", "", nil, 2, "usage"},
		{"unknown command", "", []string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{"train without class", "", []string{"--db", db, "train", "x.mbox"}, 2, "--ham or --spam"},
		{"bad option", "", []string{"--db", db, "test", "--bogus", "x"}, 2, "unknown option --bogus"},
		{"bad probability", "", []string{"--db", db, "test", "--min", "2", "x"}, 2, "probability"},
		{"missing database", "", []string{"--db", missing, "test", fixtures + "ham.mbox"}, 2, "train it first"},
		{"corrupt database", "", []string{"--db", garbage, "list", "a.*"}, 2, "garbage.db"},
		{"missing mailbox", "", []string{"--db", db, "test", "/nonexistent/box", fixtures + "spam.mbox"}, 1, "/nonexistent/box"},
		{"bad regexp", "", []string{"--db", db, "list", "("}, 2, "pattern"},
		{"restore garbage", "BAD 1 2\n", []string{"--db", filepath.Join(t.TempDir(), "r.db"), "restore"}, 2, "wrong version"},
		{"restore ill-formed", "SPAMORACLE/1 1 1\nfoo 1\n", []string{"--db", filepath.Join(t.TempDir(), "r.db"), "restore"}, 2, "ill-formed line"},
		{"restore empty", "", []string{"--db", filepath.Join(t.TempDir(), "r.db"), "restore"}, 2, "first line missing"},
		{"bad config", "", []string{"--config", "/nonexistent/c.yml", "--db", db, "stats"}, 2, "c.yml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mailsift(t, tt.stdin, tt.args...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.msg) {
				t.Errorf("exit %d, stderr %q; want %d and %q", r.code, r.stderr, tt.code, tt.msg)
			}
			if strings.Contains(r.stderr, "goroutine") || strings.Contains(r.stderr, "panic") {
				t.Errorf("stack trace reached the user: %s", r.stderr)
			}
			lines := strings.Count(strings.TrimSpace(r.stderr), "\n")
			if tt.name != "no command" && lines > 1 {
				t.Errorf("error is %d lines: %q", lines+1, r.stderr)
			}
		})
	}
}

func TestConfigFile(t *testing.T) {
	db := trained(t)
	cfg := filepath.Join(t.TempDir(), "c.yml")
	if err := os.WriteFile(cfg, []byte("classifier: spamoracle\nnum_meaningful_words: 3\nmin_meaningful_words: 3\nspam_header: X-My Spam\nattachments_header: X-Att\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := mailsift(t, readFile(t, fixtures+"msg1.eml"), "--config", cfg, "--db", db, "mark")
	if !strings.Contains(r.stdout, "\nX-My Spam: yes; ") || !strings.Contains(r.stdout, "\nX-Att: cset=\"big5\" type=\"audio/x-wav\" name=\"song.wav\" \n") {
		t.Errorf("config not applied: %s", r.stdout)
	}
	if n := strings.Count(strings.SplitN(strings.SplitN(r.stdout, "X-My Spam: ", 2)[1], "\n", 2)[0], ":"); n != 3 {
		t.Errorf("%d words in the header, want 3", n)
	}
}

// train --on-error learns only what the database gets wrong or is unsure
// of; --until-no-error then teaches the regression again.
func TestTrainModes(t *testing.T) {
	db := trained(t)
	spam := readFile(t, fixtures+"msg1.eml")
	r := mailsift(t, spam, "--db", db, "train", "--on-error", "--spam")
	if r.code != 0 || !strings.Contains(r.stderr, "0 new") {
		t.Fatalf("train --on-error of a spam scored spam: %d %s", r.code, r.stderr)
	}
	var rec dbRecord
	if err := json.Unmarshal([]byte(mailsift(t, "", "--db", db, "stats", "--json").stdout), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.DefaultSpam != 4 || rec.Spam != 4 {
		t.Errorf("after --on-error: %+v, want 4 spam learned", rec)
	}
	// A ham that reads as spam is a mistake: it is learned.
	r = mailsift(t, spam, "--db", db, "train", "--on-error", "--ham")
	if r.code != 0 || !strings.Contains(r.stderr, "1 new") {
		t.Fatalf("train --on-error of a misjudged ham: %d %s", r.code, r.stderr)
	}
	r = mailsift(t, "", "--db", db, "train", "--until-no-error", "5", "--thick", "0.3", "--ham", fixtures+"ham.mbox", "--spam", fixtures+"spam.mbox")
	if r.code != 0 || !strings.Contains(r.stderr, "learned") {
		t.Fatalf("train --until-no-error: %d %s", r.code, r.stderr)
	}
	for _, bad := range [][]string{{"--until-no-error", "0"}, {"--thick", "0.5"}} {
		if r := mailsift(t, "", append([]string{"--db", db, "train"}, append(bad, "--ham", fixtures+"ham.mbox")...)...); r.code != 2 {
			t.Errorf("train %v: exit %d, want 2", bad, r.code)
		}
	}
}

// The classifier comes from the configuration, then $MAILSIFT_CLASSIFIER,
// then --classifier; SpamOracle's words carry no feature prefixes.
func TestClassifierChoice(t *testing.T) {
	db := trained(t)
	msg := readFile(t, fixtures+"msg1.eml")
	def := mailsift(t, msg, "--db", db, "mark").stdout
	flag := mailsift(t, msg, "--db", db, "--classifier", "spamoracle", "mark").stdout
	if def == flag || !strings.Contains(def, "subj:") || strings.Contains(flag, "subj:") {
		t.Errorf("default and spamoracle marks:\n%s\n%s", def, flag)
	}
	t.Setenv("MAILSIFT_CLASSIFIER", "spamoracle")
	var out, errb bytes.Buffer
	if code := run([]string{"--db", db, "mark"}, strings.NewReader(msg), &out, &errb); code != 0 || out.String() != flag {
		t.Errorf("MAILSIFT_CLASSIFIER=spamoracle: %d %s", code, out.String())
	}
	if r := mailsift(t, "", "--db", db, "--classifier", "magic", "stats"); r.code != 2 || !strings.Contains(r.stderr, "magic") {
		t.Errorf("bad classifier: %d %s", r.code, r.stderr)
	}
	// mark passes the mail through whatever is wrong.
	if r := mailsift(t, msg, "--db", db, "--classifier", "magic", "mark"); r.code != 0 || !strings.Contains(r.stdout, "X-Spam: unknown") {
		t.Errorf("mark with a bad classifier: %d %s", r.code, r.stdout)
	}
}

// test buffers its records when they go to a file, but a mail it cannot
// read is reported after the records before it and before those after
// it, as when both streams go to one terminal.
func TestTestOutputOrder(t *testing.T) {
	db := trained(t)
	t.Setenv("XDG_CONFIG_HOME", testConfigHome(t))
	var both bytes.Buffer
	missing := filepath.Join(t.TempDir(), "missing.eml")
	code := run([]string{"--db", db, "test", "--json", fixtures + "ham.mbox", missing, fixtures + "spam.mbox"},
		strings.NewReader(""), &both, &both)
	if code != exitPartial {
		t.Fatalf("exit %d, want %d: %s", code, exitPartial, both.String())
	}
	lines := strings.Split(strings.TrimSpace(both.String()), "\n")
	if len(lines) != 9 {
		t.Fatalf("%d lines, want 4 records, the error and 4 records:\n%s", len(lines), both.String())
	}
	for i, l := range lines {
		if isErr := strings.HasPrefix(l, "mailsift: ") && strings.Contains(l, "missing.eml"); isErr != (i == 4) {
			t.Errorf("line %d: %s", i, l)
		}
	}
}
