package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		check   func(Config) bool
		wantErr string
	}{
		{"empty file is the defaults", "", func(c Config) bool { return c.NumMeaningfulWords == 15 && c.SpamHeader == "X-Spam" }, ""},
		{"spamoracle keys", "num_meaningful_words: 3\nmin_meaningful_words: 3\nspam_header: X-My Spam\nuse_chi_square: true\nrobinson_s: 1\n",
			func(c Config) bool {
				p := c.Bayes()
				return p.NumMeaningfulWords == 3 && p.UseChiSquare && p.RobinsonS == 1 && c.SpamHeader == "X-My Spam"
			}, ""},
		{"emacs regexp works", `mail_headers: 'from:\|subject:\|to:'`, func(c Config) bool {
			return c.Tokenize().MailHeaders.MatchString("to:")
		}, ""},
		{"default classifier keys", "classifier: spamoracle\nmin_trained: 50\nham_cutoff: 0.2\nspam_cutoff: 0.95\nregression_weight: 0.5\nfisher_s: 0.1\nfisher_x: 0.4\nfisher_min_dev: 0.1\n",
			func(c Config) bool {
				f := c.Fused()
				return c.Classifier == "spamoracle" && f.MinTrain == 50 && f.HamCutoff == 0.2 && f.SpamCutoff == 0.95 &&
					f.Weight == 0.5 && f.Fisher.S == 0.1 && f.Fisher.X == 0.4 && f.Fisher.MinDev == 0.1
			}, ""},
		{"defaults of the default classifier", "", func(c Config) bool {
			f := c.Fused()
			return c.Classifier == "default" && f.MinTrain == 10 && f.Weight == 0.8 && f.SpamCutoff == 0.9
		}, ""},
		{"unknown classifier", "classifier: magic\n", nil, `classifier "magic"`},
		{"cut-offs crossed", "ham_cutoff: 0.9\nspam_cutoff: 0.5\n", nil, "ham_cutoff"},
		{"weight beyond 1", "regression_weight: 2\n", nil, "regression_weight"},
		{"min_dev too wide", "fisher_min_dev: 0.5\n", nil, "fisher_min_dev"},
		{"unknown key", "bogus_var: 1\n", nil, "bogus_var"},
		{"bad type", "num_meaningful_words: many\n", nil, "line 1: cannot unmarshal"},
		{"bad range", "low_freq_limit: 0.9\nhigh_freq_limit: 0.5\n", nil, "low_freq_limit"},
		{"bad thresholds", "good_mail_prob: 0.9\n", nil, "good_mail_prob"},
		{"bad header name", "spam_header: 'X-Spam:'\n", nil, "spam_header"},
		{"bad regexp", "mail_headers: '('\n", nil, "mail_headers"},
		{"more words needed than kept", "num_meaningful_words: 3\n", nil, "min_meaningful_words must be 0 to num_meaningful_words (3)"},
		{"all problems at once", "num_meaningful_words: 0\nmax_repetitions: 0\n", nil, "max_repetitions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.yaml))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrInvalid) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("error is not one line: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				t.Errorf("unexpected config %+v", c)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	c, err := Load("")
	if err != nil || c.NumMeaningfulWords != 15 {
		t.Fatalf("missing default file: %v %+v", err, c)
	}
	if _, err := Load(filepath.Join(dir, "nope.yml")); err == nil {
		t.Error("a named missing file was accepted")
	}
	p := filepath.Join(dir, "mailsift", "config.yml")
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("min_meaningful_words: 7\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err = Load("")
	if err != nil || c.MinMeaningfulWords != 7 {
		t.Fatalf("default file not read: %v %+v", err, c)
	}
}

// The generated reference is a configuration that Load accepts, and it
// spells out exactly the defaults.
func TestReferenceIsTheDefault(t *testing.T) {
	data, err := os.ReadFile("reference.yml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(data)
	if err != nil {
		t.Fatalf("reference.yml: %v", err)
	}
	got, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	want, err := yaml.Marshal(Default())
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("reference.yml differs from Default():\n%s\n%s", got, want)
	}
}
