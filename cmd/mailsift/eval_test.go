package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEval(t *testing.T) {
	dir := t.TempDir()
	list := func(name string, paths ...string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(strings.Join(paths, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ham, spam := list("ham.txt", "ham.mbox"), list("spam.txt", "spam.mbox")
	plot, scores := filepath.Join(dir, "roc.svg"), filepath.Join(dir, "scores.tsv")
	r := mailsift(t, "", "eval", "--root", fixtures, "--json", "--plot", plot, "--scores", scores,
		"--train-list", "ham:"+ham, "--train-list", "spam:"+spam, "--test-list", "ham:"+ham, "--test-list", "spam:"+spam)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var rep evalReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("%v: %s", err, r.stdout)
	}
	// Tested on what it was trained on: every verdict right.
	if rep.TrainHam != 4 || rep.TrainSpam != 4 || rep.TestHam != 4 || rep.TestSpam != 4 ||
		rep.FPPercent != 0 || rep.FNPercent != 0 || rep.AUC != 1 {
		t.Errorf("report %+v", rep)
	}
	svg, err := os.ReadFile(plot)
	if err != nil || !strings.HasPrefix(string(svg), "<svg") || !strings.Contains(string(svg), "ROC AUC 1.00000") {
		t.Errorf("plot: %v %.80q", err, svg)
	}
	tsv, err := os.ReadFile(scores)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(tsv)), "\n")
	if len(lines) != 8 || !strings.HasSuffix(lines[0], "\tham") || !strings.HasSuffix(lines[7], "\tspam") ||
		!strings.HasPrefix(lines[0], filepath.Join(fixtures, "ham.mbox")+":1\t") {
		t.Errorf("scores:\n%s", tsv)
	}

	// The text report says the same.
	r = mailsift(t, "", "eval", "--root", fixtures, "--train-list", "ham:"+ham, "--train-list", "spam:"+spam,
		"--test-list", "ham:"+ham, "--test-list", "spam:"+spam)
	for _, want := range []string{"train/test split", "trained on 4 ham and 4 spam", "false positives    0.00%", "ROC AUC          1.00000"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, r.stdout)
		}
	}
}

func TestEvalModes(t *testing.T) {
	tests := []struct {
		mode []string
		want []string
	}{
		{[]string{"--online"}, []string{"online, in date order", "tested on 4 ham and 4 spam"}},
		// The folds come from the mails' hashes, so this split never changes.
		{[]string{"--folds", "2"}, []string{"2-fold cross-validation", "tested on 4 ham and 4 spam", "false positives    0.00%"}},
	}
	for _, tt := range tests {
		r := mailsift(t, "", append(append([]string{"eval"}, tt.mode...), "--ham", fixtures+"ham.mbox", "--spam", fixtures+"spam.mbox")...)
		if r.code != 0 {
			t.Errorf("%v: exit %d: %s", tt.mode, r.code, r.stderr)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("%v: no %q in\n%s", tt.mode, w, r.stdout)
			}
		}
	}
}

func TestEvalErrors(t *testing.T) {
	tests := []struct {
		args []string
		msg  string
	}{
		{[]string{"eval"}, "give labelled mail"},
		{[]string{"eval", "x.mbox"}, "--ham or --spam"},
		{[]string{"eval", "--folds", "1", "--ham", "x"}, "folds are 2 to 100"},
		{[]string{"eval", "--folds", "3", "--online", "--ham", "x"}, "exclude each other"},
		{[]string{"eval", "--train-list", "x.txt"}, "ham:FILE"},
		{[]string{"eval", "--train-list", "ham:/nonexistent/list"}, "/nonexistent/list"},
	}
	for _, tt := range tests {
		r := mailsift(t, "", tt.args...)
		if r.code != 2 || !strings.Contains(r.stderr, tt.msg) {
			t.Errorf("%v: exit %d, %q; want 2 and %q", tt.args, r.code, r.stderr, tt.msg)
		}
	}
}

func TestEvalFisher(t *testing.T) {
	dir := t.TempDir()
	list := func(name, path string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(path+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ham, spam := list("ham.txt", "ham.mbox"), list("spam.txt", "spam.mbox")
	r := mailsift(t, "", "eval", "--classifier", "fisher", "--robs", "0.1", "--json", "--root", fixtures,
		"--train-list", "ham:"+ham, "--train-list", "spam:"+spam, "--test-list", "ham:"+ham, "--test-list", "spam:"+spam)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var rep evalReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Classifier != "fisher" || rep.AUC != 1 || rep.FPPercent != 0 || rep.FNPercent != 0 {
		t.Errorf("report %+v", rep)
	}
	for _, bad := range [][]string{{"--classifier", "magic"}, {"--robs", "7"}} {
		r := mailsift(t, "", append([]string{"eval"}, append(bad, "--ham", "x")...)...)
		if r.code != 2 {
			t.Errorf("%v: exit %d", bad, r.code)
		}
	}
}
