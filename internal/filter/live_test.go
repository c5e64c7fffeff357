package filter

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/mailsift/mailsift/internal/bayes"
	"github.com/mailsift/mailsift/internal/tokendb"
	"github.com/mailsift/mailsift/internal/tokenize"
)

// Live says there is no database until one appears, sees training only
// after Refresh, rereads only when the database changed, and switches
// classifier with a snapshot of the other part.
func TestLive(t *testing.T) {
	tok := tokenize.DefaultOptions()
	fused := DefaultFused()
	fused.MinTrain = 1
	settings := Filter{Params: bayes.DefaultParams(), Fused: fused, Tokens: tok}
	l := NewLive(filepath.Join(t.TempDir(), "tokens.db"), settings, time.Second)
	spam := []byte("From: a@spam.example\nSubject: cheap pills now\n\ncheap pills cheap pills buy now\n")
	ham := []byte("From: b@work.example\nSubject: meeting notes\n\nthe meeting notes for the project review\n")

	if changed, err := l.Refresh(); err != nil || changed || l.Ready() {
		t.Fatalf("no database: changed %v, ready %v, %v", changed, l.Ready(), err)
	}
	if _, err := l.Classify(spam); !errors.Is(err, ErrNoDatabase) {
		t.Fatalf("classify without a database: %v", err)
	}
	for _, x := range []struct {
		c   tokendb.Class
		raw []byte
	}{{tokendb.Spam, spam}, {tokendb.Ham, ham}} {
		if _, err := l.Train(x.c, []tokendb.Doc{TrainingDoc(x.raw, tok)}); err != nil {
			t.Fatal(err)
		}
	}
	if l.Ready() {
		t.Fatal("training was seen before Refresh")
	}
	if changed, err := l.Refresh(); err != nil || !changed {
		t.Fatalf("refresh after training: %v %v", changed, err)
	}
	if changed, err := l.Refresh(); err != nil || changed {
		t.Fatalf("refresh of an unchanged database: %v %v", changed, err)
	}
	v, err := l.Classify(spam)
	if err != nil || v.Verdict != bayes.Spam {
		t.Fatalf("classify spam: %+v %v", v.Result, err)
	}

	oracle := settings
	oracle.Classifier = SpamOracle
	if err := l.Configure(oracle); err != nil {
		t.Fatal(err)
	}
	if l.Name() != SpamOracle || !l.Ready() {
		t.Fatalf("after Configure: %s, ready %v", l.Name(), l.Ready())
	}
	if _, err := l.Classify(spam); err != nil {
		t.Fatal(err)
	}
	if res, err := l.Untrain([]tokendb.Doc{TrainingDoc(spam, tok)}); err != nil || res.Unlearned != 1 {
		t.Fatalf("untrain: %+v %v", res, err)
	}
	if st, err := l.Stats(); err != nil || st.Totals.Spam != 0 || st.Totals.Good != 1 {
		t.Fatalf("stats after untrain: %+v %v", st, err)
	}
}
