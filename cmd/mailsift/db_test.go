package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// writeMbox writes n generated messages, each with its own words.
func writeMbox(t *testing.T, path string, n int, kind string) {
	t.Helper()
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, "From %s%d@example.org Mon Nov  2 09:12:01 2026\nFrom: %s sender <%s%d@example.org>\nSubject: %s message number %d\n\n", kind, i, kind, kind, i, kind, i)
		for j := range 40 {
			fmt.Fprintf(&b, "%s word%d%c%c text%d ", kind, j, 'a'+i%26, 'a'+(i/26)%26, i%7)
		}
		b.WriteString("\n\n")
	}
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// A kill -9 during train leaves the database as it was before the run or
// as it is after it, never in between and never corrupt.
func TestKillDuringTrain(t *testing.T) {
	if testing.Short() {
		t.Skip("kills processes; skipped with -short")
	}
	dir := t.TempDir()
	db := trained(t)
	before := mailsift(t, "", "--db", db, "backup").stdout
	ham, spam := filepath.Join(dir, "ham.mbox"), filepath.Join(dir, "spam.mbox")
	writeMbox(t, ham, 3000, "ham")
	writeMbox(t, spam, 3000, "spam")

	// The finished state, from a copy trained to the end.
	after := filepath.Join(dir, "after.db")
	copyFile(t, db, after)
	if r := mailsift(t, "", "--db", after, "train", "-q", "--ham", ham, "--spam", spam); r.code != 0 {
		t.Fatal(r.stderr)
	}
	want := mailsift(t, "", "--db", after, "backup").stdout

	states := map[string]int{}
	for i := range 6 {
		victim := filepath.Join(dir, fmt.Sprintf("victim%d.db", i))
		copyFile(t, db, victim)
		cmd := mailsiftCmd(t, "--db", victim, "train", "-q", "--ham", ham, "--spam", spam)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(50+i*60) * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		r := mailsift(t, "", "--db", victim, "backup")
		if r.code != 0 {
			t.Fatalf("database unreadable after kill -9: %s", r.stderr)
		}
		switch r.stdout {
		case before:
			states["before"]++
		case want:
			states["after"]++
		default:
			t.Fatalf("kill %d left a state that is neither before nor after (%d bytes of backup)", i, len(r.stdout))
		}
	}
	t.Logf("states after kill -9: %v", states)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// scored matches an X-Spam line with a score from the database: words
// follow the score (a mark that failed has none).
var scored = regexp.MustCompile(`(?m)^X-Spam: (yes|no|unknown); [0-9.]+; \S`)

// mark and test run while train writes: each finishes, none fails.
func TestReadWhileTraining(t *testing.T) {
	if testing.Short() {
		t.Skip("runs processes; skipped with -short")
	}
	dir := t.TempDir()
	db := trained(t)
	ham := filepath.Join(dir, "ham.mbox")
	writeMbox(t, ham, 4000, "ham")
	trainer := mailsiftCmd(t, "--db", db, "train", "-q", "--ham", ham)
	if err := trainer.Start(); err != nil {
		t.Fatal(err)
	}
	msg := readFile(t, fixtures+"msg1.eml")
	done := make(chan error, 1)
	go func() { done <- trainer.Wait() }()
	marks := 0
	for running := true; running; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("train failed: %v", err)
			}
			running = false
		default:
		}
		cmd := mailsiftCmd(t, "--db", db, "mark")
		cmd.Stdin = strings.NewReader(msg)
		out, err := cmd.Output()
		if err != nil || !scored.Match(out) {
			t.Fatalf("mark during training: %v %q", err, out)
		}
		marks++
	}
	t.Logf("%d marks ran while train wrote", marks)
	if r := mailsift(t, "", "--db", db, "stats", "--json"); !strings.Contains(r.stdout, `"good_mails":4004`) {
		t.Errorf("after training: %s", r.stdout)
	}
}
