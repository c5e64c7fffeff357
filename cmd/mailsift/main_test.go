package main

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// TestMain lets the test binary act as mailsift itself, so that tests can
// run it as a separate process (to kill it, or to run two at once).
func TestMain(m *testing.M) {
	if os.Getenv("MAILSIFT_BE_MAIN") == "1" {
		os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
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
// of each class, fewer than the default classifier wants by default.
func testConfigHome(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "mailsift"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "mailsift", "config.yml"), []byte("min_trained: 2\n"), 0o600); err != nil {
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
