package filter

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailsift/mailsift/internal/bayes"
	"github.com/mailsift/mailsift/internal/tokendb"
	"github.com/mailsift/mailsift/internal/tokenize"
)

// A snapshot, which takes the features by their keys, and the database,
// which takes them by name, give the same verdicts, mail after mail of
// different sizes; and a classification leaves no feature strings in the
// scratch it returns to the pool.
func TestClassifyKeyedAndNamed(t *testing.T) {
	tok := tokenize.DefaultOptions()
	db, err := tokendb.Open(filepath.Join(t.TempDir(), "tokens.db"), tokendb.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	mail := func(from, subject string, words ...string) []byte {
		return fmt.Appendf(nil, "From: %s\nSubject: %s\n\n%s\n", from, subject, strings.Join(words, " "))
	}
	spam := mail("a@spam.example", "cheap pills now", "cheap", "pills", "cheap", "pills", "buy", "now", "http://pills.example/buy")
	ham := mail("b@work.example", "meeting notes", "the", "meeting", "notes", "for", "the", "project", "review")
	for i, x := range []struct {
		c   tokendb.Class
		raw []byte
	}{{tokendb.Spam, spam}, {tokendb.Ham, ham}} {
		raw := append(x.raw, fmt.Sprintf("copy %d\n", i)...)
		if _, err := db.Train(x.c, []tokendb.Doc{TrainingDoc(raw, tok)}); err != nil {
			t.Fatal(err)
		}
	}
	snap, err := db.SnapshotModel()
	if err != nil {
		t.Fatal(err)
	}
	fused := DefaultFused()
	fused.MinTrain = 1
	named := &Filter{Params: bayes.DefaultParams(), Fused: fused, Tokens: tok, Store: db}
	keyed := *named
	keyed.Store = snap

	long := mail("c@mixed.example", "pills and notes", strings.Repeat("cheap meeting review pills project ", 400))
	for i, raw := range [][]byte{long, spam, ham, mail("d@x.example", "empty"), long, ham} {
		want, err := named.Classify(raw)
		if err != nil {
			t.Fatal(err)
		}
		got, err := keyed.Classify(raw)
		if err != nil {
			t.Fatal(err)
		}
		if got.Verdict != want.Verdict || got.Score != want.Score || bayes.Explain(got.Words) != bayes.Explain(want.Words) {
			t.Errorf("mail %d: by keys %s %v %s, by name %s %v %s", i,
				got.Verdict, got.Score, bayes.Explain(got.Words), want.Verdict, want.Score, bayes.Explain(want.Words))
		}
		sc := scratchPool.Get().(*scratch)
		for j, f := range sc.features[:cap(sc.features)] {
			if f != "" {
				t.Fatalf("mail %d: the pooled scratch still holds feature %d, %q", i, j, f)
			}
		}
		scratchPool.Put(sc)
	}
}
