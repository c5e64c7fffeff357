package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// spamoracle runs Debian's spamoracle (the peer mailsift replaces) with
// an empty HOME, so that no user configuration is read.
func spamoracle(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	path, err := exec.LookPath("spamoracle")
	if err != nil {
		t.Skip("spamoracle is not installed (make test installs it): the compatibility tests need the real peer")
	}
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("spamoracle %v: %v: %s", args, err, errb.String())
	}
	return out.String()
}

// TestSpamOracleMigration moves a database from spamoracle to mailsift and
// back through the backup format, and compares both programs' verdicts on
// the same mail.
func TestSpamOracleMigration(t *testing.T) {
	dir := t.TempDir()
	so := filepath.Join(dir, "so.db")
	spamoracle(t, "", "-f", so, "add", "-good", fixtures+"ham.mbox", "-spam", fixtures+"spam.mbox")
	dump := spamoracle(t, "", "-f", so, "backup")

	// spamoracle backup | mailsift restore
	ms := filepath.Join(dir, "ms.db")
	if r := mailsift(t, dump, "--db", ms, "restore"); r.code != 0 {
		t.Fatalf("restore of a spamoracle backup: %s", r.stderr)
	}
	sortedLines := func(s string) []string {
		lines := strings.Split(strings.TrimSpace(s), "\n")
		head, rest := lines[0], lines[1:]
		slices.Sort(rest)
		return append([]string{head}, rest...)
	}
	if got, want := sortedLines(mailsift(t, "", "--db", ms, "backup").stdout), sortedLines(dump); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("mailsift holds a different database than the spamoracle backup it restored")
	}

	// The same verdicts and scores on the sample mail.
	scores := regexp.MustCompile(`(?m)^Score: .*$`)
	soTest := spamoracle(t, "", "-f", so, "test", fixtures+"ham.mbox", fixtures+"spam.mbox")
	msTest := mailsift(t, "", "--db", ms, "--classifier", "spamoracle", "test", fixtures+"ham.mbox", fixtures+"spam.mbox").stdout
	if a, b := scores.FindAllString(soTest, -1), scores.FindAllString(msTest, -1); len(a) != 8 || strings.Join(a, "\n") != strings.Join(b, "\n") {
		t.Errorf("scores differ:\nspamoracle:\n%s\nmailsift:\n%s", strings.Join(a, "\n"), strings.Join(b, "\n"))
	}
	soMark := spamoracle(t, readFile(t, fixtures+"msg1.eml"), "-f", so, "mark")
	msMark := mailsift(t, readFile(t, fixtures+"msg1.eml"), "--db", ms, "--classifier", "spamoracle", "mark").stdout
	if soMark != msMark {
		t.Errorf("mark differs:\nspamoracle:\n%s\nmailsift:\n%s", soMark, msMark)
	}

	// mailsift backup | spamoracle restore
	back := filepath.Join(dir, "back.db")
	spamoracle(t, mailsift(t, "", "--db", ms, "backup").stdout, "-f", back, "restore")
	if again := spamoracle(t, "", "-f", back, "test", fixtures+"ham.mbox", fixtures+"spam.mbox"); again != soTest {
		t.Errorf("spamoracle scores differently after a round trip through mailsift")
	}
}
