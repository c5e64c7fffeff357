package main

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// TestMain lets the test binary act as mailsift itself, so that tests can
// run it as a separate process (to kill it, or to run two at once).
func TestMain(m *testing.M) {
	if path := os.Getenv("MAILSIFT_PEAK_RSS_FILE"); path != "" {
		os.Exit(measurePeakRSS(path))
	}
	if os.Getenv("MAILSIFT_BE_MAIN") == "1" {
		os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// measurePeakRSS runs mailsift with this process's arguments as a child
// and writes the child's peak resident set in KiB to path. Linux starts a
// child's peak at its parent's, so the measurement needs a parent that is
// small: this one, freshly started.
func measurePeakRSS(path string) int {
	cmd := exec.Command(os.Args[0], os.Args[1:]...)
	cmd.Env = append(os.Environ(), "MAILSIFT_PEAK_RSS_FILE=", "MAILSIFT_BE_MAIN=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return 3
	}
	if werr := os.WriteFile(path, []byte(strconv.FormatInt(ru.Maxrss, 10)), 0o600); werr != nil {
		return 3
	}
	if err != nil {
		return cmd.ProcessState.ExitCode()
	}
	return 0
}

// mailsiftCmd returns a command that runs this binary as mailsift.
func mailsiftCmd(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "MAILSIFT_BE_MAIN=1", "XDG_CONFIG_HOME="+testConfigHome(t))
	return cmd
}

// testConfigHome returns a configuration directory for one test. Its
// config.yml lowers min_trained to 2: the sample corpus holds four mails
// of each class, fewer than the default classifier wants by default; and
// keeps the analysis's seen filters in the test's own directory.
func testConfigHome(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "mailsift"), 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := "min_trained: 2\nanalysis:\n  seen:\n    dir: " + filepath.Join(dir, "seen") + "\n"
	if err := os.WriteFile(filepath.Join(dir, "mailsift", "config.yml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// result of an in-process run.
type result struct {
	code           int
	stdout, stderr string
}

// mailsift runs the program in-process with the given stdin, isolated
// from the user's configuration.
func mailsift(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	t.Setenv("XDG_CONFIG_HOME", testConfigHome(t))
	t.Setenv("MAILSIFT_CLASSIFIER", "")
	t.Setenv("MAILSIFT_DB", "")
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errb)
	return result{code, out.String(), errb.String()}
}

const fixtures = "../../testdata/corpus/"

// trained returns a database trained on the sample mailboxes.
func trained(t *testing.T) string {
	t.Helper()
	db := filepath.Join(t.TempDir(), "tokens.db")
	r := mailsift(t, "", "--db", db, "train", "--quiet", "--ham", fixtures+"ham.mbox", "--spam", fixtures+"spam.mbox")
	if r.code != 0 {
		t.Fatalf("train: %d %s", r.code, r.stderr)
	}
	return db
}

// golden compares got with testdata/golden/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("..", "..", "testdata", "golden", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
